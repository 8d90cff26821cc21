"""Forks: a recorded run branched at a turn, its prefix rebuilt from the record and proved.

An unchanged fork writes its parent's trace byte for byte; a changed one
shares exactly the turns before K; both replay, with and without the
parent beside them; a fork of a fork works and a killed fork resumes; a
fork runs on past a parent run only to the turn before it.
Every bad request (a turn past the parent's end, an edited parent, a move
that does not parse, one refused when made) is one line, and a refused
fork writes nothing. Both bundled scenarios throughout.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from woodmarket.cli import main
from woodmarket.errors import ActionError, ReplayError, WoodmarketError
from woodmarket.fork import plan_fork, run_fork
from woodmarket.replay import replay
from woodmarket.resume import resume
from woodmarket.runner import run
from woodmarket.scenario import load_scenario
from woodmarket.spec import RunSpec
from woodmarket.traces import TIMED, read_trace
from woodmarket.types import Sampling


def lines_before(folder: Path, at: int) -> list[str]:
    text = (folder / "trace.jsonl").read_text(encoding="utf-8").splitlines()
    return [line for line in text if json.loads(line)["turn"] < at]


def parent_run(tmp_path: Path, key: str, gambit: str | None, seed: int, turns: int) -> Path:
    out = tmp_path / f"parent-{key}-{gambit}-{seed}-{turns}"
    if not out.exists():
        run(RunSpec.make(key, seed=seed, turns=turns, gambit=gambit), out)
    return out


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    gambit=st.sampled_from([None, "showcase", "patron"]),
    seed=st.integers(0, 50),
    turns=st.integers(2, 9),
    data=st.data(),
)
def test_an_unchanged_fork_is_its_parent_and_a_changed_one_shares_its_past(
    tmp_path_factory, scenario_key, gambit, seed, turns, data
):
    tmp = tmp_path_factory.mktemp("fork")
    parent = parent_run(tmp, scenario_key, gambit, seed, turns)
    at = data.draw(st.integers(1, turns), label="at")
    same = tmp / "same"
    spec, p = plan_fork(parent, at, out=same)
    run_fork(spec, same, p)
    assert (same / "trace.jsonl").read_bytes() == (parent / "trace.jsonl").read_bytes()
    assert replay(same).passed
    # Changed: the first trade's own moves at K (a fresh short, or a spring moved there).
    sc = load_scenario(scenario_key)
    good = sc.first_trade[0].split()[1]
    move = data.draw(
        st.sampled_from([f"order buy {good} 1 {sc.good(good).price}", f"short {good} 2"]),
        label="move",
    )
    changed = tmp / "changed"
    spec, p = plan_fork(parent, at, out=changed, moves={at: [move]}, mechanism="settle")
    try:
        run_fork(spec, changed, p)
    except ActionError as exc:  # refused when made (already short): the fork stops there
        assert "was refused when made" in str(exc)
    assert lines_before(changed, at) == lines_before(parent, at)
    made = [r for r in read_trace(changed) if r["kind"] == "financier" and r["turn"] >= at]
    assert made and made[0]["command"] == move  # the parent's later moves are dropped
    assert replay(changed).ok, replay(changed).line()


def test_a_fork_of_a_fork_and_a_killed_fork_resumed(tmp_path, scenario_key):
    parent = parent_run(tmp_path, scenario_key, "showcase", 3, 8)
    g = load_scenario(scenario_key).gambit("showcase")
    good, legend = g.target, g.legend.id
    one = tmp_path / "one"
    spec, p = plan_fork(parent, 2, out=one, moves={2: [f"spring {legend} settle"]})
    run_fork(spec, one, p)
    two = tmp_path / "two"
    spec, p = plan_fork(one, 4, out=two, moves={4: [f"cover {good}"]})
    result = run_fork(spec, two, p)
    assert result.complete and replay(two).passed
    assert lines_before(two, 4) == lines_before(one, 4)
    assert lines_before(two, 2) == lines_before(parent, 2)
    assert json.loads((two / "run.json").read_text())["fork"]["parent"]["fork"]["at"] == 2
    # The same fork, killed after its turn 5 and resumed, ends as the whole one did.
    killed = tmp_path / "killed"
    spec, p = plan_fork(one, 4, out=killed, moves={4: [f"cover {good}"]})

    def stop(state):
        if state.turn == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_fork(spec, killed, p, on_turn=stop)
    assert "stopped" in json.loads((killed / "summary.json").read_text())
    resume(killed)
    assert (killed / "trace.jsonl").read_bytes() == (two / "trace.jsonl").read_bytes()


def test_an_undo_drops_the_parents_moves_from_its_turn_and_makes_none(tmp_path, scenario_key):
    """`keep_moves=False` with no moves (a game's rewind): nothing of the financier's from K on."""
    parent = parent_run(tmp_path, scenario_key, "showcase", 2, 5)
    assert any(r["kind"] == "financier" and r["turn"] >= 2 for r in read_trace(parent))
    out = tmp_path / "undo"
    spec, p = plan_fork(parent, 2, out=out, keep_moves=False)
    assert spec.moves == () and spec.fork is not None and not spec.fork.keep_moves
    run_fork(spec, out, p)
    assert lines_before(out, 2) == lines_before(parent, 2)
    made = [r for r in read_trace(out) if r["kind"] == "financier" and r["turn"] >= 2]
    assert [r for r in made if r["source"] != "margin"] == []
    assert replay(out).passed


def test_replay_checks_the_prefix_against_the_parent_and_does_without_it(tmp_path, scenario_key):
    parent = parent_run(tmp_path, scenario_key, "patron", 1, 6)
    fork = tmp_path / "fork"
    spec, p = plan_fork(parent, 3, out=fork, mechanism="glut")
    run_fork(spec, fork, p)
    assert json.loads((fork / "run.json").read_text())["fork"]["path"] == f"../{parent.name}"
    assert replay(fork).passed
    alone = tmp_path / "elsewhere" / "fork"
    shutil.copytree(fork, alone)
    assert replay(alone).passed  # no parent beside it: the fork replays from its own record
    # The parent's trace edited after the fork was made: the fork's replay says so.
    lines = (parent / "trace.jsonl").read_text().splitlines(keepends=True)
    lines[3] = lines[3].replace('"turn":1', '"turn":1 ', 1)
    (parent / "trace.jsonl").write_text("".join(lines))
    report = replay(fork)
    assert not report.ok and "holds another trace" in report.detail


def test_bad_requests_are_one_line_and_write_nothing(tmp_path, scenario_key, capsys):
    parent = parent_run(tmp_path, scenario_key, "showcase", 2, 5)
    out = tmp_path / "fork"
    legend = load_scenario(scenario_key).gambit("showcase").legend.id
    cases = [
        (["--at", "9"], "a fork starts at a turn from 1 to 5"),
        (["--at", "2", "--moves", "2:shrot x"], "--moves 2:shrot x: unknown command 'shrot x'"),
        (["--at", "3", "--moves", "2:cover x"], "a fork's moves fall on its turns 3 to 5"),
        (["--at", "2", "--moves", "two:cover x"], "expected TURN:COMMAND"),
        (["--at", "2", "--moves", "2: "], "--moves '2: ': no command after the turn"),
        (["--at", "2", "--cast", "chorus"], "key 'chorus'"),
        (["--at", "2", "--reask", "--temperature", "0.5"], "--reask asks the parent's models"),
    ]
    for extra, message in cases:
        assert main(["fork", str(parent), "--out", str(out), *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, (extra, err)
        assert not out.exists()
    # An edited parent: its record no longer comes out as it says; nothing is written.
    edited = tmp_path / "edited"
    shutil.copytree(parent, edited)
    text = (edited / "trace.jsonl").read_text()
    line = next(x for x in text.splitlines() if '"kind":"price"' in x and '"turn":1,' in x)
    forged = line.replace('"reference":', '"reference":9', 1)
    (edited / "trace.jsonl").write_text(text.replace(line, forged))
    assert main(["fork", str(edited), "--at", "3", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "turn 1 does not come out as recorded" in err and err.count("\n") == 1
    assert not out.exists()
    # A parent whose scenario text no longer matches its sha256.
    meta = json.loads((parent / "run.json").read_text())
    meta["scenario_text"] += "\n# edited"
    broken = tmp_path / "broken"
    shutil.copytree(parent, broken)
    (broken / "run.json").write_text(json.dumps(meta))
    with pytest.raises(WoodmarketError, match="scenario_sha256 does not match"):
        plan_fork(broken, 2)
    # A move refused when it is made: the fork stops there, the reason traced.
    spec, p = plan_fork(parent, 3, out=out, moves={3: [f"spring {legend}"]})
    with pytest.raises(WoodmarketError, match=r"the fork's move 3:spring .* was refused"):
        run_fork(spec, out, p)
    refused = [r for r in read_trace(out) if r["kind"] == "financier" and not r["ok"]]
    assert refused and "already been told" in refused[-1]["outcome"]
    assert json.loads((out / "summary.json").read_text())["turns"] == 3


def test_a_schema_1_parent_forks(tmp_path):
    from test_replay import _schema_1  # the folder as schema 1 wrote it

    parent = tmp_path / "old"
    assert main(["run", "--turns", "6", "--seed", "3", "--out", str(parent)]) == 0
    _schema_1(parent)
    out = tmp_path / "fork"
    spec, p = plan_fork(parent, 3, out=out)
    run_fork(spec, out, p)
    assert (out / "trace.jsonl").read_bytes() == (parent / "trace.jsonl").read_bytes()
    assert replay(out).passed


def test_the_prefix_is_rebuilt_even_where_the_record_is_short(tmp_path):
    """A parent cut mid-run forks from its finished turns only."""
    parent = parent_run(tmp_path, "oona", "showcase", 4, 6)
    text = (parent / "trace.jsonl").read_text().splitlines(keepends=True)
    cut = next(i for i, x in enumerate(text) if json.loads(x)["turn"] == 4)
    (parent / "trace.jsonl").write_text("".join(text[:cut]))
    with pytest.raises(WoodmarketError, match="finished 3 of 6 turns"):
        plan_fork(parent, 5)
    spec, p = plan_fork(parent, 4, out=tmp_path / "f")
    assert run_fork(spec, tmp_path / "f", p).turns == 6
    with pytest.raises(ReplayError):
        plan_fork(tmp_path / "nowhere", 1)


@pytest.mark.models
def test_a_council_fork_rebuilds_its_past_without_a_model_and_repeats_itself(
    tmp_path, scenario_key
):
    """Serial sampling: two forks of one parent with the same change are the same bytes."""
    spec = RunSpec.make(
        scenario_key,
        cast="council",
        seed=5,
        turns=3,
        gambit="showcase",
        sampling=Sampling(0.7, serial=True),
    )
    parent = tmp_path / "parent"
    run(spec, parent)
    traces = []
    for name in ("a", "b"):
        out = tmp_path / name
        fork, p = plan_fork(parent, 2, out=out, mechanism="settle")
        run_fork(fork, out, p)
        assert lines_before(out, 2) == lines_before(parent, 2)
        decisions = [r for r in read_trace(out) if r["kind"] == "decision" and r["turn"] >= 2]
        assert decisions and all(r["policy"] == "llm" for r in decisions)
        assert replay(out).passed  # no model is loaded to replay it
        records = list(read_trace(out))
        for r in records:  # the clock readings kept apart, as a sweep keeps them
            for key in TIMED:
                (r.get("call") or {}).pop(key, None)
        traces.append(records)
    assert traces[0] == traces[1]


def test_a_fork_goes_on_past_a_parent_run_only_to_the_turn_before(tmp_path, scenario_key):
    """A sweep's trunk is run to K-1 only: its fork at K runs on to the length it is given,
    and with nothing changed writes what the whole run writes."""
    spec = RunSpec.make(scenario_key, seed=2, turns=6, gambit="showcase")
    whole, trunk, out = tmp_path / "whole", tmp_path / "trunk", tmp_path / "fork"
    run(spec, whole)
    run(spec.but(turns=2), trunk)
    with pytest.raises(WoodmarketError, match="a fork starts at a turn from 1 to 2"):
        plan_fork(trunk, 3)  # its own length is its parent's
    fork, p = plan_fork(trunk, 3, out=out, turns=6)
    assert run_fork(fork, out, p).complete
    assert (out / "trace.jsonl").read_bytes() == (whole / "trace.jsonl").read_bytes()
    assert replay(out).passed
    # The command line says the same with --turns.
    typed = tmp_path / "typed"
    assert main(["fork", str(trunk), "--at", "3", "--turns", "6", "--out", str(typed)]) == 0
    assert (typed / "trace.jsonl").read_bytes() == (whole / "trace.jsonl").read_bytes()
    assert main(["fork", str(trunk), "--at", "3", "--out", str(tmp_path / "no")]) == 2
    assert not (tmp_path / "no").exists()


def test_a_run_recorded_as_council_keeps_its_seats_and_a_reseated_one_is_refused(tmp_path):
    """The recorded game says `council` (before the councils had names: the two-lab one).
    Its fork plans on those seats; a record whose seats the cast no longer gives is refused
    in one line, by fork and by resume alike, before anything is written."""
    game = Path(__file__).parent / "data" / "squeeze-oona-council-seed0"
    spec, _ = plan_fork(game, 2)
    assert spec.cast == "council2" and spec.fork.parent.cast == "council2"
    moved = tmp_path / "moved"
    shutil.copytree(game, moved)
    meta = json.loads((moved / "run.json").read_text())
    meta["provenance"]["seats"]["Oona"]["model"] = "qwen"  # as if the council were reseated
    (moved / "run.json").write_text(json.dumps(meta))
    before = sorted(p.name for p in moved.iterdir())
    for attempt in (lambda: plan_fork(moved, 2), lambda: resume(moved)):
        with pytest.raises(ReplayError) as err:
            attempt()
        said = str(err.value)
        assert "\n" not in said and "Oona ran on 'qwen'" in said and "'smollm2'" in said
    assert sorted(p.name for p in moved.iterdir()) == before
