"""The state of a wood and of a turn, and the seams where authored code may act.

`WoodState` owns every mutable thing of one world: creatures, the ledger,
reference prices and their history, news, memory, the seams, the policies
and the random streams. `TurnState` is built fresh for each turn by the
phase list in `turn.py` and filled in phase by phase; listeners (traces,
metrics, UIs) read it when the turn is recorded. `Seams` holds the named
hooks (`before_decide`, `after_clear`, `settle`) at which registered
handlers may change the wood.

Only the phases (`turn.py`, `living.py`), seam handlers (legends, the
financier) and the wood's own front (`wood.py`) change a `WoodState`.
What the handlers keep in the wood (the legend book, the financier, a
narrator) are attributes typed by the small protocols stated here
(`Tales`, `Player`, `Narrator`): the engine knows them by shape only, and
each has its typed accessor in its own room (`LegendBook.of`,
`Financier.of`). Policies are seated from above (`seat`): the engine
imports no policy.
Randomness comes from the run's seed only: each stream (a creature's
policy, a good's auction, a mechanism) is a child `random.Random` named by
its purpose, so adding a consumer never shifts another's draws, and two
worlds with the same seed share their streams (common random numbers).
This room imports no phase: `turn` and `wood` depend on it, not on each other.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from woodmarket.errors import WoodmarketError
from woodmarket.ledger import Account, Ledger
from woodmarket.memory import Memory
from woodmarket.scenario import CreatureSpec, Scenario
from woodmarket.types import Action, Debt, Observation, Offer, Order, Policy, as_policy

if TYPE_CHECKING:
    from woodmarket.market import Clearing, Rejection
    from woodmarket.types import Fill

SEAMS = ("before_decide", "after_clear", "settle")
Handler = Callable[["WoodState", "TurnState"], None]
Listener = Callable[["TurnState"], None]
# What writes a turn's headline: the template by default (narrator.py).
Narrator = Callable[["WoodState", "TurnState"], str]


class Player(Protocol):
    """The financier's side, as the wood carries it (financier/desk.py is the whole of it)."""

    @property
    def pebbles(self) -> int: ...
    def worth(self) -> int: ...
    def pnl(self) -> int: ...
    def objective(self) -> str: ...


class Tales(Protocol):
    """The legends told in a wood, as the wood carries them (legendbook.py is the whole)."""

    def told(self, legend_id: str) -> bool: ...


@dataclass(slots=True)
class TurnState:
    """What one turn produced. Built fresh each turn; listeners read it."""

    turn: int
    overrides: dict[str, Action] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    observations: dict[str, Observation] = field(default_factory=dict)
    actions: dict[str, Action] = field(default_factory=dict)
    accepted: list[Order] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    clearings: dict[str, Clearing] = field(default_factory=dict)
    opening: dict[str, int] = field(default_factory=dict)
    headline: str = ""
    # Public happenings of the turn (a legend landing) that the narrator leads with.
    public: list[str] = field(default_factory=list)

    def emit(self, kind: str, **fields: Any) -> None:
        # The keyword dict is fresh for every call: adopt it rather than copy it
        # (a turn emits dozens of records; key order is irrelevant, traces sort keys).
        fields["turn"] = self.turn
        fields["kind"] = kind
        self.records.append(fields)

    @property
    def fills(self) -> list[Fill]:
        return [f for c in self.clearings.values() for f in c.fills]


class Seams:
    """Named hooks where authored code may change the wood mid-turn."""

    def __init__(self) -> None:
        self.handlers: dict[str, list[Handler]] = {name: [] for name in SEAMS}

    def add(self, seam: str, handler: Handler) -> None:
        if seam not in self.handlers:
            raise KeyError(f"unknown seam {seam!r}; seams are {', '.join(SEAMS)}")
        self.handlers[seam].append(handler)

    def run(self, seam: str, wood: WoodState, turn: TurnState) -> None:
        for handler in self.handlers[seam]:
            handler(wood, turn)


class Policies(dict[str, Policy]):
    """Creature -> policy; a plain function set here is wrapped as a policy on the way in."""

    def __init__(self, policies: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.update(policies or {})

    def __setitem__(self, name: str, policy: Any) -> None:
        super().__setitem__(name, as_policy(policy))

    def update(self, *others: Any, **more: Any) -> None:  # type: ignore[override]
        for other in (*others, more):
            for name, policy in dict(other).items():
                self[name] = policy


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


class WoodState:
    """Everything mutable of one world; `wood.Wood` adds the front that steps it."""

    def __init__(self, scenario: Scenario, seed: int = 0) -> None:
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
        self.listeners: list[Listener] = []
        # Called with a creature's name as soon as its decision is in (from a
        # decision thread for concurrent policies): UIs show who is still thinking.
        self.on_decided: list[Callable[[str], None]] = []
        # Orders placed outside any policy (the financier's) for the coming turn.
        self.outside_orders: list[Order] = []
        # Private to one creature each: the financier's offers pending this turn, its debts.
        self.offers: dict[str, tuple[Offer, ...]] = {}
        self.debts: dict[str, tuple[Debt, ...]] = {}
        # Pacts between two creatures, each pair sorted by name.
        self.pacts: set[tuple[str, str]] = set()
        # Creatures that have left the wood (exile), in the order they left.
        self.exiled: list[str] = []
        # What seam handlers keep in the wood, each typed by what the wood knows of it:
        # the legends told (legendbook.py), the financier (financier/), a narrator
        # other than the template (a model's, a replay's).
        self.legends: Tales | None = None
        self.financier: Player | None = None
        self.narrator: Narrator | None = None
        # Things to let go of when the wood closes (model slot leases).
        self.resources: list[Any] = []
        self._streams: dict[str, random.Random] = {}
        self._pool: ThreadPoolExecutor | None = None
        # Concurrent policies asked one at a time, in creature order (reproducible live runs).
        self.serial = False
        self.policies = Policies()

    def seat(self, policies: Mapping[str, Any]) -> None:
        """Seat a policy for every creature: each named once, no stranger among them."""
        missing = [n for n in self.names if n not in policies]
        strangers = [str(n) for n in policies if n not in self.creatures]
        if missing or strangers:
            # A policy keyed by a misspelt name would leave its creature without one.
            what = f"no policy for {', '.join(missing)}" if missing else ""
            what += "; " if missing and strangers else ""
            what += f"no creature named {', '.join(strangers)}" if strangers else ""
            raise WoodmarketError(
                f"policies: {what} (creatures of {self.scenario.name}: {', '.join(self.names)}; "
                "the stand-in is woodmarket.policies.standin.StandinPolicy)"
            )
        self.policies = Policies(policies)

    def rng(self, *parts: object) -> random.Random:
        """The child stream named by `parts`; the same name gives the same stream."""
        key = "/".join(map(str, parts))
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = random.Random(f"{self.seed}/{key}")
        return stream

    def decision_pool(self) -> ThreadPoolExecutor:
        """This wood's threads for concurrent policies: never shared with another wood.

        Twice the creatures, so a call abandoned at its deadline (still running
        in its thread) cannot starve the next turn of workers.
        """
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=max(2, 2 * len(self.names)), thread_name_prefix="decide"
            )
        return self._pool

    def close(self) -> None:
        """Let go of threads and model slots; the state stays readable."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        while self.resources:
            self.resources.pop().release()

    def allies(self, name: str) -> tuple[str, ...]:
        """The creatures `name` has a pact with, in scenario order."""
        if not self.pacts:
            return ()
        return tuple(
            n for n in self.names if n != name and (min(n, name), max(n, name)) in self.pacts
        )

    def exile(self, name: str) -> None:
        """`name` leaves the wood: it is no longer observed, asked, fed or traded with.

        Its ledger account stays (empty, or holding what the caller left it),
        so conservation is checked as before; its pacts end, its talk is dropped.
        """
        self.creatures.pop(name)
        self.names = tuple(n for n in self.names if n != name)
        self._others = {}
        self.memory.names = self.names
        for store in (self.memory.pending, self.memory.heard, self.memory.whispers):
            store.pop(name, None)
        self.memory.whispers_pending.pop(name, None)
        self.pacts = {p for p in self.pacts if name not in p}
        self.offers.pop(name, None)
        self.debts.pop(name, None)
        self.exiled.append(name)

    def others(self, name: str) -> tuple[str, ...]:
        """Every creature but `name`, in scenario order (cached until a creature leaves)."""
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

    def holdings(self) -> dict[str, dict[str, Any]]:
        """Every account's pebbles and stores (and a creature's mood): a `holdings` record."""
        out = {}
        for name, acct in self.ledger.accounts.items():
            row: dict[str, Any] = {"pebbles": acct.pebbles, "stores": dict(acct.stores)}
            if name in self.creatures:
                row["mood"] = self.creatures[name].mood
            out[name] = row
        return out

    def wealth(self, name: str) -> int:
        """Pebbles plus stores marked at reference prices."""
        acct = self.ledger.accounts[name]
        return acct.pebbles + sum(n * self.prices[g] for g, n in acct.stores.items())
