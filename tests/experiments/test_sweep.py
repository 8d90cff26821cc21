"""Stand-in sweeps: the article's invariants, resumability, replay of the report, pool = serial."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sweepkit import SEEDS, TURNS, cast_file

from woodmarket.experiments import (
    Plan,
    execute,
    expand,
    legend_of,
    recorded,
    report_of,
    write_report,
)
from woodmarket.experiments.render import render_text
from woodmarket.experiments.stats import STANDIN_ONLY
from woodmarket.experiments.worlds import World
from woodmarket.legends import settle_price
from woodmarket.replay import replay
from woodmarket.spec import RunSpec
from woodmarket.traces import read_trace

FACTOR = legend_of(RunSpec.make("oona", gambit="showcase").the_gambit()).factor


def by_world(outcomes):
    out: dict[str, dict[int, dict]] = {}
    for o in outcomes:
        out.setdefault(o["world"], {})[o["seed"]] = o
    return out


def test_every_world_runs_every_seed_into_a_run_folder_replay_accepts(standin_sweep):
    plan, result = standin_sweep
    assert not result.errors and not result.stopped
    worlds = by_world(result.outcomes)
    assert sorted(worlds) == sorted(w.label for w in plan.worlds)
    assert all(sorted(runs) == list(SEEDS) for runs in worlds.values())
    for world in ("standin:glut", "standin:settle"):
        report = replay(result.folder / worlds[world][1]["folder"])
        assert report.ok and report.turns == TURNS


def test_settle_lands_the_legends_factor_and_pays_in_every_seed(standin_sweep):
    _, result = standin_sweep
    for o in by_world(result.outcomes)["standin:settle"].values():
        assert o["at_settlement"] == settle_price(o["before"], FACTOR)
        assert o["pnl"] > 0


def test_the_stand_ins_glut_lowers_the_target(standin_sweep):
    _, result = standin_sweep
    for o in by_world(result.outcomes)["standin:glut"].values():
        assert o["at_settlement"] < o["before"]


def test_common_random_numbers_the_rumor_is_the_control_for_the_stand_in(standin_sweep):
    """The stand-in reads no text: seed for seed, its rumor world is its none world."""
    _, result = standin_sweep
    worlds = by_world(result.outcomes)
    for seed in SEEDS:
        rumor, none = worlds["standin:rumor"][seed], worlds["standin:none"][seed]
        assert rumor["path"] == none["path"] and rumor["pnl"] == none["pnl"]


def test_the_same_command_gives_the_same_table_and_skips_finished_runs(standin_sweep):
    plan, result = standin_sweep
    table = render_text(report_of(plan, result.outcomes))
    again = execute(plan, result.folder, workers=2, progress=False)
    assert again.ran == 0 and again.skipped == len(result.outcomes)
    assert render_text(report_of(plan, again.outcomes)) == table


def test_replay_recomputes_the_report_from_the_traces(standin_sweep, copy_of):
    plan, result = standin_sweep
    folder = copy_of(result.folder)
    for p in folder.glob("runs/*/*/outcome.json"):
        p.unlink()  # the report must not need the sweep's own notes
    plan2, outcomes = recorded(folder)
    assert plan2 == plan
    assert render_text(report_of(plan2, outcomes)) == render_text(report_of(plan, result.outcomes))
    _, images = write_report(plan2, outcomes, folder)
    assert [p.name for p in images] == ["prices.png", "pnl.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in images)
    assert "![price paths](plots/prices.png)" in (folder / "report.md").read_text()


def test_a_killed_sweep_loses_only_the_runs_in_flight(standin_sweep, copy_of):
    plan, result = standin_sweep
    folder = copy_of(result.folder)
    victim = folder / "runs/standin-glut/seed-2"
    (victim / "outcome.json").unlink()
    trace = (victim / "trace.jsonl").read_bytes()
    (victim / "trace.jsonl").write_bytes(trace[: len(trace) // 2])  # killed mid-write
    (victim / "summary.json").unlink()
    again = execute(plan, folder, workers=1, progress=False)
    assert (again.ran, again.skipped) == (1, len(result.outcomes) - 1)
    assert (victim / "trace.jsonl").read_bytes() == trace
    assert render_text(report_of(plan, again.outcomes)) == render_text(
        report_of(plan, result.outcomes)
    )


def test_a_folder_holding_another_sweep_is_refused(standin_sweep, copy_of):
    from woodmarket.errors import WoodmarketError

    plan, result = standin_sweep
    folder = copy_of(result.folder)
    other = Plan.make("oona", gambit="showcase", worlds=plan.worlds, seeds=SEEDS, turns=TURNS + 1)
    with pytest.raises(WoodmarketError, match="a different turns"):
        execute(other, folder, progress=False)


def test_one_process_and_the_pool_give_the_same_runs(standin_sweep, tmp_path):
    plan, result = standin_sweep
    serial = execute(plan, tmp_path / "serial", workers=1, progress=False)
    strip = lambda os_: sorted(  # noqa: E731
        ({k: v for k, v in o.items() if k != "wall_s"} for o in os_),
        key=lambda o: (o["world"], o["seed"]),
    )
    assert strip(serial.outcomes) == strip(result.outcomes)
    for o in serial.outcomes[:4]:
        a = (tmp_path / "serial" / o["folder"] / "trace.jsonl").read_bytes()
        assert a == (result.folder / o["folder"] / "trace.jsonl").read_bytes()


def test_sizing_the_short_up_scales_the_glut_win_and_replays(tmp_path):
    worlds = [World("standin", "glut", 8), World("standin", "glut", 16)]
    plan = Plan.make("oona", worlds=worlds, seeds=range(2), turns=4)
    result = execute(plan, tmp_path / "s", workers=1, progress=False)
    worlds_ = by_world(result.outcomes)
    for seed in range(2):
        small, big = worlds_["standin:glut:8"][seed], worlds_["standin:glut:16"][seed]
        assert big["pnl"] == 2 * small["pnl"] > 0
    sized = tmp_path / "s" / worlds_["standin:glut:16"][0]["folder"]
    moves = [r for r in read_trace(sized) if r["kind"] == "financier"]
    assert moves[0]["command"] == "short honey 16" and moves[0]["ok"]
    assert replay(sized).ok


def test_a_population_that_declines_the_glut_disagrees_with_the_stand_in(tmp_path):
    """A real sweep: creatures that never trade ignore the windfall; the stand-in does not."""
    holders = cast_file(tmp_path, "sweepfakes:Holder")
    worlds = [World("standin", "glut"), World(holders, "glut")]
    plan = Plan.make("oona", worlds=worlds, seeds=range(3), turns=4)
    result = execute(plan, tmp_path / "s", workers=1, progress=False)
    rep = report_of(plan, result.outcomes)
    rows = {r.world.cast: r for r in rep.rows if r.world.mechanism == "glut"}
    assert rows["standin"].effect.excludes_zero
    assert rows[holders].agreement == STANDIN_ONLY


def test_timings_leave_the_trace_and_a_token_budget_stops_cleanly(tmp_path):
    spender = cast_file(tmp_path, "sweepfakes:TokenSpender")
    plan = Plan.make("oona", worlds=[World(spender, "rumor")], seeds=range(3), turns=3)
    out = tmp_path / "s"
    first = execute(plan, out, workers=1, budget_tokens=1, progress=False)
    assert first.ran == 1 and "budget" in first.stopped
    run = out / first.outcomes[0]["folder"]
    trace = (run / "trace.jsonl").read_bytes()
    assert b"latency_ms" not in trace and b"cached_tokens" not in trace
    assert b'"prompt_tokens":100' in trace
    timings = [json.loads(x) for x in (run / "timings.jsonl").read_text().splitlines()]
    calls = [t for t in timings if "creature" in t]
    assert {(t["latency_ms"], t["cached_tokens"]) for t in calls} == {(12.5, 40)}
    # 5 creatures x 3 turns x (100 - 40 cached + 10 generated) tokens per run.
    assert first.tokens == 5 * 3 * 70
    rest = execute(plan, out, workers=1, progress=False)
    assert (rest.ran, rest.skipped, len(rest.outcomes)) == (5, 1, 6)
    # --replay counts the same tokens from the records (cached ones from timings.jsonl).
    again = {o["folder"]: o for o in recorded(out)[1]}
    for o in rest.outcomes:
        assert again[o["folder"]] == o
        assert o["cached_tokens"] == 5 * 3 * 40


def test_an_empty_or_foreign_folder_is_refused(tmp_path):
    from woodmarket.errors import WoodmarketError

    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.txt").write_text("mine")
    plan = Plan.make("oona", worlds=expand(["standin:glut"]), seeds=[0], turns=3)
    with pytest.raises(WoodmarketError, match="holds no sweep"):
        execute(plan, tmp_path / "x", progress=False)
    assert Path(tmp_path / "x" / "notes.txt").read_text() == "mine"


def test_a_sweep_run_folder_is_the_folder_run_writes(standin_sweep, tmp_path):
    """Apart from timings.jsonl and outcome.json, byte for byte what `runner.run` writes."""
    from woodmarket.runner import run

    plan, result = standin_sweep
    task = next(t for t in plan.tasks() if t.world.mechanism == "glut")
    run(task.spec, tmp_path / "plain")
    for name in ("scenario.toml", "trace.jsonl", "summary.json"):
        ours = (result.folder / task.folder / name).read_bytes()
        assert ours == (tmp_path / "plain" / name).read_bytes(), name
    ours, plain = (json.loads((f / "run.json").read_text()) for f in (
        result.folder / task.folder, tmp_path / "plain"
    ))  # fmt: skip
    # A pool worker is pinned to one core, and its provenance says so.
    assert ours["provenance"].pop("threads") == 1
    plain["provenance"].pop("threads")
    assert ours == plain


def test_more_seeds_in_the_same_folder_extend_the_sweep(tmp_path):
    worlds = expand(["standin:settle"])
    out = tmp_path / "s"
    execute(Plan.make("oona", worlds=worlds, seeds=range(2), turns=3), out, progress=False)
    more = execute(Plan.make("oona", worlds=worlds, seeds=range(3), turns=3), out, progress=False)
    assert (more.ran, more.skipped) == (2, 4)
    plan, outcomes = recorded(out)
    assert plan.seeds == (0, 1, 2) and len(outcomes) == 6
