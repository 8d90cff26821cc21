"""The wood: one world's state. Creatures, reference prices, news, seams, RNG.

`Wood` owns every mutable thing of a world; the phases in `turn.py` change
it and nothing else does. Randomness comes from the run's seed only: each
stream (a creature's policy, a good's auction, a mechanism) is a child
`random.Random` named by its purpose, so adding a consumer never shifts
another's draws, and two worlds with the same seed share their streams
(common random numbers for sweeps).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from woodmarket.ledger import Account, Ledger
from woodmarket.memory import Memory
from woodmarket.scenario import CreatureSpec, Scenario, load_scenario
from woodmarket.types import Action, Order, Policy

if TYPE_CHECKING:
    from woodmarket.turn import TurnState

HISTORY = 8
SEAMS = ("before_decide", "after_clear", "settle")
Handler = Callable[["Wood", "TurnState"], None]


@dataclass(slots=True)
class Creature:
    """A creature's mutable self; its pebbles and stores live in its ledger account."""

    spec: CreatureSpec
    account: Account
    mood: int
    fed: bool = True
    warm: bool = True

    @property
    def name(self) -> str:
        return self.spec.name


class Seams:
    """Named hooks where authored code may change the wood mid-turn."""

    def __init__(self) -> None:
        self.handlers: dict[str, list[Handler]] = {name: [] for name in SEAMS}

    def add(self, seam: str, handler: Handler) -> None:
        if seam not in self.handlers:
            raise KeyError(f"unknown seam {seam!r}; seams are {', '.join(SEAMS)}")
        self.handlers[seam].append(handler)

    def run(self, seam: str, wood: Wood, turn: TurnState) -> None:
        for handler in self.handlers[seam]:
            handler(wood, turn)


class Wood:
    """One world. Build it with `Wood.from_scenario`, advance it with `step`."""

    def __init__(
        self, scenario: Scenario, seed: int = 0, policies: Mapping[str, Policy] | None = None
    ) -> None:
        self.scenario = scenario
        self.seed = seed
        self.turn = 0
        self.goods = scenario.good_names
        self.foods = tuple(g.name for g in scenario.goods if g.food)
        self.fuel = next((g.name for g in scenario.goods if g.fuel), "")
        self.ledger = Ledger(self.goods)
        self.creatures: dict[str, Creature] = {
            c.name: Creature(
                c, self.ledger.open(c.name, c.pebbles, c.stores), scenario.living.mood_start
            )
            for c in scenario.creatures
        }
        self.names = tuple(self.creatures)
        self.makes = {
            c.name: tuple(g for g, n in c.produces.items() if n) for c in scenario.creatures
        }
        self._others: dict[str, tuple[str, ...]] = {}
        self.prices = {g.name: g.price for g in scenario.goods}
        self.history: dict[str, list[int]] = {g: [p] for g, p in self.prices.items()}
        self.news: list[tuple[int, str]] = []  # (turn told, text)
        self.headlines: list[str] = []
        self.memory = Memory(self.names)
        self.seams = Seams()
        self.listeners: list[Callable[[TurnState], None]] = []
        # Orders placed outside any policy (the financier's) for the coming turn.
        self.outside_orders: list[Order] = []
        # Extensions (the financier, legends) keep their state here by name.
        self.extensions: dict[str, Any] = {}
        self._streams: dict[str, random.Random] = {}
        if policies is None:
            from woodmarket.policies.standin import StandinPolicy

            policies = {n: StandinPolicy(self.rng("policy", n)) for n in self.names}
        missing = [n for n in self.names if n not in policies]
        if missing:
            raise KeyError(f"no policy for {', '.join(missing)}")
        self.policies: dict[str, Policy] = dict(policies)

    @classmethod
    def from_scenario(
        cls,
        scenario: str | Path | Scenario = "oona",
        seed: int = 0,
        policies: Mapping[str, Policy] | None = None,
    ) -> Wood:
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario)
        return cls(scenario, seed, policies)

    def rng(self, *parts: object) -> random.Random:
        """The child stream named by `parts`; the same name gives the same stream."""
        key = "/".join(map(str, parts))
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = random.Random(f"{self.seed}/{key}")
        return stream

    def step(self, actions: dict[str, Action] | None = None) -> TurnState:
        """Run one turn. `actions` overrides the policies of the creatures it names."""
        from woodmarket.turn import run_turn

        return run_turn(self, actions)

    def others(self, name: str) -> tuple[str, ...]:
        """Every creature but `name`, in scenario order (cached: names never change)."""
        found = self._others.get(name)
        if found is None:
            found = self._others[name] = tuple(n for n in self.names if n != name)
        return found

    def burn(self, turn: int) -> int:
        """Firewood each creature burns on `turn`; rises through winter."""
        rules = self.scenario.living
        if turn < rules.winter_start:
            return rules.burn
        return rules.burn + 1 + (turn - rules.winter_start) // rules.winter_every

    def wants(self, creature: Creature, turn: int) -> dict[str, int]:
        """Stock a creature wants on hand: two meals of each food, two turns of fuel,
        and two turns of each of its own needs (added to the food or fuel it also is)."""
        meals = self.scenario.living.meals
        out = {g: 2 * meals for g in self.foods}
        if self.fuel:
            out[self.fuel] = 2 * self.burn(turn)
        for good, n in creature.spec.needs.items():
            if n:
                out[good] = out.get(good, 0) + 2 * n
        return out

    def short_of(
        self, creature: Creature, turn: int, wants: dict[str, int] | None = None
    ) -> dict[str, int]:
        """Goods below want (meals, fuel, needs) that the creature does not make itself
        (never buy those)."""
        stores = creature.account.stores
        made = creature.spec.produces
        wants = self.wants(creature, turn) if wants is None else wants
        return {g: w - stores[g] for g, w in wants.items() if stores[g] < w and not made.get(g)}

    def wealth(self, name: str) -> int:
        """Pebbles plus stores marked at reference prices."""
        acct = self.ledger.accounts[name]
        return acct.pebbles + sum(n * self.prices[g] for g, n in acct.stores.items())
