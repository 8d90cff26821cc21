"""Recorded runs that must not change: their traces are the behaviour of the wood, byte for byte.

`tests/data/regression/` holds stand-in runs of both bundled scenarios
(plain, the showcase gambit, the patron gambit, and a game a player typed
in the terminal, refused moves included); `tests/data/squeeze-oona-council-seed0`
a game played under the council. Any change to the engine, the financier
or the command language that moves one byte of these traces is a change
of behaviour and must be made on purpose, with new fixtures.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from woodmarket.replay import replay
from woodmarket.runner import run
from woodmarket.spec import RunSpec

DATA = Path(__file__).parent / "data"
FOLDERS = sorted((DATA / "regression").iterdir())
SCRIPTED = [f for f in FOLDERS if not f.name.endswith("-player")]


def test_the_fixtures_cover_both_scenarios():
    names = {f.name for f in FOLDERS}
    for key in ("oona", "reedmere"):
        assert {f"{key}-standin", f"{key}-showcase", f"{key}-patron", f"{key}-player"} <= names


@pytest.mark.parametrize("folder", SCRIPTED, ids=lambda f: f.name)
def test_the_same_spec_writes_the_same_trace(folder, tmp_path):
    spec = RunSpec.from_dict(json.loads((folder / "run.json").read_text(encoding="utf-8")))
    run(spec, tmp_path / "again")
    assert (tmp_path / "again" / "trace.jsonl").read_bytes() == (
        folder / "trace.jsonl"
    ).read_bytes()


@pytest.mark.parametrize(
    "folder", [*FOLDERS, DATA / "squeeze-oona-council-seed0"], ids=lambda f: f.name
)
def test_recorded_runs_still_replay(folder):
    report = replay(folder)
    assert report.ok, report.line()  # a game left early is whole for its turns
    assert report.checked == json.loads((folder / "summary.json").read_text())["turns"] > 0
