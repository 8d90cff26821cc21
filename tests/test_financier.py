"""The financier: validated commands, margin rules, conservation, sentiment."""

from __future__ import annotations

import pytest
from bookkit import SQUEEZE, random_script
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from woodmarket.build import build
from woodmarket.errors import WoodmarketError
from woodmarket.financier import (
    FALSE_RUMOR,
    INITIAL_MARGIN_PCT,
    MAINTENANCE_PCT,
    Financier,
    ceil_pct,
)
from woodmarket.ledger import HOUSE
from woodmarket.scenario import bundled_scenarios, load_scenario, parse_scenario
from woodmarket.spec import RunSpec
from woodmarket.wood import Wood

SQUEEZED = {
    (good, factor): f"sq_{good}_{factor.replace('.', '_')}"
    for good in ("honey", "firewood", "acorns")
    for factor in ("0.5", "1.5", "2", "3")
}


@pytest.fixture(scope="module")
def scenario():
    """Oona's Wood with legends that multiply a good's reference at the same turn's settlement."""
    oona = load_scenario("oona")
    extra = "".join(
        SQUEEZE.format(id=lid, good=good, factor=factor, delay=0)
        for (good, factor), lid in SQUEEZED.items()
    )
    return parse_scenario(oona.text + extra, oona.path, oona.files)


@pytest.fixture(scope="module")
def squeezes():
    return SQUEEZED


def _fin(scenario, seed=0, script=None):
    wood = Wood(scenario, seed)
    return wood, Financier.attach(wood, script=script)


def test_accounts_open_and_pebbles_are_conserved_with_the_house(scenario):
    wood, fin = _fin(scenario)
    start = wood.ledger.start_pebbles
    assert fin.pebbles == scenario.financier.pebbles
    assert wood.ledger.accounts[HOUSE].pebbles == 0
    assert start == sum(c.pebbles for c in scenario.creatures) + scenario.financier.pebbles
    with pytest.raises(WoodmarketError, match="already has a financier"):
        Financier.attach(wood)


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("short hony 3", "unknown good 'hony'; goods are acorns"),
        ("short honey x", "quantity must be a whole number >= 1, got 'x'"),
        ("short honey 500", "not enough margin: short 500 honey at 10 needs 2500 pebbles"),
        ("cover honey", "nothing to cover: no short in honey"),
        ("whisper Oon hello", "unknown creature 'Oon'; creatures are Oona"),
        ("whisper Oona oona_run.9", "no tip 'oona_run.9'"),
        ("whisper Oona 999", "no tip number 999"),
        ("order buy honey 2 99", "price 99 outside the band 3..30 for honey"),
        ("order sell honey 2 10", "not enough honey: sells 2, has 0 unreserved"),
        ("order buy honey 11 5", "quantity 11 above the limit of 10"),
        ("order hold honey 1 5", "usage: order buy|sell GOOD QTY PRICE"),
        ("spring nothing", "unknown legend 'nothing'"),
        ("steal honey", "unknown command 'steal honey'"),
    ],
)
def test_every_command_is_validated_with_a_clear_message(scenario, command, message):
    wood, fin = _fin(scenario)
    before = (fin.pebbles, dict(fin.positions), list(wood.outside_orders))
    out = fin.submit(command)
    assert not out.ok
    assert message in out.message
    assert (fin.pebbles, dict(fin.positions), list(wood.outside_orders)) == before
    # Refused commands are on the record too, with the coming turn's number.
    t = wood.step()
    (rec,) = [r for r in t.records if r["kind"] == "financier"]
    assert rec == {
        "turn": 1,
        "kind": "financier",
        "source": "player",
        "command": command,
        "ok": False,
        "outcome": out.message,
    }


def test_initial_margin_counts_open_shorts_and_pending_buys(scenario):
    _wood, fin = _fin(scenario)
    assert fin.submit("short honey 8").ok  # 40 of initial margin at 10
    assert fin.free_pebbles() == 100 - 40
    assert fin.submit("order buy acorns 5 4").ok  # reserves 20
    assert fin.free_pebbles() == 40
    assert not fin.submit("short firewood 17").ok  # needs ceil(85 / 2) = 43
    assert fin.submit("short firewood 16").ok  # needs 40
    assert fin.free_pebbles() == 0
    again = fin.submit("short honey 2")
    assert not again.ok and "a short of honey is already queued" in again.message
    self_trade = fin.submit("order sell acorns 1 4")
    assert not self_trade.ok and "self-trade" in self_trade.message


def test_variation_margin_pays_each_mark_and_cover_realizes(scenario):
    wood, fin = _fin(scenario, seed=5)
    fin.submit("short honey 8")
    house = wood.ledger.accounts[HOUSE]
    last = 10
    for _ in range(4):
        wood.step()
        p = fin.positions["honey"]
        assert p.mark == fin.mark("honey")  # the good's mark (tests/test_marks.py: its rule)
        assert p.pnl == 8 * (10 - p.mark)
        assert fin.pebbles == 100 + p.pnl
        assert house.pebbles == -p.pnl
        last = p.mark
    out = fin.submit("cover honey")
    assert out.ok and f"covered 8 honey at {last}" in out.message
    assert fin.positions  # queued: the cover is made when the next turn begins
    t = wood.step()
    (made,) = [r for r in t.records if r["kind"] == "financier"]
    assert made["ok"] and made["outcome"] == out.message
    assert not fin.positions and fin.realized() == 8 * (10 - last)
    assert wood.ledger.total_pebbles() == wood.ledger.start_pebbles


def _spring_and_short(scenario, squeezes, qty, factor):
    script = {1: [f"short firewood {qty}", f"spring {squeezes[('firewood', factor)]}"]}
    wood, fin = _fin(scenario, script=script)
    t = wood.step()
    return wood, fin, t


def test_a_short_that_runs_against_the_financier_is_force_covered(scenario, squeezes):
    # Firewood 5 -> 10 at settlement: 16 short lose 80, leaving 20 < 25% of 160 = 40.
    wood, fin, t = _spring_and_short(scenario, squeezes, 16, "2")
    assert wood.prices["firewood"] == 10
    assert not fin.positions
    (forced,) = [r for r in t.records if r["kind"] == "financier" and r["source"] == "margin"]
    assert forced["command"] == "cover firewood"
    assert "forced cover: 20 pebbles below maintenance 40" in forced["outcome"]
    assert fin.pebbles == 20 and fin.closed[-1].forced and fin.shortfall == 0
    assert wood.ledger.accounts[HOUSE].pebbles == 80


def test_a_short_above_maintenance_stays_open(scenario, squeezes):
    # 12 short lose 60, leaving 40 >= 25% of 120 = 30.
    _wood, fin, t = _spring_and_short(scenario, squeezes, 12, "2")
    assert fin.positions["firewood"].pnl == -60
    assert fin.pebbles == 40 >= fin.maintenance() == 30
    assert not [r for r in t.records if r.get("source") == "margin"]


def test_a_loss_beyond_the_collateral_stops_at_zero(scenario, squeezes):
    # 40 short at 5 (margin 100), then x3: a loss of 400 against 100 pebbles.
    wood, fin, _ = _spring_and_short(scenario, squeezes, 40, "3")
    assert fin.pebbles == 0 and not fin.positions
    assert fin.shortfall == 300
    assert wood.ledger.accounts[HOUSE].pebbles == 100
    assert wood.ledger.total_pebbles() == wood.ledger.start_pebbles


_COMMAND = st.one_of(
    st.builds(
        lambda g, q: f"short {g} {q}",
        st.sampled_from(["honey", "firewood", "acorns"]),
        st.integers(1, 40),
    ),
    st.builds(lambda g: f"cover {g}", st.sampled_from(["honey", "firewood", "acorns"])),
    st.builds(
        lambda s, g, q, p: f"order {s} {g} {q} {p}",
        st.sampled_from(["buy", "sell"]),
        st.sampled_from(["honey", "firewood", "acorns"]),
        st.integers(1, 10),
        st.integers(2, 15),
    ),
    st.builds(
        lambda g, f: ("spring", g, f),
        st.sampled_from(["honey", "firewood", "acorns"]),
        st.sampled_from(["0.5", "1.5", "2", "3"]),
    ),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 50),
    moves=st.lists(st.tuples(st.integers(1, 8), _COMMAND), max_size=10),
)
def test_equity_stays_within_the_rules_and_pebbles_are_conserved(scenario, squeezes, seed, moves):
    script: dict[int, list[str]] = {}
    for turn, cmd in moves:
        if isinstance(cmd, tuple):
            cmd = f"spring {squeezes[(cmd[1], cmd[2])]}"
        script.setdefault(turn, []).append(cmd)
    wood, fin = _fin(scenario, seed, script)
    house = wood.ledger.accounts[HOUSE]
    for _ in range(8):
        wood.step()  # the ledger checks conservation and no overdraw every turn
        assert wood.ledger.total_pebbles() == wood.ledger.start_pebbles
        assert fin.pebbles >= 0
        assert not fin.positions or fin.pebbles >= fin.maintenance()
        # Every pebble the house holds is a short's P&L, paid at a mark.
        open_pnl = sum(p.pnl for p in fin.positions.values())
        assert house.pebbles == -(fin.realized() + open_pnl)
        for p in fin.positions.values():
            assert p.mark == fin.mark(p.good)  # marked at every settlement, at the good's mark


def test_margin_rules_round_up_in_the_houses_favour():
    assert ceil_pct(85, INITIAL_MARGIN_PCT) == 43
    assert ceil_pct(90, MAINTENANCE_PCT) == 23
    assert ceil_pct(80, MAINTENANCE_PCT) == 20


def test_tips_are_true_facts_and_the_truth_stays_in_the_ledger(scenario):
    wood, fin = _fin(scenario)
    tips = fin.tips("honey")
    texts = [t.text for t in tips]
    assert "Oona is the only creature who makes honey." in texts
    assert "Oona holds 12 of the 14 honey in the wood." in texts
    assert fin.submit("whisper Oona oona_run").ok
    assert fin.submit("whisper Pip honey will soar").ok
    wood.step()
    tip, rumor = fin.whispered
    assert (tip.true, rumor.true) == (True, None)
    obs = wood.memory.whispers  # delivered this turn
    assert obs["Oona"] == [
        'the financier whispers: "Oona has promised honey to more creatures than her vault '
        'can pay at once."'
    ]
    # A rumor reads exactly as a tip does: the truth stays in the ledger.
    assert obs["Pip"] == ['the financier whispers: "honey will soar"']


def test_a_hostile_creature_refuses_whispers(scenario):
    wood, fin = _fin(scenario)
    wood.memory.feel("Mossback", "financier", -45)
    out = fin.submit("whisper Mossback acorn_mania")
    assert not out.ok
    assert "Mossback resents you and will not listen" in out.message
    t = wood.step()
    assert t.observations["Mossback"].whispers == ()
    assert fin.whispered == []
    # Just above the line, the same whisper goes through.
    wood.memory.feel("Rusk", "financier", -39)
    assert fin.submit("whisper Rusk acorn_mania").ok
    assert wood.step().observations["Rusk"].whispers


def test_a_rumor_that_proved_false_makes_the_creature_colder(scenario):
    script = {1: ["short honey 8", "spring oona_run", "whisper Rusk honey will soar"]}
    wood, fin = _fin(scenario, seed=2, script=script)
    records = [r for _ in range(3) for r in wood.step().records if r["kind"] == "sentiment"]
    rumor = fin.whispered[-1]
    assert rumor.verdict == "proved false"
    rusk = [r for r in records if r["holder"] == "Rusk"]
    assert {"turn": 3, "delta": FALSE_RUMOR, "why": "false rumor"}.items() <= rusk[-1].items()
    # Rusk never traded with the financier: his feeling is exactly what the book did to him.
    assert wood.memory.score("Rusk", "financier") == sum(r["delta"] for r in rusk)


def test_the_objective_and_rank_follow_the_book(scenario):
    wood, fin = _fin(scenario, seed=1, script={1: ["short honey 8", "spring oona_run"]})
    assert fin.objective().startswith("objective: 140 pebbles by turn 12")
    for _ in range(2):
        wood.step()
    assert fin.pebbles >= 140 and fin.met_turn == 2
    assert "objective met" in fin.objective()
    rank, of = fin.rank()
    assert of == len(wood.names) + 1
    assert rank == 1 + sum(wood.wealth(n) > fin.worth() for n in wood.names)


# -- every bundled scenario -------------------------------------------------


def _wood(key, seed=0, script=None):
    wood = Wood(load_scenario(key), seed)
    return wood, Financier.attach(wood, script=script)


def test_moves_are_checked_against_the_wood_being_played(scenario_key):
    wood, fin = _wood(scenario_key)
    goods, names = wood.goods, wood.names
    out = fin.submit("short nothing 3")
    assert not out.ok and out.message == f"unknown good 'nothing'; goods are {', '.join(goods)}"
    out = fin.submit("whisper Nobody psst")
    assert not out.ok and f"creatures are {', '.join(names)}" in out.message
    showcase = wood.scenario.gambit("showcase")
    for move in wood.scenario.first_trade:
        assert fin.submit(move).ok, move
    state = wood.step()
    made = [r for r in state.records if r["kind"] == "financier" and r["source"] == "player"]
    assert [r["ok"] for r in made] == [False, False, True, True]
    assert showcase.target in fin.positions


def test_tips_are_facts_of_this_wood_only(scenario_key):
    wood, fin = _wood(scenario_key)
    own = {text for lg in wood.scenario.legends for text in lg.tips}
    others = {
        text
        for key in bundled_scenarios()
        if key != scenario_key
        for lg in load_scenario(key).legends
        for text in lg.tips
    }
    texts = {t.text for t in fin.tips()}
    assert own <= texts and not texts & others
    state_facts = [t for t in fin.tips() if t.key.startswith("state.")]
    assert state_facts and all(t.key.split(".")[1] in wood.goods for t in state_facts)


def test_the_showcase_settles_into_profit_and_the_house_pays_it(scenario_key):
    spec_wood = build(RunSpec.make(scenario_key, seed=1, gambit="showcase", mechanism="settle"))
    fin = spec_wood.financier
    g = spec_wood.scenario.gambit("showcase")
    for _ in range(g.reckoning + 1):
        spec_wood.step()
    assert fin.pnl() > 0
    house = spec_wood.ledger.accounts[HOUSE]
    assert house.pebbles == -(fin.realized() + sum(p.pnl for p in fin.positions.values()))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), seed=st.integers(0, 30))
def test_random_books_conserve_pebbles_in_every_scenario(data, seed):
    key = data.draw(st.sampled_from(bundled_scenarios()))
    sc = load_scenario(key)
    script = random_script(data, sc)
    wood = Wood(sc, seed)
    fin = Financier.attach(wood, script=script)
    house = wood.ledger.accounts[HOUSE]
    for _ in range(6):
        wood.step()
        assert wood.ledger.total_pebbles() == wood.ledger.start_pebbles
        assert fin.pebbles >= 0
        assert house.pebbles == -(fin.realized() + sum(p.pnl for p in fin.positions.values()))
