"""run --resume: a stopped or killed run continues from its last finished turn, byte for byte."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from woodmarket.errors import WoodmarketError
from woodmarket.replay import replay
from woodmarket.resume import resume
from woodmarket.runner import run
from woodmarket.spec import RunSpec


@pytest.fixture(scope="module")
def spec():
    return RunSpec.make("oona", seed=3, turns=10, gambit="showcase", mechanism="glut")


@pytest.fixture(scope="module")
def whole(spec, tmp_path_factory):
    out = tmp_path_factory.mktemp("whole") / "run"
    run(spec, out)
    return out


def _stopped(spec, out, after):
    def stop(state):
        if state.turn == after:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(spec, out, on_turn=stop)


def _same(a, b):
    for name in ("trace.jsonl", "summary.json", "run.json", "scenario.toml"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_a_stopped_run_resumes_byte_identical(spec, whole, tmp_path):
    out = tmp_path / "run"
    _stopped(spec, out, 4)
    result = resume(out)
    assert result.complete and result.turns == 10
    _same(whole, out)
    assert replay(out).ok


@pytest.mark.parametrize("cut", [0.3, 0.55, 0.9])
def test_a_run_killed_anywhere_in_its_trace_resumes_byte_identical(whole, tmp_path, cut):
    out = tmp_path / "run"
    shutil.copytree(whole, out)
    trace = (out / "trace.jsonl").read_bytes()
    (out / "trace.jsonl").write_bytes(trace[: int(len(trace) * cut)])  # torn mid-line
    (out / "summary.json").unlink()
    resume(out)
    _same(whole, out)


def test_resume_from_the_command_line(spec, whole, tmp_path):
    out = tmp_path / "run"
    _stopped(spec, out, 7)
    proc = subprocess.run(
        [sys.executable, "-m", "woodmarket.cli", "run", "--resume", str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "resumed: 10 of 10 turns done" in proc.stdout
    _same(whole, out)
    again = subprocess.run(
        [sys.executable, "-m", "woodmarket.cli", "run", "--resume", str(out)],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 2 and "already done" in again.stderr
    assert again.stderr.count("\n") == 1


def test_a_finished_run_or_a_non_run_cannot_be_resumed(whole, tmp_path):
    with pytest.raises(WoodmarketError, match="already done"):
        resume(whole)
    with pytest.raises(WoodmarketError, match="missing"):
        resume(tmp_path)


def test_a_sized_sweep_run_resumes_with_its_timings(tmp_path):
    """A resized short is made of typed moves the plan holds: the sweep rebuilds it."""
    from sweepkit import cast_file

    from woodmarket.experiments.sweep import Plan, execute
    from woodmarket.experiments.worlds import World

    spender = cast_file(tmp_path, "sweepfakes:TokenSpender")  # model-like: it has timings
    world = World(spender, "settle", 12)
    plan = Plan.make("oona", worlds=[world], seeds=[5], turns=6)
    whole = tmp_path / "whole"
    execute(plan, whole, workers=1, progress=False)
    cut = tmp_path / "cut"
    shutil.copytree(whole, cut)
    run_dir = cut / plan.folder(world, 5)
    trace = (run_dir / "trace.jsonl").read_bytes()
    (run_dir / "trace.jsonl").write_bytes(trace[: len(trace) // 3])
    timings = (run_dir / "timings.jsonl").read_text().splitlines(keepends=True)
    (run_dir / "timings.jsonl").write_text("".join(timings[:14]))  # it runs ahead of the trace
    resume(run_dir)
    _same(whole / plan.folder(world, 5), run_dir)
    lines = [json.loads(x) for x in (run_dir / "timings.jsonl").read_text().splitlines()]
    assert [x["turn"] for x in lines if x.get("kind") == "turn"] == [1, 2, 3, 4, 5, 6]
    assert sum("creature" in x for x in lines) == 30  # each call once
