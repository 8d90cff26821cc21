"""The magistrate: heat on wins that follow the financier's own levers, fines, freezes, stakes.

The rule is the scenario's `[magistrate]` table; these tests read it back
from the records against scripted gambits, on every bundled scenario and
both of its difficulty levels.
"""

from __future__ import annotations

import re

import pytest
from bookkit import SQUEEZE

from woodmarket.build import build
from woodmarket.financier import Financier
from woodmarket.financier.magistrate import PURSE, ceil_pct
from woodmarket.play import Game
from woodmarket.scenario import load_scenario, parse_scenario
from woodmarket.spec import RunSpec
from woodmarket.wood import Wood


def _scenario(key, magistrate=None, financier=None, squeezes=()):
    """A bundled scenario with some [magistrate]/[financier] values changed and extra legends."""
    sc = load_scenario(key)
    text = sc.text
    for table, values in (("magistrate", magistrate or {}), ("financier", financier or {})):
        for k, v in values.items():
            head = f"[{table}]\n"
            body = text.split(head, 1)[1]
            if re.search(rf"^{k} = ", body, re.M):
                new = re.sub(rf"^{k} = \d+", f"{k} = {v}", body, count=1, flags=re.M)
            else:
                new = f"{k} = {v}\n" + body
            text = text.split(head, 1)[0] + head + new
    target = sc.gambit("showcase").target
    for sid, factor, delay in squeezes:
        text += SQUEEZE.format(id=sid, good=target, factor=factor, delay=delay)
    return parse_scenario(text, sc.path, sc.files), target


def _play(scenario, script, turns, seed=0):
    wood = Wood(scenario, seed)
    fin = Financier.attach(wood, script=script)
    records = []
    for _ in range(turns):
        records += wood.step().records
    return wood, fin, records


def _kind(records, kind, event=None):
    return [r for r in records if r["kind"] == kind and (event is None or r["event"] == event)]


def _expected_heat(spec, records):
    """Replay the rule over the `heat` records: cool first, then each win's levers."""
    pct = {"spring": spec.spring_pct, "whisper": spec.whisper_pct, "bribe": spec.bribe_pct}
    heat = 0
    for r in _kind(records, "magistrate", "heat"):
        assert r["before"] == heat
        heat = max(0, heat - spec.cool)
        for w in r["wins"]:
            assert w["heat"] == sum(ceil_pct(w["win"], pct[k]) for k in w["levers"])
            heat += w["heat"]
        assert r["heat"] == heat
    return heat


def test_the_showcase_under_settle_draws_heat_by_the_rule(scenario_key):
    scenario = load_scenario(scenario_key)
    gambit = scenario.gambit("showcase")
    _, _, records = _play(scenario, gambit.script("settle"), 8)
    heats = _kind(records, "magistrate", "heat")
    drawn = [w for r in heats for w in r["wins"]]
    assert drawn and all(w["good"] == gambit.target for w in drawn)
    assert all(w["levers"] == ["spring", "whisper"] for w in drawn)
    _expected_heat(scenario.magistrate, records)
    peak = max(r["heat"] for r in heats)
    assert 0 < peak < scenario.magistrate.fine_at  # heat, but no fine at the normal level
    assert not _kind(records, "magistrate", "fined")
    # Heat cools at every settlement once the wins stop.
    tail = [r["heat"] for r in heats if r["turn"] > gambit.reckoning]
    assert tail == sorted(tail, reverse=True) and tail[-1] < peak


def test_a_win_long_after_its_lever_draws_no_heat(scenario_key):
    scenario, target = _scenario(scenario_key, squeezes=[("sq_late", "0.5", 5)])
    assert scenario.magistrate.window < 5
    _, _, records = _play(scenario, {1: [f"short {target} 6", "spring sq_late"]}, 7)
    (landed,) = [r for r in records if r["kind"] == "legend" and r["event"] == "settled"]
    assert landed["turn"] == 6 and landed["reference"] < landed["cleared"]
    late = [r for r in _kind(records, "magistrate", "heat") if r["turn"] >= 6]
    assert all(not r["wins"] for r in late)


def test_repeated_insider_wins_are_fined(scenario_key):
    squeezes = [("sq_a", "0.5", 0), ("sq_b", "0.5", 0)]
    once, target = _scenario(scenario_key, {"cool": 0}, squeezes=squeezes)
    _, fin, _ = _play(once, {1: [f"short {target} 6", "spring sq_a"]}, 3)
    first = fin.heat
    assert first > 0 and fin.judge.fined == 0
    strict, _ = _scenario(scenario_key, {"cool": 0, "fine_at": first + 1}, squeezes=squeezes)
    script = {1: [f"short {target} 6", "spring sq_a"], 2: ["spring sq_b"]}
    wood, fin, records = _play(strict, script, 4)
    heats = _kind(records, "magistrate", "heat")
    (fine,) = _kind(records, "magistrate", "fined")
    assert [r["turn"] for r in heats if r["wins"]] == [1, 2] and fine["turn"] == 2
    second = next(r for r in heats if r["turn"] == 2)
    win = sum(w["win"] for w in second["wins"])
    assert fine["fine"] == min(ceil_pct(win, strict.magistrate.fine_pct), fine["fine"])
    assert fine["asked"] == ceil_pct(win, strict.magistrate.fine_pct)
    # The fine is pebbles into the public purse, through the ledger.
    assert wood.ledger.accounts[PURSE].pebbles == fin.judge.fined == fine["fine"]
    assert wood.ledger.total_pebbles() == wood.ledger.start_pebbles
    fined_line = [h for h in wood.headlines if "fines the financier" in h]
    assert fined_line and str(fine["fine"]) in fined_line[0]


def test_a_freeze_refuses_commands_with_the_turns_left_while_marks_and_forced_covers_run(
    scenario_key,
):
    squeezes = [("sq_down", "0.5", 0), ("sq_up", "3", 2)]
    scenario, target = _scenario(
        scenario_key, {"freeze_at": 1, "freeze_turns": 3, "fine_at": 0}, squeezes=squeezes
    )
    script = {1: [f"short {target} 8", "spring sq_down", "spring sq_up"], 2: [f"cover {target}"]}
    wood = Wood(scenario, 0)
    fin = Financier.attach(wood, script=script)
    t1 = wood.step()
    (frozen,) = _kind(t1.records, "magistrate", "frozen")
    assert frozen["until"] == 4 and fin.judge.frozen(2) == 3
    out = fin.submit(f"order buy {wood.goods[0]} 1 {wood.prices[wood.goods[0]]}")
    assert not out.ok and "frozen your account: 3 more turns" in out.message
    t2 = wood.step()
    refused = [r for r in t2.records if r["kind"] == "financier"]
    assert [r["ok"] for r in refused] == [False, False]  # the player's line, the gambit's cover
    left = fin.judge.frozen(3)
    assert left >= 2 and f"{left} more turns" in fin.submit("cover " + target).message
    # The squeeze up lands: the short is force-covered though the account is frozen.
    t3 = wood.step()
    forced = [r for r in t3.records if r["kind"] == "financier" and r["source"] == "margin"]
    assert forced and forced[0]["command"] == f"cover {target}"
    assert target not in fin.positions
    a, b = wood.names[:2]
    while fin.judge.frozen(wood.turn + 1):
        assert "more turn" in fin.submit(f"ally {a} {b}").message
        wood.step()
    assert fin.submit(f"ally {a} {b}").ok  # thawed once its turns are over


def test_heat_past_the_limit_loses_the_season(scenario_key):
    scenario, _ = _scenario(scenario_key, financier={"heat_limit": 5})
    gambit = scenario.gambit("showcase")
    wood, fin, records = _play(scenario, gambit.script("settle"), 5)
    (lost,) = _kind(records, "magistrate", "lost")
    assert "heat reached" in lost["why"] and fin.lost
    assert fin.objective().startswith("season lost: the magistrate's heat reached")
    assert fin.met_turn is None
    out = fin.submit("cover " + gambit.target)
    assert not out.ok and "the season is lost" in out.message
    assert any("bars the financier" in h for h in wood.headlines)


def test_bankruptcy_loses_the_season(scenario_key):
    scenario, _ = _scenario(scenario_key, financier={"bankrupt_below": 101})
    bribe = f"bribe {scenario.creature_names[0]} 2 hold {scenario.good_names[0]}"
    _, fin, records = _play(scenario, {1: [bribe]}, 1)
    (lost,) = _kind(records, "magistrate", "lost")
    assert lost["why"].startswith("bankrupt: worth") and fin.objective().startswith("season lost")


@pytest.mark.parametrize("seed", range(4))
def test_the_showcase_alone_no_longer_wins_the_hard_level(scenario_key, seed):
    hard = load_scenario(f"{scenario_key}:hard")
    assert hard.level == "hard" and hard.key == f"{scenario_key}:hard"
    gambit = hard.gambit("showcase")
    _, fin, records = _play(hard, gambit.script("settle"), hard.financier.objective_turn, seed)
    assert _kind(records, "magistrate", "fined")
    assert fin.met_turn is None and "objective missed" in fin.objective()


def test_the_showcase_still_meets_oonas_normal_objective():
    oona = load_scenario("oona")
    _, fin, records = _play(oona, oona.gambit("showcase").script("settle"), 12)
    assert fin.met_turn == 3 and not _kind(records, "magistrate", "fined")


def test_the_magistrates_headlines_never_name_a_bribes_recipient(scenario_key):
    scenario, target = _scenario(scenario_key, {"fine_at": 1, "freeze_at": 2})
    gambit = scenario.gambit("patron")
    wood, fin, records = _play(scenario, gambit.script("settle"), 6)
    assert fin.judge.fined > 0
    assert any(
        "bribe" in r["levers"] for r in _kind(records, "magistrate", "heat") for r in r["wins"]
    )
    rulings = [h for h in wood.headlines if "magistrate" in h]
    assert rulings
    names = set(scenario.creature_names)
    for line in rulings:
        for part in line.split("; "):
            if "magistrate" in part:
                assert not [n for n in names if n in part], part
                assert target not in part and "sell" not in part


def test_heat_is_on_the_scoreboard(tmp_path, scenario_key):
    spec = RunSpec.make(f"{scenario_key}:hard", seed=0, turns=6, financier=True)
    wood = build(spec)
    game = Game(wood, 6)
    for line in wood.scenario.first_trade:
        game.handle(line)
    game.handle("next")
    target = wood.scenario.gambit("showcase")
    game.handle(f"spring {target.legend.id}")
    game.handle("next")
    board = game.handle("next")
    assert "magistrate's heat" in board and "fined" in board
    assert re.search(r"magistrate's heat \d+ \(fines at \d+", board)
