"""Gambits: scripted moves by turn, run from the CLI, rebuilt from run.json by replay."""

from __future__ import annotations

import json

import pytest

from woodmarket.cli import main
from woodmarket.errors import ActionError
from woodmarket.gambits import FIRST_TRADE, GAMBITS, resolve_gambit
from woodmarket.replay import replay
from woodmarket.traces import read_trace


def test_the_showcase_is_short_whisper_spring_cover():
    g = resolve_gambit("showcase")
    script = g.script("settle")
    assert script == {
        1: ("short honey 8", "whisper Oona oona_run"),
        2: ("spring oona_run",),
        4: ("cover honey",),
    }
    assert (g.spring_turn, g.reckoning) == (2, 3)
    assert max(script) > g.reckoning  # the cover comes after the settlement
    assert script[1] == FIRST_TRADE
    assert g.script("none") == {1: script[1], 4: script[4]}
    with pytest.raises(ActionError, match="unknown gambit 'bogus'; gambits are showcase"):
        resolve_gambit("bogus")


def test_every_gambit_names_a_real_legend_and_springs_it():
    for g in GAMBITS.values():
        legend = g.the_legend()
        moves = [m for _, ms in g.moves for m in ms]
        assert f"spring {legend.id}" in moves
        assert any(m.startswith(f"short {legend.target} ") for m in moves)
        assert any(m == f"cover {legend.target}" for m in moves)


def _run(tmp_path, *extra, name="run"):
    out = tmp_path / name
    code = main(["run", "--turns", "6", "--seed", "2", "--out", str(out), *extra])
    return code, out


def test_run_with_a_gambit_records_every_move_and_replays(tmp_path, capsys):
    code, out = _run(tmp_path, "--gambit", "showcase", "--mechanism", "settle")
    assert code == 0
    printed = capsys.readouterr().out
    assert "financier: 140 pebbles, gambit P&L +40" in printed
    meta = json.loads((out / "run.json").read_text())
    assert (meta["gambit"], meta["mechanism"]) == ("showcase", "settle")
    records = list(read_trace(out))
    moves = [(r["turn"], r["command"]) for r in records if r["kind"] == "financier"]
    assert moves == [
        (1, "short honey 8"),
        (1, "whisper Oona oona_run"),
        (2, "spring oona_run"),
        (4, "cover honey"),
    ]
    assert all(r["source"] == "gambit" and r["ok"] for r in records if r["kind"] == "financier")
    assert [r["event"] for r in records if r["kind"] == "legend"] == ["sprung", "settled"]
    assert main(["replay", str(out)]) == 0
    assert "all 6 turns match" in capsys.readouterr().out


def test_replay_rebuilds_the_gambit_from_run_json(tmp_path, capsys):
    _, out = _run(tmp_path, "--gambit", "showcase", "--mechanism", "settle")
    meta = json.loads((out / "run.json").read_text())
    meta["mechanism"] = "rumor"  # a different world: the replay must notice
    (out / "run.json").write_text(json.dumps(meta))
    report = replay(out)
    assert not report.ok and report.mismatch_turn == 3
    assert "price" in report.detail


def test_run_refuses_a_bad_gambit_or_a_lone_mechanism(tmp_path, capsys):
    code, _ = _run(tmp_path, "--gambit", "bogus", name="a")
    assert code == 2
    assert "unknown gambit 'bogus'" in capsys.readouterr().err
    code, _ = _run(tmp_path, "--mechanism", "glut", name="b")
    assert code == 2
    assert "add --gambit NAME" in capsys.readouterr().err
