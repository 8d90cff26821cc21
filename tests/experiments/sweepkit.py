"""Shared figures and helpers of the experiments room's tests (a module of its own name,
so no other folder's conftest can stand in for it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SEEDS = range(4)
TURNS = 5


OONA = ("Oona", "Mossback", "Birch", "Pip", "Rusk")


def cast_file(tmp: Path, policy: str, names: tuple[str, ...] = OONA) -> str:
    """A cast file putting every creature named on `policy` (an import path)."""
    path = tmp / f"{policy.split(':')[-1].lower()}-{names[0].lower()}.toml"
    path.write_text(
        f'[defaults]\npolicy = "{policy}"\n' + "".join(f"[creatures.{n}]\n" for n in names)
    )
    return str(path)


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`python -m woodmarket.cli ARGS` in a process of its own (what a user types)."""
    proc = subprocess.run(
        [sys.executable, "-m", "woodmarket.cli", *args], capture_output=True, text=True
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc
