"""Sessions of the app without a browser: moves from form fields, the cap, idle cleanup, replay."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from woodmarket.app.session import CASTS, Full, Refused, Sessions, whole
from woodmarket.financier.whispers import legends_of
from woodmarket.replay import replay
from woodmarket.traces import read_trace


@pytest.fixture
def sessions(tmp_path):
    s = Sessions(cap=2, idle_s=60, runs=tmp_path / "runs")
    yield s
    s.close_all()


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("-3", "at least 1"),
        ("0", "at least 1"),
        ("abc", "whole number"),
        ("1e9", "whole number"),
        ("٣", "whole number"),
        ("9" * 40, "far too large"),
        ("1000000", "at most 999999"),
        (None, "is empty"),
    ],
)
def test_a_bad_number_is_a_message(typed, expected):
    with pytest.raises(Refused, match=expected):
        whole(typed, "the quantity")


def test_good_numbers_read_as_typed():
    assert whole(" 8 ", "q") == 8 and whole("+2", "q") == 2 and whole(8.0, "q") == 8


def test_every_bad_field_is_a_message_and_the_game_goes_on(sessions):
    s = sessions.seat("a")
    good = s.wood.goods[0]
    cases = [
        (lambda: s.short("hony", "3"), "unknown good 'hony'"),
        (lambda: s.short("", "3"), "choose a good"),
        (lambda: s.short(good, "-1"), "at least 1"),
        (lambda: s.short(good, "x" * 5000), "must be a whole number"),
        (lambda: s.cover(good), "nothing to cover"),
        (lambda: s.order("steal", good, "1", "5"), "buy or sell"),
        (lambda: s.order("buy", good, "1", "0"), "price must be at least 1"),
        (lambda: s.whisper("Nobody", "", "psst"), "unknown creature 'Nobody'"),
        (lambda: s.whisper(s.wood.names[0], "", ""), "needs a tip or some words"),
        (lambda: s.whisper(s.wood.names[0], "", "a\x1bb"), "control character"),
        (lambda: s.whisper(s.wood.names[0], "", "a\nb"), "line break"),
        (lambda: s.whisper(s.wood.names[0], "nope.9", ""), "no tip 'nope.9'"),
        (lambda: s.whisper(s.wood.names[0], "x", "y"), "not both"),
        (lambda: s.spring("../../etc/passwd.toml", "settle"), "unknown legend"),
        (lambda: s.spring(legends_of(s.wood)[0].id, "fire"), "mechanism must be"),
    ]
    for move, expected in cases:
        said = move()
        assert expected in said, (expected, said)
        assert s.ok is False
    assert s.fin.queued() == []
    assert "queued" in s.whisper(s.wood.names[0], "", "<script>alert(1)</script>")
    assert s.step().startswith("turn 1 is done")


def test_the_browser_picks_casts_and_scenarios_by_name_only(sessions, tmp_path):
    evil = tmp_path / "cast.toml"
    evil.write_text('[creatures.X]\npolicy = "os:system"\n')
    for cast in (str(evil), "os:system", "single:/tmp/model.gguf", "replay:/tmp"):
        with pytest.raises(Refused, match="unknown cast"):
            sessions.seat("a", cast=cast)
    with pytest.raises(Refused, match="unknown scenario"):
        sessions.seat("a", scenario="../../scenario.toml")
    with pytest.raises(Refused, match="no model to narrate"):
        sessions.seat("a", narrator="model")
    assert len(sessions) == 0 and "standin" in CASTS


def test_past_the_cap_a_visitor_waits(sessions):
    sessions.seat("a")
    sessions.seat("b")
    with pytest.raises(Full, match="You are in the queue"):
        sessions.seat("c")
    sessions.seat("a", seed=3)  # a new wood for a seated player takes no new seat
    assert sessions.close("b")
    assert sessions.seat("c").key == "c"
    assert sorted(sessions.open) == ["a", "c"]


def test_a_move_waits_for_the_running_turn(sessions):
    s = sessions.seat("a")
    with s.busy:  # as while a turn runs
        assert "a turn is running" in s.short(s.wood.goods[0], "1")
        assert "a turn is running" in s.first_trade()
        assert "already running" in s.step()
    assert s.fin.queued() == [] and "queued" in s.first_trade()


def test_sessions_keep_apart(sessions):
    a, b = sessions.seat("a"), sessions.seat("b")
    a.first_trade()
    a.step()
    assert a.wood is not b.wood and a.run_folder != b.run_folder
    assert b.fin.positions == {} and b.wood.turn == 0 and a.wood.turn == 1


def test_an_idle_session_is_closed_and_its_game_replays(sessions):
    s = sessions.seat("a")
    s.first_trade()
    s.step()
    s.step()
    assert sessions.reap(now=s.used + 30) == []  # not idle long enough
    assert sessions.reap(now=s.used + 61) == ["a"]
    assert s.closed and s.wood._pool is None and sessions.get("a") is None
    summary = json.loads((s.run_folder / "summary.json").read_text())
    assert summary["turns"] == 2 and "stopped" in summary
    assert replay(s.run_folder).ok
    assert "closed" in s.step()


def test_each_scenario_plays_its_own_first_trade_and_legend(sessions, scenario_key):
    s = sessions.seat("a", scenario=scenario_key)
    assert "queued" in s.first_trade()
    s.step()
    legend = legends_of(s.wood)[0]
    assert "is told" in s.spring(legend.id, "settle")
    for _ in range(legend.delay + 1):
        s.step()
    book = [r for r in read_trace(s.run_folder) if r["kind"] == "book"][-1]
    assert book["pnl"] == s.fin.pnl()
    sessions.close("a")
    assert replay(s.run_folder).ok


def test_the_engine_and_the_cli_import_without_gradio():
    code = (
        "import sys; sys.modules['gradio'] = None\n"
        "import woodmarket, woodmarket.app, woodmarket.app.session, woodmarket.cli\n"
        "woodmarket.cli.parser().parse_args(['app', '--port', '7999'])\n"
        "from woodmarket.errors import WoodmarketError\n"
        "try:\n    woodmarket.app.build_app()\n"
        "except WoodmarketError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install -e '.[app]'" in out.stdout
