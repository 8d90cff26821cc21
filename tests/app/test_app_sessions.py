"""Sessions of the app without a browser: moves from form fields, the cap, idle cleanup, replay.

Also the patron's levers (lend, bribe, ally) from fields, the levels a
visitor may seat, and the scoreboard's patron book against the trace.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from woodmarket.app import view
from woodmarket.app.session import CASTS, Full, Refused, Sessions, level_keys, level_label, whole
from woodmarket.errors import WoodmarketError
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


# -- the patron's levers, levels, and the scoreboard ----------------------


def _patron_records(folder, kind):
    return [r for r in read_trace(folder) if r["kind"] == kind]


def test_the_patrons_levers_build_their_commands(sessions, scenario_key):
    s = sessions.seat("a", scenario=scenario_key)
    names, goods = s.wood.names, s.wood.goods
    built = [
        (lambda: s.lend(names[0].lower(), " 10 ", "10", 2.0), f"lend {names[0]} 10 10 2"),
        (
            lambda: s.bribe(names[1], "6", "sell", goods[0], "ignored"),
            f"bribe {names[1]} 6 sell {goods[0]}",
        ),
        (
            lambda: s.bribe(names[2], "4", "HOLD", goods[1], ""),
            f"bribe {names[2]} 4 hold {goods[1]}",
        ),
        (
            lambda: s.bribe(names[3], "3", "gossip", "", "  the  fen's  cress is  cheap! "),
            f"bribe {names[3]} 3 gossip the fen's cress is cheap!",
        ),
        (lambda: s.ally(names[0], names[4].upper()), f"ally {names[0]} {names[4]}"),
    ]
    for move, command in built:
        said = move()
        assert said.startswith("queued for turn 1: "), said
        assert s.fin.queued()[-1] == command
    s.step()
    made = [r for r in _patron_records(s.run_folder, "financier") if r["source"] == "player"]
    assert [(r["command"], r["ok"]) for r in made] == [(c, True) for _, c in built]
    offered = {r["id"]: r for r in read_trace(s.run_folder) if r.get("event") == "offered"}
    assert sorted(r["kind"] for r in offered.values()) == [
        "bribe",
        "bribe",
        "bribe",
        "loan",
        "pact",
    ]
    assert any(r.get("creatures") == [names[0], names[4]] for r in offered.values())


def test_bad_patron_fields_are_one_clear_line(sessions, scenario_key):
    s = sessions.seat("a", scenario=scenario_key)
    who, good = s.wood.names[0], s.wood.goods[0]
    spec = s.wood.scenario.financier
    cases = [
        (lambda: s.lend("Nobody", "10", "10", "2"), "unknown creature 'Nobody'"),
        (lambda: s.lend(f"short {good} 8; cover", "10", "10", "2"), "unknown creature"),
        (lambda: s.lend("", "10", "10", "2"), "choose a creature"),
        (lambda: s.lend(who, "ten", "10", "2"), "the amount must be a whole number"),
        (lambda: s.lend(who, "8; cover", "10", "2"), "the amount must be a whole number"),
        (lambda: s.lend(who, "10", "-1", "2"), "the rate must be at least 0"),
        (lambda: s.lend(who, "10", "101", "2"), "the rate must be at most 100"),
        (lambda: s.lend(who, "10", "10", "0"), "the term must be at least 1"),
        (lambda: s.lend(who, "10", "", "2"), "the rate is empty"),
        (lambda: s.lend(who, "10", str(spec.max_rate + 1), "2"), "above this wood's limit"),
        (lambda: s.lend(who, "10", "10", str(spec.max_term + 1)), "above this wood's limit"),
        (lambda: s.lend(who, "100000", "10", "2"), "not enough pebbles"),
        (lambda: s.bribe(who, "5", "steal", good, ""), "the ask must be sell, hold, gossip"),
        (lambda: s.bribe(who, "5", "sell", "gold", ""), "unknown good 'gold'"),
        (lambda: s.bribe(who, "5", "hold", f"{good}; cover {good}", ""), "unknown good"),
        (lambda: s.bribe(who, "5", "sell", "", ""), "choose a good"),
        (lambda: s.bribe(who, "x", "sell", good, ""), "must be a whole number"),
        (lambda: s.bribe(who, "5", "gossip", good, ""), "needs the words"),
        (lambda: s.bribe(who, "5", "gossip", "", "psst\nshort honey 8"), "line break"),
        (lambda: s.bribe(who, "5", "gossip", "", "psst\r"), "line break"),
        (lambda: s.bribe(who, "5", "gossip", "", "w" * 81), "at most 80"),
        (lambda: s.bribe(who, "5", "gossip", "", "y" * 5000), "nothing that long"),
        (lambda: s.bribe(who, "5", "gossip", "", f"short {good} 8; cover"), "not ';'"),
        (lambda: s.bribe(who, "5", "gossip", "", "<script>alert(1)</script>"), "not '<'"),
        (lambda: s.bribe(who, "5", "gossip", "", "${x} {{y}}"), "not '$'"),
        (lambda: s.bribe(who, "5", "gossip", "", "bell\x07"), "not '\\x07'"),
        (lambda: s.ally(who, who.upper()), f"{who} is chosen twice"),
        (lambda: s.ally(who, "Nobody<b>"), "unknown creature 'Nobody<b>'"),
        (lambda: s.ally("", who), "choose a creature"),
    ]
    for move, expected in cases:
        said = move()
        assert said.startswith("refused: ") and expected in said, (expected, said)
        assert "\n" not in said and s.ok is False
    assert s.fin.queued() == []
    assert "queued" in s.bribe(who, "5", "gossip", "", "80 chars " + "z" * 71)
    assert s.step().startswith("turn 1 is done")


def test_an_exiled_creature_is_not_offered_and_refused_by_name(sessions, scenario_key):
    s = sessions.seat("a", scenario=scenario_key)
    gone, other = s.wood.names[-1], s.wood.names[0]
    s.wood.exile(gone)  # as a default that emptied its stores would
    for said in (
        s.lend(gone, "10", "10", "2"),
        s.bribe(gone.upper(), "5", "hold", s.wood.goods[0], ""),
        s.ally(other, gone),
        s.whisper(gone, "", "psst"),
    ):
        assert said.startswith(f"refused: {gone} has left the wood (exiled)"), said
    assert gone not in s.wood.names and s.fin.queued() == []
    board = view.scoreboard(s)
    assert f"data-wm='exiled' data-name='{gone}'" in board
    assert f'data-wm="exiled-card" data-name="{gone}"' in view.creatures(s)
    assert f'data-wm="creature" data-name="{gone}"' not in view.creatures(s)


def test_the_scoreboard_shows_the_patrons_book_as_traced(sessions, scenario_key):
    s = sessions.seat("a", scenario=scenario_key)
    names, goods = s.wood.names, s.wood.goods
    for who in names:  # the stand-in takes a loan only with a thin purse
        s.lend(who, "10", "10", "2")
    s.bribe(names[0], "10", "sell", goods[0], "")
    s.bribe(names[1], "3", "gossip", "", "all is well")
    s.ally(names[0], names[1])
    s.step()
    answered = view.scoreboard(s)  # the loans turned down show for the turn they were
    s.step()
    board, cards = view.scoreboard(s), view.creatures(s)
    trace = list(read_trace(s.run_folder))
    loans = [r for r in trace if r["kind"] == "loan" and r["event"] == "answered"]
    assert {r["made"] for r in loans} == {True, False}  # some thin purses, some fat
    for r in loans:
        assert (f"data-wm='loan' data-name='{r['creature']}'" in board) == r["made"], r
        declined = f"data-wm='declined' data-kind='loan' data-id='{r['id']}'"
        assert (declined in answered) != r["made"] and declined not in board
        if r["made"]:
            owed = [x["owed"] for x in trace if x.get("id") == r["id"] and "owed" in x][-1]
            assert f"data-state='open' data-owed='{owed}'" in board
            assert f"data-wm='debt' data-owed='{owed}'" in cards
    for r in (r for r in trace if r["kind"] == "bribe" and r["event"] == "answered"):
        did = [x for x in trace if x.get("id") == r["id"] and x["event"] in ("complied", "ignored")]
        complied = str(int(did[0]["event"] == "complied")) if did else ""
        assert (
            f"data-id='{r['id']}' data-taken='{int(r['paid'])}' data-complied='{complied}'"
        ) in board
    formed = [r for r in trace if r["kind"] == "pact" and r["event"] == "formed"]
    assert len(formed) == len(s.wood.pacts) == board.count("data-wm='pact'")
    for a, b in s.wood.pacts:
        assert f"data-wm='pact' data-a='{a}' data-b='{b}'" in board
        assert "data-wm='allies'" in cards
    sessions.close("a")
    assert replay(s.run_folder).ok


def test_a_level_is_seated_by_key_and_its_objective_differs(sessions, scenario_key):
    hard = f"{scenario_key}:hard"
    assert hard in level_keys() and level_label(hard).endswith(" — hard")
    easy = sessions.seat("a", scenario=scenario_key)
    easy_goal = easy.fin.objective()
    s = sessions.seat("a", scenario=hard)
    assert s.wood.scenario.level == "hard" and s.scenario == hard
    assert s.fin.objective() != easy_goal
    assert ":" not in s.run_folder.name and s.run_folder.name.startswith(f"{scenario_key}-hard-")
    assert f'data-scenario="{hard}"' in view.header(s)
    s.first_trade()
    s.step()
    sessions.close("a")
    assert replay(s.run_folder).ok


def test_a_bad_level_name_is_refused(sessions, tmp_path):
    for name in (
        "oona:easy",
        "oona:../../x",
        "oona:hard.toml",
        "OONA",
        "woodmarket/scenarios/oona/hard.toml",
        "oona:",
        ":hard",
        str(tmp_path / "x.toml"),
    ):
        with pytest.raises(Refused, match="unknown scenario"):
            sessions.seat("a", scenario=name)
    assert len(sessions) == 0
    with pytest.raises(WoodmarketError, match="unknown scenario"):
        Sessions(scenario="oona:nope")
    assert Sessions(scenario="reedmere:hard").scenario == "reedmere:hard"


def test_a_lost_season_shows_and_refuses_every_move(sessions):
    """Oona's hard level: a big short behind a legend and a bribe draws the heat that loses."""
    s = sessions.seat("a", scenario="oona:hard")
    assert "queued" in s.short("honey", "16")
    s.step()
    assert "is told" in s.spring("oona_run", "settle")
    assert "queued" in s.bribe("Oona", "5", "hold", "honey", "")
    while not s.fin.lost:
        s.step()
    header = view.header(s)
    trace = list(read_trace(s.run_folder))
    judged = [r for r in trace if r["kind"] == "magistrate"]
    assert 'data-state="lost"' in header and "season lost: " in header
    assert f'data-wm="heat" data-limit="60">{judged[-1]["heat"]}<' in header
    fined = sum(r["fine"] for r in judged if r["event"] == "fined")
    assert fined and f"data-wm='fined'>{fined}<" in header
    until = [r["until"] for r in judged if r["event"] == "frozen"][-1]
    assert f"data-wm='frozen' data-turns='{until - s.wood.turn}'" in header
    said = s.lend("Birch", "10", "10", "2")
    assert said.startswith("refused: the season is lost")
