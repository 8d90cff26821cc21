"""Forked sweeps (`--fork-at K`): arms share their trunk's turns before K, byte for byte.

Both bundled scenarios: every arm's trace lines before K are its trunk's;
arms replay (their trunk checked beside them); the report gains the forks'
table, and `--replay` gives it again; a killed sweep resumes (a trunk
made again makes its arms again); mistakes are one line. A creature whose
replies never repeat (`sweepfakes:Jittery`, a model policy on a function
backend) shows what forking is for: arms run whole differ before K, forked
ones do not, and the calls forking saved are counted exactly.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sweepkit import cast_file, cli

from woodmarket.cli import main
from woodmarket.errors import WoodmarketError
from woodmarket.experiments import Plan, execute, recorded_all, report_of
from woodmarket.experiments.render import render_csv, render_markdown, render_text
from woodmarket.experiments.worlds import World, arms_of, expand, with_arms
from woodmarket.replay import replay
from woodmarket.scenario import bundled_scenarios, load_scenario
from woodmarket.traces import read_timings, read_trace

SEEDS = range(4)
TURNS = 5
AT = 3  # after the showcase's spring (turn 2): a trunk per mechanism


def lines_before(folder: Path, at: int) -> list[str]:
    text = (folder / "trace.jsonl").read_text(encoding="utf-8").splitlines()
    return [line for line in text if json.loads(line)["turn"] < at]


def cover_early(key: str) -> str:
    return f"cover-early:{AT}:cover {load_scenario(key).gambit('showcase').target}"


@pytest.fixture(scope="module", params=bundled_scenarios())
def forked(request, tmp_path_factory):
    """The stand-in's settle and glut worlds and a cover-a-turn-early arm, forked at turn 3,
    with every arm also run whole beside them; on two workers."""
    key = request.param
    worlds = with_arms(expand(["standin:settle", "standin:glut"]), arms_of([cover_early(key)]))
    plan = Plan.make(key, worlds=worlds, seeds=SEEDS, turns=TURNS, fork_at=AT, fresh=True)
    out = tmp_path_factory.mktemp("forked") / key
    return plan, execute(plan, out, workers=2, progress=False)


def test_every_arm_holds_its_trunks_turns_before_k(forked):
    plan, result = forked
    assert not result.errors and not result.stopped
    assert len(result.outcomes) == len(plan.worlds) * len(SEEDS)
    roles = sorted(o["role"] for o in result.others)
    assert roles.count("fresh") == len(result.outcomes)
    assert roles.count("trunk") == 3 * len(SEEDS)  # none, glut, settle: told before turn 3
    for task in plan.tasks():
        arm, trunk = result.folder / task.folder, result.folder / task.trunk
        assert lines_before(arm, AT) == lines_before(trunk, AT)
        assert lines_before(trunk, AT) == lines_before(trunk, 99)  # a trunk stops at K-1
        meta = json.loads((arm / "run.json").read_text())
        assert meta["fork"]["at"] == AT and meta["turns"] == TURNS
        assert (arm / meta["fork"]["path"]).resolve() == trunk.resolve()


def test_the_arms_replay_with_their_trunk_beside_them(forked):
    plan, result = forked
    for task in plan.tasks()[: len(plan.worlds)]:  # every world of the first seed
        assert replay(result.folder / task.folder).passed
    # An edited trunk: the arm's replay names it.
    task = next(t for t in plan.tasks() if t.world.arm)
    copy = result.folder.parent / f"{result.folder.name}-edited"
    shutil.copytree(result.folder, copy)
    trunk = copy / task.trunk / "trace.jsonl"
    trunk.write_text(trunk.read_text().replace('"turn":1,', '"turn":1 ,', 1))
    report = replay(copy / task.folder)
    assert not report.ok and "holds another trace" in report.detail


def test_a_move_arm_changes_only_its_moves_and_the_stand_in_forks_are_its_fresh_runs(forked):
    plan, result = forked
    fresh = {(o["world"], o["seed"]): o for o in result.others if o["role"] == "fresh"}
    for o in result.outcomes:  # the stand-in repeats itself: a fork is the run made whole
        whole = fresh[o["world"], o["seed"]]
        assert (o["path"], o["pnl"], o["behaviour"]) == (
            whole["path"],
            whole["pnl"],
            whole["behaviour"],
        )
    arm = next(t for t in plan.tasks() if t.world.arm)
    moves = [
        (r["turn"], r["command"])
        for r in read_trace(result.folder / arm.folder)
        if r["kind"] == "financier" and r["turn"] >= AT
    ]
    assert moves == [(AT, arm.world.moves[0][1][0])]  # its cover; the gambit's later one dropped


def test_the_report_sets_forked_beside_fresh_widths_and_replays(forked, tmp_path):
    plan, result = forked
    rep = report_of(plan, result.outcomes, result.others)
    text = render_text(rep)
    assert "arms forked at turn 3: turns 1 to 2 are their trunk's" in text
    assert "effect, forked [95% CI]" in text and "fresh / forked" in text
    assert "it is not more independent data" in text
    assert "expect no narrower CI from forking here" in text  # the stand-in repeats itself
    assert "forks from another trunk than standin:none" in text  # settle's legend is history
    rows = {r.world.label: r for r in rep.forks.rows}
    armed = next(label for label in rows if "+cover-early" in label)
    assert rows[armed].shared and rows[armed].forked.hi - rows[armed].forked.lo >= 0
    assert rows[armed].fresh is not None and rows["standin:settle"].shared is False
    assert rep.forks.trunks == 3 * len(SEEDS) and rep.forks.saved == 0  # no model asked
    assert rep.forks.rebuilt_turns == len(result.outcomes) * (AT - 1)
    assert "| effect, forked [95% CI] |" in render_markdown(rep)
    assert render_csv(rep).splitlines()[0].endswith("fresh_effect_ci_width")
    plan2, arms, others = recorded_all(result.folder)
    assert plan2 == plan
    assert render_text(report_of(plan2, arms, others)) == text


def test_a_killed_sweep_resumes_and_a_trunk_made_again_makes_its_arms_again(forked, tmp_path):
    plan, result = forked
    folder = tmp_path / "copy"
    shutil.copytree(result.folder, folder)
    arm = next(t for t in plan.tasks() if t.world.arm and t.spec.seed == 1)
    trunk = next(t for t in plan.trunk_tasks() if t.spec.seed == 2)
    whole = {
        t.folder: (folder / t.folder / "trace.jsonl").read_bytes()
        for t in [*plan.tasks(), *plan.trunk_tasks()]
    }
    for victim in (folder / arm.folder, folder / trunk.folder):  # killed mid-write
        (victim / "outcome.json").unlink()
        (victim / "summary.json").unlink()
        trace = (victim / "trace.jsonl").read_bytes()
        (victim / "trace.jsonl").write_bytes(trace[: len(trace) // 2])
    forks_of_trunk = [t for t in plan.tasks() if t.trunk == trunk.folder]
    again = execute(plan, folder, workers=1, progress=False)
    assert again.ran == 2 + len(forks_of_trunk) and not again.errors
    for name, data in whole.items():
        assert (folder / name / "trace.jsonl").read_bytes() == data, name
    assert render_text(report_of(plan, again.outcomes, again.others)) == render_text(
        report_of(plan, result.outcomes, result.others)
    )
    rerun = execute(plan, folder, workers=1, progress=False)
    assert rerun.ran == 0 and rerun.skipped == len(again.outcomes) + len(again.others)


def test_a_fork_at_the_spring_shares_one_trunk_per_cast_and_a_spring_can_move(tmp_path):
    """Forked at the spring's own turn, every mechanism shares the trunk; an arm springs later."""
    key = "reedmere"
    g = load_scenario(key).gambit("showcase")
    late = [f"spring-late:3:spring {g.legend.id}", f"spring-late:4:cover {g.target}"]
    worlds = with_arms(expand(["standin"]), arms_of(late))
    plan = Plan.make(key, worlds=worlds, seeds=range(3), turns=5, fork_at=g.spring_turn)
    assert [t.label for t in plan.trunks()] == ["trunk standin:*"]
    result = execute(plan, tmp_path / "s", workers=1, progress=False)
    assert not result.errors
    rep = report_of(plan, result.outcomes, result.others)
    assert all(r.shared for r in rep.forks.rows)
    told = [
        r["turn"]
        for t in plan.tasks()
        if t.world.label == "standin:settle+spring-late"
        for r in read_trace(result.folder / t.folder)
        if r["kind"] == "financier" and r["command"].startswith("spring")
    ]
    assert told == [3, 3, 3]


def test_replies_that_never_repeat_differ_whole_and_not_forked(tmp_path):
    """Arms run whole on such a backend differ before K; forked arms never do. The calls
    the prefix would have made are counted once, in the trunk."""
    jittery = cast_file(tmp_path, "sweepfakes:Jittery")
    worlds = [World(jittery, "settle"), World(jittery, "glut")]
    plan = Plan.make("oona", worlds=worlds, seeds=range(2), turns=4, fork_at=2, fresh=True)
    result = execute(plan, tmp_path / "s", workers=1, progress=False)
    assert not result.errors
    root = result.folder
    for s in range(2):
        arms = [t for t in plan.tasks() if t.spec.seed == s]
        forked = {tuple(lines_before(root / t.folder, 2)) for t in arms}
        assert forked == {tuple(lines_before(root / arms[0].trunk, 2))}
        whole = {
            tuple(lines_before(root / t.folder, 2)) for t in plan.fresh_tasks() if t.spec.seed == s
        }
        assert len(whole) == len(arms)  # three whole runs, three different turn 1s
        for t in arms:
            assert replay(root / t.folder).passed
    rep = report_of(plan, result.outcomes, result.others)
    f = rep.forks
    assert (f.trunks, f.trunk_calls) == (2, 2 * 5)  # one trunk per seed, one turn of 5 calls
    assert f.prefix_calls == len(result.outcomes) * 5 and f.arm_calls == len(result.outcomes) * 15
    assert f.saved == f.prefix_calls - f.trunk_calls == 20 and f.fresh_calls == 6 * 20
    assert "model calls: the trunks made 10 once and the arms 90 from turn 2" in render_text(rep)
    # A forked arm's timings: its trunk's clock readings of the prefix, then its own; what
    # it spent is its own turns' calls.
    task = plan.tasks()[1]
    timed = [x for x in read_timings(root / task.folder) if "creature" in x]
    assert [x for x in timed if x["turn"] < 2] == read_timings(root / task.trunk)[:5]
    outcome = next(o for o in result.outcomes if o["folder"] == task.folder)
    assert outcome["cached_tokens"] == sum(x["cached_tokens"] for x in timed if x["turn"] >= 2)


def test_the_command_line_forks_replays_and_exports(tmp_path):
    out = tmp_path / "sw"
    args = ["sweep", "--world", "standin:settle", "--arm", "cover-early:3:cover honey"]
    args += ["--fork-at", "3", "--seeds", "3", "--turns", "4", "--no-plots", "--out", str(out)]
    table = cli(*args).stdout.split("\nCost:")[0]
    assert "standin:settle+cover-early" in table and "Forks: each arm forked at turn 3" in table
    assert "--compare-fresh" in table  # the fresh widths: how to get them
    assert cli("sweep", "--replay", str(out), "--no-plots").stdout.split("\nCost:")[0] == table
    assert "15 runs were already finished" in cli(*args).stderr  # 9 arms, 6 trunks
    assert cli("replay", str(out / "runs/standin-settle-cover-early/seed-0")).stdout.startswith(
        "all 4 turns match"
    )
    assert "runs 9 rows" in cli("export", str(out), "--parquet", str(tmp_path / "pq")).stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fork-at", "1"], "--fork-at 1: arms fork at a turn from 2 to 5"),
        (["--fork-at", "6"], "--fork-at 6: arms fork at a turn from 2 to 5"),
        (["--fork-at", "3", "--arm", "early"], "--arm 'early': expected NAME:TURN:COMMAND"),
        (["--fork-at", "3", "--arm", "e:x:cover honey"], "expected NAME:TURN:COMMAND"),
        (["--fork-at", "3", "--arm", "e:2:cover honey"], "a fork's moves fall on its turns 3 to 5"),
        (["--fork-at", "3", "--arm", "e:3:covr honey"], "unknown command 'covr honey'"),
        (["--arm", "e:3:cover honey"], "a move arm replaces the gambit's moves"),
        (["--compare-fresh"], "--compare-fresh sets whole arms beside forked ones"),
    ],
)
def test_mistakes_are_one_line_and_write_nothing(tmp_path, args, message):
    out = tmp_path / "x"
    proc = cli(
        "sweep", "--world", "standin:settle", "--turns", "5", *args, "--out", str(out), check=False
    )
    assert proc.returncode == 2
    assert message in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert not out.exists()


def test_a_folder_forked_at_another_turn_is_refused(tmp_path):
    worlds = expand(["standin:settle"])
    execute(
        Plan.make("oona", worlds=worlds, seeds=[0], turns=4, fork_at=2), tmp_path, progress=False
    )
    with pytest.raises(WoodmarketError, match="a different fork_at"):
        execute(
            Plan.make("oona", worlds=worlds, seeds=[0], turns=4, fork_at=3),
            tmp_path,
            progress=False,
        )
    with pytest.raises(WoodmarketError, match="a different fork_at"):
        execute(Plan.make("oona", worlds=worlds, seeds=[0], turns=4), tmp_path, progress=False)


def test_a_sweep_run_keeping_its_clock_readings_apart_forks_and_replays(tmp_path):
    """`woodmarket fork` of a sweep's model run: its timings are put back to rebuild it, and
    the fork keeps its own apart too, so its prefix is the parent's lines and it replays."""
    jittery = cast_file(tmp_path, "sweepfakes:Jittery")
    plan = Plan.make("oona", worlds=[World(jittery, "settle")], seeds=[0], turns=4)
    result = execute(plan, tmp_path / "s", workers=1, progress=False)
    parent = result.folder / plan.tasks()[1].folder
    out = tmp_path / "fork"
    assert main(["fork", str(parent), "--at", "3", "--mechanism", "glut", "--out", str(out)]) == 0
    assert lines_before(out, 3) == lines_before(parent, 3)
    assert b"latency_ms" not in (out / "trace.jsonl").read_bytes()
    assert replay(out).passed
