"""Shared figures and helpers of the experiments room's tests (a module of its own name,
so no other folder's conftest can stand in for it)."""

from __future__ import annotations

from pathlib import Path

SEEDS = range(4)
TURNS = 5


def cast_file(tmp: Path, policy: str) -> str:
    """A cast file putting every creature on `policy` (an import path)."""
    path = tmp / f"{policy.split(':')[-1].lower()}.toml"
    path.write_text(
        f'[defaults]\npolicy = "{policy}"\n'
        + "".join(f"[creatures.{n}]\n" for n in ("Oona", "Mossback", "Birch", "Pip", "Rusk"))
    )
    return str(path)
