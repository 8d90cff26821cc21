"""Sessions of the app without a browser: moves from form fields, the cap, idle cleanup, replay.

Also the patron's levers (lend, bribe, ally) from fields, the levels a
visitor may seat, the scoreboard's patron book against the trace, and the
rewind: a session's game forked at a past turn, played on in the same seat.
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
    good, who = s.wood.goods[0], s.wood.names[0]
    legend = legends_of(s.wood)[0].id
    cases = [
        (("short", {"good": "hony", "qty": "3"}), "unknown good 'hony'"),
        (("short", {"good": "", "qty": "3"}), "usage: short GOOD QTY"),
        (("short", {"good": good, "qty": "-1"}), "quantity must be a whole number >= 1"),
        (("short", {"good": good, "qty": "x" * 5000}), "a command is at most 1000 characters"),
        (("cover", {"good": good}), "nothing to cover"),
        (("order", {"side": "steal", "good": good, "qty": "1", "price": "5"}), "buy|sell"),
        (("order", {"side": "buy", "good": good, "qty": "1", "price": "0"}), "price must be"),
        (("whisper", {"creature": "Nobody", "tip": "psst"}), "unknown creature 'Nobody'"),
        (("whisper", {"creature": who, "tip": ""}), "usage: whisper CREATURE TIP"),
        (("whisper", {"creature": who, "tip": "a\x1bb"}), "control character (U+001B)"),
        (("whisper", {"creature": who, "tip": "a\nb"}), "control character (U+000A)"),
        (("whisper", {"creature": who, "tip": f"{legend}.9"}), f"no tip '{legend}.9'"),
        (("whisper", {"creature": who, "tip": "²"}), "no tip number '²'"),
        (("spring", {"legend": "../../etc/passwd.toml", "mechanism": "settle"}), "unknown legend"),
        (("spring", {"legend": legend, "mechanism": "fire"}), "unknown mechanism 'fire'"),
        (("dance", {}), "unknown command 'dance'"),
    ]
    for (verb, fields), expected in cases:
        said = s.form(verb, fields)
        assert said.startswith("refused: ") and expected in said, (expected, said)
        assert s.ok is False
    assert s.fin.queued() == []
    assert "queued" in s.form("whisper", {"creature": who, "tip": "<script>alert(1)</script>"})
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
        assert "a turn is running" in s.form("short", {"good": s.wood.goods[0], "qty": "1"})
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
    assert "is told" in s.form("spring", {"legend": legend.id, "mechanism": "settle"})
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


def _lend(s, who, amount, rate, turns):
    return s.form("lend", {"creature": who, "amount": amount, "rate": rate, "turns": turns})


def _bribe(s, who, amount, ask, good, words):
    fields = {"creature": who, "amount": amount, "ask": ask, "good": good, "words": words}
    return s.form("bribe", fields)


def _ally(s, first, second):
    return s.form("ally", {"first": first, "second": second})


def test_the_patrons_levers_build_their_commands(sessions, scenario_key):
    s = sessions.seat("a", scenario=scenario_key)
    names, goods = s.wood.names, s.wood.goods
    built = [
        (lambda: _lend(s, names[0].lower(), " 10 ", "10", "2"), f"lend {names[0]} 10 10 2"),
        (
            lambda: _bribe(s, names[1], "6", "sell", goods[0], "ignored"),
            f"bribe {names[1]} 6 sell {goods[0]}",
        ),
        (
            lambda: _bribe(s, names[2], "4", "HOLD", goods[1], ""),
            f"bribe {names[2]} 4 hold {goods[1]}",
        ),
        (
            lambda: _bribe(s, names[3], "3", "gossip", "", "  the  fen's  cress is  cheap! "),
            f"bribe {names[3]} 3 gossip the fen's cress is cheap!",
        ),
        (lambda: _ally(s, names[0], names[4].upper()), f"ally {names[0]} {names[4]}"),
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
        (lambda: _lend(s, "Nobody", "10", "10", "2"), "unknown creature 'Nobody'"),
        (lambda: _lend(s, f"short {good} 8; cover", "10", "10", "2"), "unknown creature"),
        (lambda: _lend(s, "", "10", "10", "2"), "usage: lend CREATURE AMOUNT RATE TURNS"),
        (lambda: _lend(s, who, "ten", "10", "2"), "amount must be a whole number"),
        (lambda: _lend(s, who, "8; cover", "10", "2"), "amount must be a whole number"),
        (lambda: _lend(s, who, "10", "-1", "2"), "rate must be a whole number >= 0"),
        (lambda: _lend(s, who, "10", "101", "2"), "above this wood's limit"),
        (lambda: _lend(s, who, "10", "10", "0"), "turns must be a whole number >= 1, got 0"),
        (lambda: _lend(s, who, "10", "", "2"), "usage: lend CREATURE AMOUNT RATE TURNS"),
        (lambda: _lend(s, who, "10", str(spec.max_rate + 1), "2"), "above this wood's limit"),
        (lambda: _lend(s, who, "10", "10", str(spec.max_term + 1)), "above this wood's limit"),
        (lambda: _lend(s, who, "100000", "10", "2"), "not enough pebbles"),
        (lambda: _bribe(s, who, "5", "steal", good, ""), "the ask is `sell GOOD`"),
        (lambda: _bribe(s, who, "5", "sell", "gold", ""), "unknown good 'gold'"),
        (lambda: _bribe(s, who, "5", "hold", f"{good}; cover {good}", ""), "usage: hold GOOD"),
        (lambda: _bribe(s, who, "5", "sell", "", ""), "usage: sell GOOD"),
        (lambda: _bribe(s, who, "x", "sell", good, ""), "must be a whole number"),
        (lambda: _bribe(s, who, "5", "gossip", good, ""), "needs the words"),
        (lambda: _bribe(s, who, "5", "gossip", "", "psst\nshort honey 8"), "printable line"),
        (lambda: _bribe(s, who, "5", "gossip", "", "ps\rst"), "printable line"),
        (lambda: _bribe(s, who, "5", "gossip", "", "w" * 81), "at most 80"),
        (lambda: _bribe(s, who, "5", "gossip", "", "y" * 5000), "a command is at most 1000"),
        (lambda: _bribe(s, who, "5", "gossip", "", f"short {good} 8; cover"), "not ';'"),
        (lambda: _bribe(s, who, "5", "gossip", "", "<script>alert(1)</script>"), "not '<'"),
        (lambda: _bribe(s, who, "5", "gossip", "", "${x} {{y}}"), "not '$'"),
        (lambda: _bribe(s, who, "5", "gossip", "", "bell\x07"), "printable line"),
        (lambda: _ally(s, who, who.upper()), f"{who} named twice"),
        (lambda: _ally(s, who, "Nobody<b>"), "unknown creature 'Nobody<b>'"),
        (lambda: _ally(s, "", who), "usage: ally CREATURE CREATURE"),
    ]
    for move, expected in cases:
        said = move()
        assert said.startswith("refused: ") and expected in said, (expected, said)
        assert "\n" not in said and s.ok is False
    assert s.fin.queued() == []
    assert "queued" in _bribe(s, who, "5", "gossip", "", "80 chars " + "z" * 71)
    assert s.step().startswith("turn 1 is done")


def test_an_exiled_creature_is_not_offered_and_refused_by_name(sessions, scenario_key):
    s = sessions.seat("a", scenario=scenario_key)
    gone, other = s.wood.names[-1], s.wood.names[0]
    s.wood.exile(gone)  # as a default that emptied its stores would
    for said in (
        _lend(s, gone, "10", "10", "2"),
        _bribe(s, gone.upper(), "5", "hold", s.wood.goods[0], ""),
        _ally(s, other, gone),
        s.form("whisper", {"creature": gone, "tip": "psst"}),
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
        _lend(s, who, "10", "10", "2")
    _bribe(s, names[0], "10", "sell", goods[0], "")
    _bribe(s, names[1], "3", "gossip", "", "all is well")
    _ally(s, names[0], names[1])
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
    assert "queued" in s.form("short", {"good": "honey", "qty": "16"})
    s.step()
    assert "is told" in s.form("spring", {"legend": "oona_run", "mechanism": "settle"})
    assert "queued" in _bribe(s, "Oona", "5", "hold", "honey", "")
    while not s.fin.lost:
        said = s.step()
    assert "the season is lost" in said and "heat reached" in said and s.ok is False
    page = s.story()  # the season so far, as one page beside its run folder
    assert page.name.endswith("-story.html") and "the season is lost" in page.read_text()
    header = view.header(s)
    trace = list(read_trace(s.run_folder))
    judged = [r for r in trace if r["kind"] == "magistrate"]
    assert 'data-state="lost"' in header and "season lost: " in header
    assert f'data-wm="heat" data-limit="60">{judged[-1]["heat"]}<' in header
    fined = sum(r["fine"] for r in judged if r["event"] == "fined")
    assert fined and f"data-wm='fined'>{fined}<" in header
    until = [r["until"] for r in judged if r["event"] == "frozen"][-1]
    assert f"data-wm='frozen' data-turns='{until - s.wood.turn}'" in header
    said = _lend(s, "Birch", "10", "10", "2")
    assert said.startswith("refused: the season is lost")


# -- rewinding ------------------------------------------------------------


def _lines_before(folder, at):
    text = (folder / "trace.jsonl").read_text(encoding="utf-8").splitlines()
    return [line for line in text if json.loads(line)["turn"] < at]


def test_a_session_rewinds_and_plays_on_in_the_branch(sessions, scenario_key):
    s = sessions.seat("a", scenario=scenario_key, seed=4)
    s.first_trade()
    for _ in range(3):
        s.step()
    parent, game = s.run_folder, s.game
    gossip = [r for r in read_trace(parent) if r["kind"] == "gossip" and r["turn"] < 2]
    assert "queued" in s.form("whisper", {"creature": s.wood.names[0], "tip": "psst"})
    said = s.rewind(" 2 ")
    assert said.startswith("rewound to turn 2: the wood as it stood after turn 1"), said
    assert f"a branch of {parent.name}" in said and s.ok
    assert said.endswith(f"dropped: whisper {s.wood.names[0]} psst")
    assert sessions.get("a") is s and s.game is not game and game.done
    assert (s.key, s.cast, s.scenario, s.narrator) == ("a", "standin", scenario_key, "template")
    assert s.run_folder == parent.with_name(parent.name + "-at2") and s.wood.turn == 1
    assert s.fin.queued() == [] and [g["text"] for g in s.gossip] == [g["text"] for g in gossip]
    header = view.header(s)
    assert "data-wm='branch' data-at='2'" in header
    assert f"<code data-wm='parent'>{parent.name}</code> at turn 2" in header
    assert view.rewind_choices(s) == ["1"]
    legend = legends_of(s.wood)[0].id
    assert "is told" in s.form("spring", {"legend": legend, "mechanism": "settle"})
    assert s.step().startswith("turn 2 is done")
    assert view.rewind_choices(s) == ["1", "2"]
    sessions.close("a")
    stopped = json.loads((parent / "summary.json").read_text())["stopped"]
    assert stopped == "left after 3 of 15 turns for a rewind to turn 2"
    assert _lines_before(s.run_folder, 2) == _lines_before(parent, 2)
    made = [
        (r["turn"], r["command"], r["source"])
        for r in read_trace(s.run_folder)
        if r["kind"] == "financier" and r["turn"] >= 2
    ]
    assert made == [(2, f"spring {legend} settle", "player")]
    assert replay(parent).ok and replay(s.run_folder).ok


def test_a_bad_rewind_is_one_line_and_the_game_goes_on(sessions):
    s = sessions.seat("a")
    assert s.rewind("1") == "refused: no turn has been played yet: there is nothing to rewind"
    s.step()
    s.step()
    folder = s.run_folder
    cases = [
        ("", "the turn to rewind to is empty"),
        (None, "the turn to rewind to is empty"),
        ("two", "must be a whole number from 1 to 15, not 'two'"),
        ("-1", "must be at least 1; -1 is not"),
        ("0", "must be at least 1"),
        ("1.5", "not '1.5'"),
        ("٢", "not '٢'"),
        ("<script>alert(1)</script>", "not '<script>alert(1)</script>'"),
        ("9" * 5000, "must be a whole number from 1 to 15, not '9999"),
        ("9" * 40, "far too large"),
        ("16", "must be at most 15"),
        ("3", "cannot rewind to turn 3: pick a turn played, from 1 to 2"),
        ("15", "cannot rewind to turn 15: pick a turn played, from 1 to 2"),
    ]
    for typed, expected in cases:
        said = s.rewind(typed)
        assert said.startswith("refused: ") and expected in said, (typed, said)
        assert "\n" not in said and len(said) < 200 and s.ok is False
        assert s.run_folder == folder and s.wood.turn == 2 and not s.game.done
    with s.busy:  # as while a turn runs
        assert "a turn is running" in s.rewind("1")
    assert s.step().startswith("turn 3 is done")
    sessions.close("a")
    assert "closed" in s.rewind("1")
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no branch was made
    assert replay(folder).ok


def test_a_season_played_out_can_be_rewound(tmp_path):
    sessions = Sessions(cap=1, runs=tmp_path / "runs")
    try:
        s = sessions.seat("a")
        while not s.game.over:
            s.step()
        assert "season is over" in s.step()
        assert s.rewind("15").startswith("rewound to turn 15")
        assert s.wood.turn == 14 and s.step().startswith("turn 15 is done. The season is over")
        assert replay(s.run_folder).passed
    finally:
        sessions.close_all()
