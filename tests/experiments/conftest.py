"""Shared stand-in sweeps for the experiments room's tests: small, run once per module."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sweepkit import SEEDS, TURNS

from woodmarket.experiments import Plan, execute, expand

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def standin_sweep(tmp_path_factory):
    """The stand-in in every mechanism, 4 seeds x 5 turns, on two workers."""
    out = tmp_path_factory.mktemp("sweep") / "standin"
    worlds = expand(["standin"])
    plan = Plan.make("oona", gambit="showcase", worlds=worlds, seeds=SEEDS, turns=TURNS)
    result = execute(plan, out, workers=2, progress=False)
    return plan, result


@pytest.fixture
def copy_of(tmp_path):
    def copy(folder: Path) -> Path:
        dest = tmp_path / folder.name
        shutil.copytree(folder, dest)
        return dest

    return copy
