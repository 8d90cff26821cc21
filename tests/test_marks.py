"""The mark rule: a good's mark moves toward its reference by at most a stated step a settlement.

Shorts are marked, margined, force-covered and covered at the mark, so a
single thin trade cannot swing what they pay; an authored settlement (a
`settle` legend) lands in full; the magistrate judges the mark's gains. The
rule is the scenario's `[market] mark_step_pct`; a scenario without it marks
at the reference, as every recorded run did. Tested on both bundled
scenarios, and on the squeeze game of `tests/data/squeeze-oona-council-seed0`
(its creatures' recorded decisions and the player's recorded moves) replayed
under the rule.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from bookkit import SQUEEZE, random_script
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from woodmarket.build import build
from woodmarket.errors import ScenarioError
from woodmarket.financier import Financier, recorded_moves
from woodmarket.ledger import HOUSE
from woodmarket.policies.replay import replay_policies
from woodmarket.recap import explain
from woodmarket.rules import INITIAL_MARGIN_PCT, ceil_pct, next_mark
from woodmarket.scenario import MarketRules, bundled_scenarios, load_scenario, parse_scenario
from woodmarket.spec import RunSpec, by_turn
from woodmarket.traces import read_trace
from woodmarket.types import Action, FunctionPolicy, Observation, Order
from woodmarket.wood import Wood

GAME = Path(__file__).parent / "data" / "squeeze-oona-council-seed0"
STEP = 20  # the step the bundled scenarios state, `mark_step_pct`
RULE_LINE = re.compile(r"^mark_step_pct = \d+.*\n", re.M)


def _with_rule(text: str, pct: int | None) -> str:
    """A scenario's text with `[market] mark_step_pct` set to `pct`, or without it (None)."""
    text = RULE_LINE.sub("", text)
    if pct is None:
        return text
    return text.replace("[market]\n", f"[market]\nmark_step_pct = {pct}\n", 1)


def _scenario(key: str, pct: int | None = STEP):
    sc = load_scenario(key)
    return parse_scenario(_with_rule(sc.text, pct), sc.path, sc.files)


def _step(wood, turns):
    records = []
    for _ in range(turns):
        records += wood.step().records
    return records


def _kind(records, kind, turn=None, **match):
    return [
        r
        for r in records
        if r["kind"] == kind
        and (turn is None or r["turn"] == turn)
        and all(r.get(k) == v for k, v in match.items())
    ]


# -- the rule ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last", "reference", "pct", "expected"),
    [
        (9, 20, 20, 10),  # the squeeze game's turn 3: one honey at 20 moves the mark one pebble
        (10, 30, 20, 12),
        (10, 5, 20, 8),
        (10, 11, 20, 11),  # within a step: the reference itself
        (4, 1, 20, 3),  # a step is at least one pebble
        (100, 1, 20, 80),
        (7, 7, 20, 7),
        (9, 20, 0, 20),  # no rule: the reference
        (9, 20, 100, 18),
    ],
)
def test_the_mark_moves_at_most_a_step_toward_the_reference(last, reference, pct, expected):
    assert next_mark(last, reference, pct) == expected


@given(last=st.integers(1, 100_000), reference=st.integers(1, 100_000), pct=st.integers(1, 100))
def test_a_mark_moves_toward_its_reference_and_reaches_one_that_stands(last, reference, pct):
    step = max(1, last * pct // 100)
    new = next_mark(last, reference, pct)
    assert min(last, reference) <= new <= max(last, reference)
    assert abs(new - last) <= step
    assert (new == reference) == (abs(reference - last) <= step)
    mark, moves = last, 0
    while mark != reference:  # every settlement moves it at least one pebble closer
        mark, moves = next_mark(mark, reference, pct), moves + 1
    assert moves <= abs(reference - last)


# -- the rule as scenario data -------------------------------------------------


@pytest.mark.parametrize("key", ["oona", "oona:hard", "reedmere", "reedmere:hard"])
def test_the_bundled_scenarios_state_the_rule(key):
    scenario = load_scenario(key)
    assert scenario.market.mark_step_pct == STEP
    _settles_in_full(scenario)  # every level as it ships


@pytest.mark.parametrize("key", bundled_scenarios())
def test_a_scenario_without_the_key_marks_at_the_reference(key):
    assert MarketRules().mark_step_pct == 0
    assert _scenario(key, None).market.mark_step_pct == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("101", "at most 100 (the limit), got 101"),
        ("-1", "expected a whole number >= 0, got -1"),
        ('"20"', "expected a whole number, got str"),
        ("2.5", "expected a whole number, got float"),
        ("true", "expected a whole number, got bool"),
    ],
)
def test_a_bad_mark_rule_is_refused_with_the_file_and_key(scenario_key, value, expected):
    sc = load_scenario(scenario_key)
    text = _with_rule(sc.text, 0).replace("mark_step_pct = 0", f"mark_step_pct = {value}")
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text, "broken.toml", sc.files)
    assert err.value.key == "market.mark_step_pct"
    assert str(err.value) == f"broken.toml: key 'market.mark_step_pct': {expected}"


def _copy(source, folder: Path, text: str) -> Path:
    folder.mkdir()
    for ref, body in source.files.items():
        (folder / ref).parent.mkdir(parents=True, exist_ok=True)
        (folder / ref).write_text(body, encoding="utf-8")
    path = folder / "wood.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_check_accepts_the_rule_and_refuses_a_bad_one(tmp_path, capsys, scenario_key):
    from woodmarket.cli import main

    source = load_scenario(scenario_key)
    good = _copy(source, tmp_path / "good", _with_rule(source.text, 35))
    assert main(["check", str(good)]) == 0
    assert capsys.readouterr().out.startswith(f"{good}: ok (scenario ")
    assert load_scenario(good).market.mark_step_pct == 35
    bad = _copy(source, tmp_path / "bad", _with_rule(source.text, 250))
    assert main(["check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"woodmarket: error: {bad}: key 'market.mark_step_pct': at most 100 (the limit), got 250\n"
    )


# -- the squeeze game, replayed under the rule ----------------------------------


def _the_game(pct: int | None):
    """The recorded game rebuilt: its creatures' decisions and the player's moves, as recorded.

    `pct` None keeps the game's own scenario text (it states no rule);
    otherwise that text with `[market] mark_step_pct = pct`.
    """
    records = list(read_trace(GAME))
    spec = RunSpec.from_dict(json.loads((GAME / "run.json").read_text(encoding="utf-8")))
    text = spec.scenario_text if pct is None else _with_rule(spec.scenario_text, pct)
    spec = dataclasses.replace(spec, scenario_text=text, moves=by_turn(recorded_moves(records)))
    names = [c.name for c in spec.load_scenario().creatures]
    wood = build(spec, policies=replay_policies(records, names))
    turns = json.loads((GAME / "summary.json").read_text(encoding="utf-8"))["turns"]
    return records, wood, _step(wood, turns)


def _market(records):
    """The creatures' market: every order, fill and price, as recorded."""
    return [r for r in records if r["kind"] in ("order", "fill", "price")]


def test_the_game_as_recorded_is_force_covered_on_the_thin_print():
    recorded, _wood, again = _the_game(None)
    (forced,) = _kind(again, "financier", source="margin")
    assert forced == _kind(recorded, "financier", source="margin")[0]
    assert forced["turn"] == 3
    assert "covered 8 honey at 20, P&L -80" in forced["outcome"]
    assert not any("marks" in r for r in _kind(again, "book"))  # no rule, no marks recorded


def test_under_the_rule_the_games_thin_print_forces_no_cover():
    recorded, wood, again = _the_game(STEP)
    fin = Financier.of(wood)
    # The creatures played exactly the recorded game: the same orders, fills and prices.
    assert _market(again) == _market(recorded)
    (print_,) = _kind(again, "fill", 3, good="honey")
    assert (print_["qty"], print_["price"]) == (1, 20)
    assert _kind(again, "price", 3, good="honey")[0]["reference"] == 20  # the residue
    assert not _kind(again, "financier", source="margin")
    # Turn 3: one honey at 20 moves honey's mark one step, 9 -> 10 (a fifth of 9, rounded
    # down, at least 1): the short pays 8, keeps 100 pebbles, and maintenance is 20.
    (book3,) = _kind(again, "book", 3)
    assert book3["marks"]["honey"] == 10 and book3["positions"][0]["mark"] == 10
    assert (book3["pebbles"], book3["maintenance"]) == (100, 20)
    # Turn 4: the Run on Oona's Hoard settles honey at 4, and the mark lands there in full.
    (settled,) = _kind(again, "legend", 4, event="settled")
    (book4,) = _kind(again, "book", 4)
    assert settled["reference"] == 4 == book4["marks"]["honey"] == book4["positions"][0]["mark"]
    # The magistrate judges the mark's gain, 8 x (10 - 4): behind it the spring and the whisper.
    (heat,) = _kind(again, "magistrate", 4, event="heat")
    assert heat["wins"] == [
        {"good": "honey", "win": 48, "levers": ["spring", "whisper"], "heat": 24 + 12}
    ]
    assert book4["pebbles"] == 148 and fin.met_turn == 4
    assert fin.positions["honey"].pnl == 8 * (10 - wood.prices["honey"])


# -- tapes: creatures that print one unit of a good at a price each turn --------


def _tape(scenario, good, price_of):
    """Policies by which the keeper of `good` sells one unit each turn, at `price_of(turn,
    reference)`, to each other creature in turn, richest first (None: nobody trades)."""
    keeper = max(scenario.creatures, key=lambda c: (c.stores.get(good, 0), c.name)).name
    buyers = [c.name for c in sorted(scenario.creatures, key=lambda c: -c.pebbles)]
    buyers.remove(keeper)

    def seat(name):
        def decide(obs: Observation) -> Action:
            price = price_of(obs.turn, obs.prices[good])
            if price is None:
                return Action()
            if name == keeper:
                return Action(orders=(Order(name, "sell", good, 1, price),))
            if name == buyers[(obs.turn - 1) % len(buyers)]:
                return Action(orders=(Order(name, "buy", good, 1, price),))
            return Action()

        return FunctionPolicy(decide)

    return {c.name: seat(c.name) for c in scenario.creatures}


def _full_short(scenario, good):
    """The largest short of `good` the financier's bankroll margins at the start."""
    price, pebbles = scenario.good(good).price, scenario.financier.pebbles
    return max(
        q for q in range(1, 10 * pebbles) if ceil_pct(q * price, INITIAL_MARGIN_PCT) <= pebbles
    )


@pytest.mark.parametrize("key", bundled_scenarios())
def test_one_thin_print_cannot_force_a_fully_margined_short(key):
    sc = _scenario(key)
    good = sc.gambit("showcase").target
    qty, band = _full_short(sc, good), sc.market.band
    top = {1: sc.good(good).price * band}  # one unit at the top of the band, then nothing

    def run(scenario):
        wood = Wood(scenario, 0, _tape(scenario, good, lambda t, ref: top.get(t)))
        fin = Financier.attach(wood, script={1: [f"short {good} {qty}"]})
        return wood, fin, _step(wood, 1)

    wood, fin, records = run(sc)
    price = sc.good(good).price
    assert wood.prices[good] == price * band  # the print is the reference
    assert not _kind(records, "financier", source="margin")
    mark = next_mark(price, price * band, STEP)
    assert fin.book.marks[good] == fin.positions[good].mark == mark < wood.prices[good]
    assert fin.pebbles == sc.financier.pebbles - qty * (mark - price) >= fin.maintenance()
    # The reference is shown beside the mark a cover would pay.
    out = fin.submit(f"cover {good}")
    assert out.ok and f"at {mark} (the mark; the reference is {price * band})" in out.message
    # Without the rule the same print is the mark, and the short is force-covered at it.
    _wood, bare, records = run(_scenario(key, None))
    (forced,) = _kind(records, "financier", source="margin")
    assert f"covered {qty} {good} at {price * band}," in forced["outcome"]
    assert not bare.positions


@pytest.mark.parametrize("key", bundled_scenarios())
def test_a_sustained_rise_forces_the_cover_at_the_mark(key):
    sc = _scenario(key)
    good = sc.gambit("showcase").target
    opening = sc.first_trade[0]  # the first trade's short
    assert opening.startswith(f"short {good} ")
    qty = int(opening.split()[-1])
    wood = Wood(sc, 0, _tape(sc, good, lambda t, ref: ref + max(1, ref // 4)))  # +25% a turn
    fin = Financier.attach(wood, script={1: [opening]})
    entry, last, forced, seen = sc.good(good).price, sc.good(good).price, [], []
    while not forced:
        assert wood.turn < 12, "a rise of a quarter a turn must force the cover"
        records = wood.step().records
        seen.extend(records)
        reference = wood.prices[good]
        mark = next_mark(last, reference, STEP)
        assert fin.book.marks[good] == mark <= reference  # the mark follows, at most a step
        forced = _kind(records, "financier", source="margin")
        if not forced:
            assert fin.positions[good].mark == mark and fin.pebbles >= fin.maintenance()
        last = mark
    assert wood.turn >= 3 and last < reference  # several turns of rise, the mark behind
    (cover,) = forced
    closed = fin.closed[-1]
    assert closed.forced and closed.exit == last and closed.pnl == qty * (entry - last)
    quoted = f"covered {qty} {good} at {last} (the mark; the reference is {reference}), "
    assert quoted in cover["outcome"]
    # The explanation says why the cover paid less than the reference: the mark lags it.
    (why,) = explain(seen, wood.turn)
    assert f"the reference went to {reference}" in why and f"at {last}: P&L" in why
    house = wood.ledger.accounts[HOUSE]
    assert house.pebbles == -fin.realized() and wood.ledger.total_pebbles() == (
        wood.ledger.start_pebbles
    )
    # A new short opens at the mark too, and says where the reference stands.
    out = fin.submit(f"short {good} 1")
    assert out.ok and out.message.startswith(
        f"short 1 {good} at {last} (the mark; the reference is {reference}); "
    )
    wood.step()
    assert fin.positions[good].entry == last


# -- the authored settlement lands in full --------------------------------------


@pytest.mark.parametrize("key", bundled_scenarios())
def test_the_settle_legend_sets_the_mark_in_full(key):
    _settles_in_full(_scenario(key))


def _settles_in_full(scenario):
    """The showcase under `settle`: at the reckoning the target's mark is the settled price."""
    wood = build(RunSpec.make(scenario, seed=0, gambit="showcase", mechanism="settle"))
    fin = Financier.of(wood)
    gambit = wood.scenario.gambit("showcase")
    records = _step(wood, gambit.reckoning)
    (settled,) = _kind(records, "legend", gambit.reckoning, event="settled")
    good, landed = gambit.target, settled["reference"]
    (before,) = _kind(records, "book", gambit.reckoning - 1)
    (book,) = _kind(records, "book", gambit.reckoning)
    last = before["marks"][good]
    assert last - landed > max(1, last * STEP // 100)  # a fall the rule alone would spread
    assert book["marks"][good] == landed
    (position,) = [p for p in book["positions"] if p["good"] == good]
    assert position["mark"] == landed
    # The magistrate's win is the whole fall of the mark, at the settlement that made it.
    (heat,) = _kind(records, "magistrate", gambit.reckoning, event="heat")
    (win,) = [w for w in heat["wins"] if w["good"] == good]
    assert win["win"] == position["qty"] * (last - landed)
    assert fin.pnl() == position["qty"] * (position["entry"] - landed) - fin.judge.fined


@pytest.mark.parametrize("key", bundled_scenarios())
def test_a_settled_squeeze_forces_the_cover_at_the_settled_price(key):
    sc = _scenario(key)
    good = sc.gambit("showcase").target
    sc = parse_scenario(
        sc.text + SQUEEZE.format(id="squeeze_up", good=good, factor=3, delay=0), sc.path, sc.files
    )
    price = sc.good(good).price
    wood = Wood(sc, 0)
    fin = Financier.attach(wood, script={1: [f"short {good} 8", "spring squeeze_up"]})
    (forced,) = _kind(_step(wood, 1), "financier", source="margin")
    assert wood.prices[good] == 3 * price == fin.book.marks[good]
    assert fin.closed[-1].exit == 3 * price
    assert f"covered 8 {good} at {3 * price}, " in forced["outcome"]  # mark and reference agree


# -- the magistrate judges the mark's gains -------------------------------------


@pytest.mark.parametrize("key", bundled_scenarios())
def test_the_magistrate_judges_the_marks_gains_settlement_by_settlement(key):
    sc = _scenario(key)
    good = sc.gambit("showcase").target
    opening = list(sc.first_trade)  # the short, and a whisper whose tip names the good
    qty = int(opening[0].split()[-1])
    price, band = sc.good(good).price, sc.market.band
    # A crash to the band's floor on turn 1, then one unit a turn at the floor.
    wood = Wood(sc, 0, _tape(sc, good, lambda t, ref: max(1, ref // band)))
    fin = Financier.attach(wood, script={1: opening})
    last, gains, wins = price, {}, {}
    for _ in range(sc.magistrate.window):  # every settlement within the whisper's window
        records = wood.step().records
        mark = fin.book.marks[good]
        gains[wood.turn] = qty * (last - mark)
        for r in _kind(records, "magistrate", event="heat"):
            wins.update((r["turn"], w["win"]) for w in r["wins"] if w["good"] == good)
        last = mark
    assert wood.prices[good] < last  # the mark is still on its way down
    assert wins == {t: g for t, g in gains.items() if g} and len(wins) == len(gains)
    assert wins[1] == qty * (price - next_mark(price, price // band, STEP))
    assert wins[1] < qty * (price - price // band)  # not the reference's fall
    assert fin.positions[good].pnl == sum(wins.values())


# -- properties -------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), seed=st.integers(0, 30))
def test_without_the_rule_every_mark_is_the_reference(data, seed):
    sc = _scenario(data.draw(st.sampled_from(bundled_scenarios())), None)
    wood = Wood(sc, seed)
    fin = Financier.attach(wood, script=random_script(data, sc))
    for _ in range(6):
        records = wood.step().records
        assert fin.book.marks == wood.prices
        assert all(p.mark == wood.prices[g] for g, p in fin.positions.items())
        assert all("marks" not in r for r in _kind(records, "book"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), seed=st.integers(0, 30))
def test_with_the_rule_every_mark_steps_or_lands(data, seed):
    sc = _scenario(data.draw(st.sampled_from(bundled_scenarios())))
    wood = Wood(sc, seed)
    fin = Financier.attach(wood, script=random_script(data, sc))
    house = wood.ledger.accounts[HOUSE]
    last = dict(wood.prices)
    for _ in range(6):
        records = wood.step().records
        landed = {r["target"] for r in _kind(records, "legend", event="settled")}
        for good, reference in wood.prices.items():
            expected = reference if good in landed else next_mark(last[good], reference, STEP)
            assert fin.book.marks[good] == expected
        assert all(p.mark == fin.book.marks[g] for g, p in fin.positions.items())
        (book,) = _kind(records, "book")
        assert book["marks"] == fin.book.marks
        assert not fin.positions or fin.pebbles >= fin.maintenance()
        assert house.pebbles == -(fin.realized() + sum(p.pnl for p in fin.positions.values()))
        last = dict(fin.book.marks)
