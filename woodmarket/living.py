"""Living: production, meals, spoilage, fuel, needs and mood, once per turn.

This is the scarcity that makes trade happen:
- diet variety: a meal takes one unit each of two different foods; a
  creature eats from the foods it holds most of (ties by the scenario's
  order of goods), so one hoarded food cannot feed it alone;
- spoilage: of a perishable's stock above `keep`, `spoil_pct` percent
  (rounded up) rots each turn;
- fuel: every creature burns `wood.burn(turn)` units of the scenario's
  fuel (if it has one), more in winter; short of it, the creature is cold;
- needs: a creature's `needs` (any good, e.g. `needs = { reeds = 1 }`)
  are used up each turn, after meals and fuel, as ledger consumption; a
  need it cannot meet in full is traced as an `unmet` record (creature,
  good, used, needed) and weighs on its mood like hunger and cold;
- mood: mean-reverting, a quarter of the gap per turn, toward 85 with
  nothing lacking, 55 with one lack, 30 with two, 15 with more (hunger,
  cold and each unmet need count one lack each); never below 5.
All changes go through the ledger. A good nobody eats, burns or needs is
worth only what speculation makes of it: needs are how a scenario gives
any good a use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from woodmarket.state import TurnState, WoodState

MOOD_FLOOR = 5
MOOD_TARGETS = (85, 55, 30, 15)  # by the number of lacks: hunger, cold, each unmet need


def produce(wood: WoodState, turn: TurnState) -> None:
    for c in wood.creatures.values():
        for good, n in c.spec.produces.items():
            if n:
                wood.ledger.produce(c.name, good, n)


def eat(wood: WoodState, turn: TurnState) -> None:
    meals = wood.scenario.living.meals
    order = {g: i for i, g in enumerate(wood.foods)}
    for c in wood.creatures.values():
        stores = c.account.stores
        eaten = 0
        for _ in range(meals):
            held = sorted(
                (g for g in wood.foods if stores[g] > 0), key=lambda g: (-stores[g], order[g])
            )
            if len(held) < 2:
                break
            for g in held[:2]:
                wood.ledger.consume(c.name, g, 1)
            eaten += 1
        c.fed = eaten == meals
        if not c.fed:
            turn.emit("hungry", creature=c.name, meals=eaten, needed=meals)


def spoil(wood: WoodState, turn: TurnState) -> None:
    for spec in wood.scenario.goods:
        if not spec.spoil_pct:
            continue
        for name, acct in wood.ledger.accounts.items():
            excess = acct.stores[spec.name] - spec.keep
            if excess > 0:
                rot = -(-excess * spec.spoil_pct // 100)
                wood.ledger.spoil(name, spec.name, rot)
                turn.emit("spoil", holder=name, good=spec.name, qty=rot)


def burn(wood: WoodState, turn: TurnState) -> None:
    if not wood.fuel:
        return
    need = wood.burn(turn.turn)
    for c in wood.creatures.values():
        have = c.account.stores[wood.fuel]
        used = min(have, need)
        if used:
            wood.ledger.consume(c.name, wood.fuel, used)
        c.warm = used == need
        if not c.warm:
            turn.emit("cold", creature=c.name, burned=used, needed=need)


def use(wood: WoodState, turn: TurnState) -> None:
    """Each creature uses up its needs; what it lacks is traced as `unmet`."""
    for c in wood.creatures.values():
        for good, need in c.spec.needs.items():
            if not need:
                continue
            used = min(c.account.stores[good], need)
            if used:
                wood.ledger.consume(c.name, good, used)
            if used < need:
                turn.emit("unmet", creature=c.name, good=good, used=used, needed=need)


def mood(wood: WoodState, turn: TurnState) -> None:
    # The turn's `unmet` records are its unmet needs: one lack each.
    unmet: dict[str, int] = {}
    for r in turn.records:
        if r["kind"] == "unmet":
            unmet[r["creature"]] = unmet.get(r["creature"], 0) + 1
    last = len(MOOD_TARGETS) - 1
    for c in wood.creatures.values():
        lacks = (not c.fed) + (not c.warm) + unmet.get(c.name, 0)
        target = MOOD_TARGETS[min(lacks, last)]
        # Whole-number mean reversion: a quarter of the gap, at least one step.
        gap = target - c.mood
        step = gap // 4 if gap >= 0 else -((-gap) // 4)
        if step == 0 and gap:
            step = 1 if gap > 0 else -1
        c.mood = max(MOOD_FLOOR, min(100, c.mood + step))


LIVING = (produce, eat, spoil, burn, use, mood)
