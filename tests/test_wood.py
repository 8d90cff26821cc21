"""Whole runs of the stand-in wood: invariants every turn, determinism, living rules."""

from __future__ import annotations

import pytest

from woodmarket.errors import LedgerError
from woodmarket.ledger import HOUSE
from woodmarket.rules import band
from woodmarket.runner import run
from woodmarket.spec import RunSpec
from woodmarket.types import Action, Gossip, Order
from woodmarket.wood import Wood


def _invariants(wood: Wood, t) -> None:
    # Conservation is also checked inside the turn; here it is checked from outside.
    ledger = wood.ledger
    assert ledger.total_pebbles() == ledger.start_pebbles
    for g in wood.goods:
        tl = ledger.tallies[g]
        assert ledger.total_goods(g) == (
            ledger.start_goods[g] + tl.produced - tl.consumed - tl.spoiled + tl.windfall
        )
    for name, acct in ledger.accounts.items():
        # The house, the financier's counterparty, may owe; nobody else ever does.
        assert (acct.pebbles >= 0 or name == HOUSE) and min(acct.stores.values()) >= 0
    accepted = {}
    for o in t.accepted:
        accepted.setdefault((o.creature, o.good, o.side), []).append(o)
    for c in t.clearings.values():
        if c.traded:
            lo, hi = band(t.opening[c.good], wood.scenario.market.band)
            assert lo <= c.price <= hi
        for f in c.fills:
            assert f.buyer != f.seller
            assert any(o.price >= f.price for o in accepted[(f.buyer, f.good, "buy")])
            assert any(o.price <= f.price for o in accepted[(f.seller, f.good, "sell")])
    for c in wood.creatures.values():
        assert 5 <= c.mood <= 100  # mood never reaches zero


@pytest.mark.parametrize("seed", range(25))
def test_invariants_hold_every_turn(scenario_key, seed):
    wood = Wood.from_scenario(scenario_key, seed=seed)
    for _ in range(30):
        _invariants(wood, wood.step())


@pytest.mark.parametrize("mechanism", ["none", "rumor", "glut", "settle"])
def test_invariants_hold_under_every_gambit(scenario_key, mechanism):
    from woodmarket.build import build
    from woodmarket.scenario import load_scenario

    for gambit in load_scenario(scenario_key).gambits:
        for seed in range(3):
            spec = RunSpec.make(scenario_key, seed=seed, gambit=gambit.name, mechanism=mechanism)
            wood = build(spec)
            for _ in range(spec.turns):
                _invariants(wood, wood.step())


def test_trade_happens_and_winter_raises_the_burn():
    wood = Wood.from_scenario("oona", seed=1)
    trades = [len(wood.step().fills) for _ in range(15)]
    assert sum(1 for n in trades if n > 0) >= 12  # a living market, not a dead one
    assert wood.burn(1) == 1 and wood.burn(6) == 2 and wood.burn(12) == 4


def test_same_seed_same_trace_bytes(tmp_path, scenario_key):
    gambit = "showcase"
    for name in ("a", "b"):
        run(RunSpec.make(scenario_key, seed=7, turns=20, gambit=gambit), tmp_path / name)
    assert (tmp_path / "a/trace.jsonl").read_bytes() == (tmp_path / "b/trace.jsonl").read_bytes()
    run(RunSpec.make(scenario_key, seed=8, turns=20, gambit=gambit), tmp_path / "c")
    assert (tmp_path / "a/trace.jsonl").read_bytes() != (tmp_path / "c/trace.jsonl").read_bytes()


def test_diet_variety_needs_two_foods():
    wood = Wood.from_scenario("oona", seed=0)
    oona = wood.creatures["Oona"]
    for g in wood.goods:
        oona.account.stores[g] = 0
    oona.account.stores["honey"] = 9  # plenty of one food is no meal
    wood.ledger.start_goods = {g: wood.ledger.total_goods(g) for g in wood.goods}
    hold = {n: Action() for n in wood.names}
    t = wood.step(hold)
    assert not oona.fed
    assert any(r["kind"] == "hungry" and r["creature"] == "Oona" for r in t.records)
    assert oona.account.stores["honey"] == 9 + 2  # production, nothing eaten


def test_spoilage_rots_hoarded_berries():
    wood = Wood.from_scenario("oona", seed=0)
    pip = wood.creatures["Pip"]
    before = pip.account.stores["berries"]
    t = wood.step({n: Action() for n in wood.names})
    rotted = sum(
        r["qty"]
        for r in t.records
        if r["kind"] == "spoil" and r["holder"] == "Pip" and r["good"] == "berries"
    )
    # Pip makes 2 berries and eats 1 (its two most-held foods); above keep=4, 25% rots (rounded up).
    assert rotted == -(-(before + 2 - 1 - 4) * 25 // 100)


def test_gossip_is_heard_next_turn_and_moves_feelings():
    wood = Wood.from_scenario("oona", seed=0)
    say = {n: Action() for n in wood.names}
    say["Rusk"] = Action(gossip=Gossip("Oona", "Mossback is a greedy hoarder"))
    t1 = wood.step(say)
    assert t1.observations["Oona"].heard == ()
    t2 = wood.step({n: Action() for n in wood.names})
    assert t2.observations["Oona"].heard == ("Rusk: Mossback is a greedy hoarder",)
    # Sour words about a named creature cool the listener on it; a confidence warms.
    assert wood.memory.score("Oona", "Mossback") == -4
    assert wood.memory.score("Oona", "Rusk") == 1
    assert wood.memory.score("Pip", "Mossback") == 0  # Pip did not hear it


def test_invalid_policy_output_becomes_hold():
    class Broken:
        label = "broken"
        concurrent = False

        def decide(self, obs):
            raise RuntimeError("model said nonsense")

    wood = Wood.from_scenario("oona", seed=0)
    wood.policies["Rusk"] = Broken()
    t = wood.step()
    rec = next(r for r in t.records if r["kind"] == "decision" and r["creature"] == "Rusk")
    assert rec["valid"] is False and "model said nonsense" in rec["reason"]


def test_orders_for_someone_else_are_refused():
    wood = Wood.from_scenario("oona", seed=0)
    acts = {n: Action() for n in wood.names}
    acts["Rusk"] = Action(orders=(Order("Oona", "sell", "honey", 5, 3),))
    t = wood.step(acts)
    assert t.actions["Rusk"].valid is False
    assert not any(f.seller == "Oona" for f in t.fills)


def test_a_broken_ledger_stops_the_run():
    wood = Wood.from_scenario("oona", seed=0)
    wood.ledger.accounts["Pip"].pebbles += 1  # a pebble from nowhere
    with pytest.raises(LedgerError, match="pebbles not conserved"):
        wood.step()


def test_concurrent_policies_are_ordered_by_creature():
    import time

    class Slow:
        label = "slow"
        concurrent = True

        def __init__(self, delay):
            self.delay = delay

        def decide(self, obs):
            time.sleep(self.delay)
            return Action(thought=f"{obs.creature} thought")

    wood = Wood.from_scenario("oona", seed=0)
    wood.policies = {n: Slow(0.05 * (5 - i)) for i, n in enumerate(wood.names)}
    t = wood.step()
    order = [r["creature"] for r in t.records if r["kind"] == "decision"]
    assert order == list(wood.names)


def test_a_policy_past_its_deadline_is_abandoned_and_the_turn_goes_on():
    import threading
    import time

    release = threading.Event()

    class Slow:
        concurrent = True
        timeout_s = 0.2

        def decide(self, obs):
            release.wait(10)  # a call that cannot be cancelled
            return Action()

    class Quick:
        concurrent = True
        timeout_s = 0.2

        def decide(self, obs):
            return Action()

    wood = Wood.from_scenario("oona", seed=1)
    slow, *rest = wood.names
    wood.policies[slow] = Slow()
    for n in rest:
        wood.policies[n] = Quick()
    start = time.monotonic()
    state = wood.step()
    took = time.monotonic() - start
    release.set()
    assert took < 3  # the turn waited for the deadline, not for the slow call
    decisions = {r["creature"]: r for r in state.records if r["kind"] == "decision"}
    assert not decisions[slow]["valid"] and "abandoned" in decisions[slow]["reason"]
    assert all(decisions[n]["valid"] for n in rest)
    assert wood.step().turn == 2  # the abandoned call's thread does not hold the next turn
    wood.close()


@pytest.mark.parametrize(
    ("serial", "invariant", "together"),
    [(False, False, True), (True, False, False), (True, True, True)],
)
def test_a_serial_wood_asks_together_only_the_batch_invariant(
    scenario_key, serial, invariant, together
):
    import threading

    # Each decision waits for a second one to be asked at the same time: it
    # passes only when the turn asks two creatures together.
    meet = threading.Barrier(2, timeout=1.0)

    class Meeting:
        label = "meeting"
        concurrent = True

        def __init__(self) -> None:
            self.batch_invariant = invariant

        def decide(self, obs):
            try:
                meet.wait()
            except threading.BrokenBarrierError:
                meet.reset()
                return Action.hold("asked alone")
            return Action.hold("asked together")

    wood = Wood.from_scenario(scenario_key, seed=0)
    wood.serial = serial
    first, second, *_ = wood.names
    wood.policies[first] = Meeting()
    wood.policies[second] = Meeting()
    t = wood.step()
    reasons = {r["creature"]: r["reason"] for r in t.records if r["kind"] == "decision"}
    expected = "asked together" if together else "asked alone"
    assert reasons[first] == reasons[second] == expected
    wood.close()


def _holder(obs):
    return Action.hold()


def test_policies_for_too_few_or_misspelt_creatures_are_refused_by_name(scenario_key):
    from woodmarket.errors import WoodmarketError
    from woodmarket.scenario import load_scenario

    names = [c.name for c in load_scenario(scenario_key).creatures]
    every = dict.fromkeys(names, _holder)
    few = {n: p for n, p in every.items() if n != names[0]}
    with pytest.raises(WoodmarketError, match=f"no policy for {names[0]} "):
        Wood.from_scenario(scenario_key, policies=few)
    typo = f"{names[0].lower()}x"
    with pytest.raises(WoodmarketError, match=f"no creature named {typo} "):
        Wood.from_scenario(scenario_key, policies={**every, typo: _holder})
    with Wood.from_scenario(scenario_key, policies=every) as wood:
        assert wood.step().turn == 1
