"""Live: a serial council run repeats byte for byte, in a fresh worker and in a warm one;
forked arms share their trunk's bytes even where the models, asked in parallel slots, do not
repeat themselves."""

from __future__ import annotations

import json

import pytest

from woodmarket.experiments import execute, report_of
from woodmarket.experiments.render import render_text
from woodmarket.experiments.sweep import Plan
from woodmarket.experiments.task import Task, run_task
from woodmarket.experiments.worlds import World
from woodmarket.replay import replay
from woodmarket.traces import read_trace
from woodmarket.types import Sampling

pytestmark = pytest.mark.models


def test_a_serial_sampled_council_run_repeats_byte_for_byte(tmp_path):
    plan = Plan.make("oona", worlds=[World("council", "rumor")], seeds=[1], turns=3)
    task = next(t for t in plan.tasks() if t.world.mechanism == "rumor")
    assert task.spec.sampling.serial and task.spec.sampling.temperature == 0.7
    task = Task(task.spec.but(turns=2), task.world, task.gambit, "run")
    first = run_task(task, str(tmp_path / "a"))
    second = run_task(task, str(tmp_path / "b"))  # same process: a warm worker
    assert "error" not in first and "error" not in second
    a, b = (tmp_path / "a/run/trace.jsonl"), (tmp_path / "b/run/trace.jsonl")
    assert a.read_bytes() == b.read_bytes()
    assert b"latency_ms" not in a.read_bytes()
    timings = [json.loads(x) for x in (tmp_path / "a/run/timings.jsonl").read_text().splitlines()]
    assert sum("latency_ms" in t for t in timings) == first["calls"] == 10
    # Each run starts its slots afresh (the static prompts computed anew, then
    # cached for the first turn): the same tokens cached in a cold and a warm worker.
    cached = [
        [x.get("cached_tokens") for x in map(json.loads, (tmp_path / d).read_text().splitlines())]
        for d in ("a/run/timings.jsonl", "b/run/timings.jsonl")
    ]
    assert cached[0] == cached[1]
    assert all(c for c in cached[0][:5])  # turn 1 found each system prompt in its slot
    assert [r["turn"] for r in read_trace(tmp_path / "a/run") if r["kind"] == "holdings"] == [1, 2]


def test_a_live_run_killed_after_a_turn_resumes_byte_for_byte(tmp_path):
    import shutil

    from woodmarket.resume import resume

    plan = Plan.make("oona", worlds=[World("council", "settle")], seeds=[2], turns=3)
    task = next(t for t in plan.tasks() if t.world.mechanism == "settle")
    whole = tmp_path / "whole"
    assert "error" not in run_task(task, str(whole))
    cut = tmp_path / "cut"
    shutil.copytree(whole, cut)
    run = cut / task.folder
    lines = (run / "trace.jsonl").read_text().splitlines(keepends=True)
    first = next(i for i, x in enumerate(lines) if '"kind":"holdings"' in x)
    (run / "trace.jsonl").write_text("".join(lines[: first + 1]) + lines[first + 1][:40])
    (run / "summary.json").unlink()
    diverged: list[str] = []
    resume(run, diverged=diverged)
    assert diverged == []
    for name in ("trace.jsonl", "summary.json"):
        assert (run / name).read_bytes() == (whole / task.folder / name).read_bytes(), name


def test_forked_arms_share_their_prefix_bytes_on_parallel_slots(tmp_path):
    """Asked in parallel slots the council does not repeat itself, so arms run whole need not
    share even their turn 1; forked from one trunk, every arm's turn 1 is its bytes."""
    plan = Plan.make(
        "oona",
        worlds=[World("council", "settle")],
        seeds=[0],
        turns=3,
        sampling=Sampling(0.7, serial=False),
        fork_at=2,
        fresh=True,
    )
    result = execute(plan, tmp_path / "s", workers=1, progress=False)
    assert not result.errors, result.errors
    root = result.folder

    def turn_1(folder):
        return [x for x in (folder / "trace.jsonl").read_text().splitlines() if '"turn":1,' in x]

    trunk = turn_1(root / plan.tasks()[0].trunk)
    assert trunk and all(turn_1(root / t.folder) == trunk for t in plan.tasks())
    for t in plan.tasks():
        assert replay(root / t.folder).passed  # no model loaded to replay it
    rep = report_of(plan, result.outcomes, result.others)
    assert rep.forks.saved == 5 and rep.forks.trunk_calls == 5  # one arm's turn 1, saved
    assert "expect no narrower CI" not in render_text(rep)  # parallel slots: not reproducible
    # (Whether the two arms run whole differ in turn 1 is up to the batching: in the run
    # this test was written on they did, by one generated token; benchmarks/fork.py counts.)
    assert all(turn_1(root / t.folder) for t in plan.fresh_tasks())


def test_the_same_council_sweep_twice_writes_the_same_traces(tmp_path):
    # The default council (three labs), two seeds, the pool of two workers: which
    # worker ran which run differs between the two sweeps, the bytes do not.
    plan = Plan.make("oona", worlds=[World("council", "rumor")], seeds=[0, 1], turns=3)
    assert plan.sampling.serial and plan.sampling.temperature == 0.7
    traces = []
    for name in ("first", "second"):
        result = execute(plan, tmp_path / name, workers=2, progress=False)
        assert not result.errors and result.ran == 4
        traces.append(
            {
                p.relative_to(tmp_path / name).as_posix(): p.read_bytes()
                for p in sorted((tmp_path / name).glob("runs/**/trace.jsonl"))
            }
        )
    assert len(traces[0]) == 4  # rumor and its none arm, two seeds
    assert traces[0] == traces[1]
    models = {
        r["call"]["model"]
        for p in (tmp_path / "first").glob("runs/**/trace.jsonl")
        for r in read_trace(p.parent)
        if r["kind"] == "decision"
    }
    assert len(models) == 3  # three labs at the table


def _resident_mib() -> float:
    import os

    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.parametrize("scenario", ["oona", "reedmere"])
def test_a_worker_running_run_after_run_does_not_grow(tmp_path, scenario):
    """Each run starts its slots afresh; llama.cpp's host prompt cache would keep every
    replaced prefix (about 30 MiB a one-turn SmolLM2 run, up to 8 GiB a model), and a sweep
    worker serving four models would grow until the machine ran out of memory."""
    plan = Plan.make(scenario, worlds=[World("single:smollm2-q4_0", "none")], seeds=range(3))
    tasks = [t for t in plan.tasks() if t.world.mechanism == "none"]
    sizes = []
    for t in tasks:
        one = Task(t.spec.but(turns=1), t.world, t.gambit, f"seed-{t.spec.seed}")
        assert "error" not in run_task(one, str(tmp_path))
        sizes.append(_resident_mib())
    assert sizes[-1] - sizes[0] < 16, sizes  # two runs after the first: no prefix kept
