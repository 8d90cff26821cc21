"""Backends room: batching verdicts, one per model file and machine, kept in the model cache.

Whether llama.cpp answers a request the same when it shares a batch with
others depends on the model file, the llama.cpp build, the thread count
and the CPU, so a verdict is keyed by all four: the model's sha256, the
xllamacpp version, the threads and the CPU model. `woodmarket.probe`
measures one and `record`s it here; `batch_invariant(model)` is what a run
builder asks ("batch only where the answer is True"), and `woodmarket
models` and run.json show the verdict found for this machine, or "not
probed". This room reads package metadata and /proc/cpuinfo and reads and
writes one JSON file (`batching.json` beside the assembled models); it
loads no model.
"""

from __future__ import annotations

import json
import os
import platform
import threading
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from woodmarket import models
from woodmarket.backends.embedded import default_threads
from woodmarket.errors import WoodmarketError

__all__ = [
    "NOT_PROBED",
    "VERDICTS_FILE",
    "batch_invariant",
    "cpu_model",
    "declared",
    "machine_key",
    "model_sha256",
    "record",
    "summary",
    "verdict_for",
    "verdict_line",
    "verdicts_path",
]

VERDICTS_FILE = "batching.json"
NOT_PROBED = "not probed"
_SCHEMA = 1
_lock = threading.Lock()


@cache
def cpu_model() -> str:
    """The CPU's model name (these machines differ by up to 3x: print it with any figure)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _xllamacpp_version() -> str:
    try:
        return metadata.version("xllamacpp")
    except metadata.PackageNotFoundError:
        return ""


def verdicts_path() -> Path:
    """The file that holds every verdict measured on this machine's cache."""
    return models.cache_dir() / VERDICTS_FILE


def model_sha256(model: str | os.PathLike[str]) -> str:
    """The sha256 of a registry model (recorded, not hashed) or of a GGUF file."""
    name = os.fspath(model)
    info = models.MODELS.get(name)
    if info is None:
        info = models.info_for(name) if Path(name).is_file() else None
    if info is not None:
        return info.sha256
    return models.sha256_of(models.resolve(name))


def machine_key(sha256: str, threads: int | None = None) -> dict[str, Any]:
    """What a verdict holds for: the model file, the llama.cpp build, the threads, the CPU."""
    return {
        "sha256": sha256,
        "xllamacpp": _xllamacpp_version(),
        "threads": threads or default_threads(),
        "cpu": cpu_model(),
    }


def _read(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as e:
        raise WoodmarketError(
            f"{path}: not a batching verdicts file ({e}); delete it and probe again "
            "with: woodmarket models --probe"
        ) from None
    verdicts = data.get("verdicts") if isinstance(data, dict) else None
    if not isinstance(verdicts, list):
        raise WoodmarketError(
            f"{path}: no list of verdicts in it; delete it and probe again "
            "with: woodmarket models --probe"
        )
    return [v for v in verdicts if isinstance(v, dict)]


def record(verdict: dict[str, Any]) -> Path:
    """Keep `verdict` (it carries its `key`), replacing any earlier one for the same key."""
    key = verdict.get("key")
    if not isinstance(key, dict) or set(key) != {"sha256", "xllamacpp", "threads", "cpu"}:
        raise WoodmarketError("a batching verdict needs its key: sha256, xllamacpp, threads, cpu")
    path = verdicts_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock:
        kept = [v for v in _read(path) if v.get("key") != key]
        kept.append(verdict)
        text = json.dumps({"schema": _SCHEMA, "verdicts": kept}, indent=2, sort_keys=True)
        # Written beside and renamed: a reader never sees half a file.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        try:
            tmp.write_text(text + "\n", encoding="utf-8")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return path


def verdict_for(model: str | os.PathLike[str], threads: int | None = None) -> dict[str, Any] | None:
    """The verdict measured for `model` on this machine's key, or None when not probed."""
    key = machine_key(model_sha256(model), threads)
    found = [v for v in _read(verdicts_path()) if v.get("key") == key]
    return found[-1] if found else None


def batch_invariant(model: str | os.PathLike[str], threads: int | None = None) -> bool | None:
    """True: batched requests answer bit for bit as alone (batch them); False: they do not;
    None: not probed on this machine, or the probe could not tell (do not batch).

    `threads` is the thread count the run's server will use (default: this
    process's cores). A reproducible run batches only where this is True.
    """
    found = verdict_for(model, threads)
    if found is None:
        return None
    value = found.get("batch_invariant")
    return value if isinstance(value, bool) else None


def declared(flag: bool) -> dict[str, Any]:
    """How run.json records a verdict stated in a cast file (a served model), not probed."""
    return {"verdict": "yes" if flag else "no", "batch_invariant": flag, "source": "declared"}


def summary(verdict: dict[str, Any] | None) -> dict[str, Any] | str:
    """What run.json keeps of a verdict: the answer, when and how it was measured."""
    if verdict is None:
        return NOT_PROBED
    sizes = verdict.get("sizes") or []
    return {
        "verdict": verdict.get("verdict"),
        "batch_invariant": verdict.get("batch_invariant"),
        "source": "probed",
        "probed_at": verdict.get("probed_at"),
        "key": verdict.get("key"),
        "slots": verdict.get("slots"),
        "repeats": verdict.get("repeats"),
        "differed": {str(s.get("k")): f"{s.get('differed')}/{s.get('compared')}" for s in sizes},
        "speedup": {str(s.get("k")): s.get("speedup") for s in sizes},
    }


def verdict_line(verdict: dict[str, Any] | None) -> str:
    """One line for `woodmarket models`: the verdict and the numbers behind it."""
    if verdict is None:
        return f"{NOT_PROBED} (woodmarket models --probe)"
    sizes = verdict.get("sizes") or []
    differed = sum(int(s.get("differed") or 0) for s in sizes)
    compared = sum(int(s.get("compared") or 0) for s in sizes)
    ks = [int(s["k"]) for s in sizes if isinstance(s.get("k"), int)]
    span = f"{min(ks)}-{max(ks)} at once" if ks else "no batches"
    best = max(sizes, key=lambda s: s.get("k") or 0, default=None)
    speed = f"; {best['k']} at once {best['speedup']}x" if best and best.get("speedup") else ""
    word = {"yes": "batch-invariant", "no": "not batch-invariant"}.get(
        str(verdict.get("verdict")), "inconclusive"
    )
    when = str(verdict.get("probed_at") or "")[:10]
    return f"{word}: {span}, {differed}/{compared} answers differed{speed} (probed {when})"
