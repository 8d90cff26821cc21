"""Helpers of the app's tests: serve the app on loopback in its own process, and find Chromium.

The app runs as `woodmarket app` (or `python app.py`) in a child process,
as a player would start it; tests reach it only over HTTP, through a
browser or Gradio's client, and read the run folders it writes.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = os.environ.get("WOODMARKET_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
SHOTS = Path(__file__).parent / "screenshots"
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    url: str
    runs: Path
    proc: subprocess.Popen[bytes]
    log: Path

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def folders(self) -> list[Path]:
        return sorted(p for p in self.runs.iterdir() if p.is_dir())


def wait_up(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited ({proc.returncode}): {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"the app did not answer at {url}: {log.read_text()[-2000:]}")


def serve(
    runs: Path, *, cast: str = "standin", cap: int = 8, idle_minutes: int = 15, script: bool = False
) -> Served:
    """The app in a child process on a free loopback port, writing games under `runs`."""
    port = free_port()
    log = runs / "app.log"
    runs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
    if script:  # the Space's way: app.py with its settings in the environment
        env |= {
            "WOODMARKET_HOST": "127.0.0.1",
            "PORT": str(port),
            "WOODMARKET_CAST": cast,
            "WOODMARKET_MAX_SESSIONS": str(cap),
            "WOODMARKET_RUNS": str(runs),
        }
        cmd = [sys.executable, str(ROOT / "app.py")]
    else:
        cmd = [sys.executable, "-m", "woodmarket.cli", "app", "--port", str(port)]
        cmd += ["--cast", cast, "--max-sessions", str(cap), "--runs", str(runs)]
        cmd += ["--idle-minutes", str(idle_minutes)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=runs, env=env)
    url = f"http://127.0.0.1:{port}/"
    wait_up(url, proc, log)
    return Served(url, runs, proc, log)


def wait_for(path: Path, timeout: float = 30) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists():
            return True
        time.sleep(0.2)
    return False
