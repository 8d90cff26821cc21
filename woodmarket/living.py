"""Living: production, meals, spoilage, firewood and mood, once per turn.

This is the scarcity that makes trade happen:
- diet variety: a meal takes one unit each of two different foods; a
  creature eats from the foods it holds most of (ties by the scenario's
  order of goods), so one hoarded food cannot feed it alone;
- spoilage: of a perishable's stock above `keep`, `spoil_pct` percent
  (rounded up) rots each turn;
- firewood: every creature burns `wood.burn(turn)` units, more in winter;
- mood: mean-reverting toward 85 when fed and warm, 55 when one of the
  two, 30 when neither, a quarter of the gap per turn; never below 5.
All changes go through the ledger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from woodmarket.state import TurnState, WoodState

MOOD_FLOOR = 5
MOOD_TARGETS = {2: 85, 1: 55, 0: 30}


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


def mood(wood: WoodState, turn: TurnState) -> None:
    for c in wood.creatures.values():
        target = MOOD_TARGETS[int(c.fed) + int(c.warm)]
        # Whole-number mean reversion: a quarter of the gap, at least one step.
        gap = target - c.mood
        step = gap // 4 if gap >= 0 else -((-gap) // 4)
        if step == 0 and gap:
            step = 1 if gap > 0 else -1
        c.mood = max(MOOD_FLOOR, min(100, c.mood + step))


LIVING = (produce, eat, spoil, burn, mood)
