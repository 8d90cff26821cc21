"""Living: needs of any good are used up, traced when unmet, weigh on mood, and are wanted."""

from __future__ import annotations

import pytest

from woodmarket.living import MOOD_TARGETS
from woodmarket.scenario import bundled_scenarios, load_scenario, parse_scenario
from woodmarket.types import Action
from woodmarket.wood import Wood

KEYS = bundled_scenarios()
HOLD = Action()


def _wood(needs: str = "", stores: str = "candles = 3", meals: int = 0) -> Wood:
    text = f"""
[wood]
name = "Cellar"
[goods.bread]
price = 3
food = true
[goods.cheese]
price = 4
food = true
[goods.candles]
price = 5
[living]
meals = {meals}
[[creatures]]
name = "Mole"
species = "mole"
role = "digger"
pebbles = 10
stores = {{ {stores}, bread = 9, cheese = 9 }}
needs = {{ {needs} }}
[[creatures]]
name = "Shrew"
species = "shrew"
role = "chandler"
pebbles = 10
produces = {{ candles = 1 }}
"""
    return Wood(parse_scenario(text, "cellar.toml"), 0)


def _hold_all(wood: Wood):
    return wood.step({n: HOLD for n in wood.names})


def test_a_need_is_used_up_each_turn_through_the_ledger():
    wood = _wood("candles = 1")
    t = _hold_all(wood)
    assert wood.creatures["Mole"].account.stores["candles"] == 2
    assert wood.ledger.tallies["candles"].consumed == 1
    assert not [r for r in t.records if r["kind"] == "unmet"]


def test_an_unmet_need_is_traced_and_lowers_mood_like_hunger():
    wood, calm = _wood("candles = 2", "candles = 1"), _wood("", "candles = 1")
    t = _hold_all(wood)
    _hold_all(calm)
    unmet = [r for r in t.records if r["kind"] == "unmet"]
    assert unmet == [
        {"turn": 1, "kind": "unmet", "creature": "Mole", "good": "candles", "used": 1, "needed": 2}
    ]
    mole, calm_mole = wood.creatures["Mole"], calm.creatures["Mole"]
    assert mole.fed and mole.warm  # no meals, no fuel here: the need alone lacks
    assert mole.mood < calm_mole.mood
    start = wood.scenario.living.mood_start
    assert mole.mood == start - (start - MOOD_TARGETS[1]) // 4  # a quarter of the gap
    for _ in range(30):
        _hold_all(wood)
    assert wood.creatures["Mole"].mood == MOOD_TARGETS[1]  # one lack, every turn


def test_each_unmet_need_counts_one_lack():
    wood = _wood("candles = 1, bread = 20", "candles = 0")
    for _ in range(40):
        t = _hold_all(wood)
    goods = sorted(r["good"] for r in t.records if r["kind"] == "unmet" and r["creature"] == "Mole")
    assert goods == ["bread", "candles"]
    assert wood.creatures["Mole"].mood == MOOD_TARGETS[2]


def test_needs_count_in_wants_and_short_of():
    wood = _wood("candles = 3", "candles = 1")
    mole, shrew = wood.creatures["Mole"], wood.creatures["Shrew"]
    assert wood.wants(mole, 1)["candles"] == 6
    assert wood.short_of(mole, 1) == {"candles": 5}
    assert "candles" not in wood.wants(shrew, 1)
    obs = wood.step().observations["Mole"]
    assert obs.short_of["candles"] == 5 and obs.wants["candles"] == 6


def test_the_stand_in_buys_toward_its_needs():
    wood = _wood("candles = 1", "candles = 0")
    bought = 0
    for _ in range(6):
        t = wood.step()
        bought += sum(f.qty for f in t.fills if f.buyer == "Mole" and f.good == "candles")
    assert bought > 0


@pytest.mark.parametrize("key", KEYS)
def test_unmet_records_only_where_something_is_needed(key):
    s = load_scenario(key)
    wood = Wood(s, 1)
    needers = {c.name for c in s.creatures if c.needs}
    seen = set()
    for _ in range(15):
        for r in wood.step().records:
            if r["kind"] == "unmet":
                seen.add(r["creature"])
                assert r["used"] < r["needed"]
    assert seen <= needers
