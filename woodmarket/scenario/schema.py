"""The scenario's schema: frozen dataclasses, the limits and the reserved words.

`Scenario` and its parts (`GoodSpec`, `CreatureSpec`, `MarketRules`,
`LivingRules`, `FinancierSpec`, `MagistrateSpec`) are plain values. The
limits (`MAX_*`, and `_LIMITS` for the whole-number rules tables) and the
reserved words are what reading.py and moves.py hold a scenario file to.
A `Gambit` is a named, scripted sequence of financier moves owned by the
scenario: turn -> the commands the financier types just before that turn
(checked with the command language as the file loads, moves.py), and the
legend it springs, so reports know which good to watch. `Scenario.lexicon`
is what a command may name in this scenario. This room reads no file and
checks no table; it knows legends only as woodmarket.legends defines them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from woodmarket.commands import Lexicon, Spring, parse_command
from woodmarket.errors import ActionError
from woodmarket.legends import Legend
from woodmarket.rules import MECHANISMS

# Limits generous for real use, tight enough that no file makes a turn take seconds.
MAX_CREATURES = 40
MAX_GOODS = 20
MAX_LEGENDS = 50
MAX_GAMBITS = 50
MAX_MOVES = 100  # moves (turns) per gambit
MAX_COMMANDS = 20  # commands per move, and in the first trade
MAX_NAME = 24  # characters in a good's or a creature's name
MAX_LABEL = 60  # characters in a species or a role
MAX_PERSONALITY = 500
MAX_WOOD_NAME = 80
MAX_TURNS = 1000
MAX_PRICE = 100_000
MAX_PEBBLES = 1_000_000
MAX_STORE = 1_000_000  # units of one good a creature starts with, or keeps from rot
MAX_MADE = 10_000  # units of one good a creature makes per turn
MAX_NEED = 1_000  # units of one good a creature uses up per turn
# Words of the creatures' and the financier's command language: no good or creature is named so.
COMMAND_WORDS = frozenset({"buy", "sell", "hold", "say", "think", "all"})
RESERVED_CREATURES = COMMAND_WORDS | {"financier", "house", "purse"}


@dataclass(frozen=True, slots=True)
class GoodSpec:
    name: str
    price: int
    food: bool = False
    fuel: bool = False
    spoil_pct: int = 0
    keep: int = 0


@dataclass(frozen=True, slots=True)
class CreatureSpec:
    name: str
    species: str
    role: str
    personality: str
    pebbles: int
    produces: dict[str, int]
    stores: dict[str, int]
    # Units of each good used up every turn, beyond meals and fuel (living.py).
    needs: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MarketRules:
    max_orders: int = 4
    max_qty: int = 10
    band: int = 3
    # The mark rule (rules.next_mark): at each settlement a good's mark moves toward
    # its reference by at most this percent of the last mark (at least one pebble);
    # 0 states no rule, and the mark is the reference.
    mark_step_pct: int = 0


@dataclass(frozen=True, slots=True)
class LivingRules:
    meals: int = 1
    burn: int = 1
    winter_start: int = 6
    winter_every: int = 3
    mood_start: int = 70


@dataclass(frozen=True, slots=True)
class FinancierSpec:
    pebbles: int = 100
    objective_pebbles: int = 140
    objective_turn: int = 12
    # The longest whisper or rumour a creature is told whole; longer legend texts fail to load.
    whisper_chars: int = 300
    # How the season is lost (0: never): the magistrate's heat reaching `heat_limit`,
    # or the financier's worth falling below `bankrupt_below` at a settlement.
    heat_limit: int = 0
    bankrupt_below: int = 0
    # The patron's levers: the dearest loan rate (percent a turn) and longest term.
    max_rate: int = 50
    max_term: int = 10
    # The one-click first trade: financier commands, checked at load.
    first_trade: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MagistrateSpec:
    """The magistrate's rule, as data (financier/magistrate.py applies it).

    A win is variation margin the house pays on a short of GOOD. A win that
    follows within `window` turns a legend sprung on GOOD, a whisper that
    names GOOD, or a bribe taken whose ask names GOOD, draws heat: for each
    such lever, its percentage of the win, rounded up. Heat cools by `cool`
    at every settlement. A settlement that raised heat to `fine_at` or more
    fines `fine_pct` percent of that settlement's suspicious wins (rounded up)
    into the public purse; to `freeze_at` or more, freezes the financier's
    account for `freeze_turns` turns. 0 turns a threshold off.
    """

    window: int = 3
    spring_pct: int = 50
    whisper_pct: int = 25
    bribe_pct: int = 50
    cool: int = 5
    fine_at: int = 40
    fine_pct: int = 50
    freeze_at: int = 60
    freeze_turns: int = 3


def springs(command: str, legend_id: str) -> bool:
    """Whether a (loaded, so well-formed) command springs the legend `legend_id`."""
    parsed = parse_command(command)
    return isinstance(parsed, Spring) and parsed.legend == legend_id


@dataclass(frozen=True, slots=True)
class Gambit:
    name: str
    summary: str
    legend: Legend
    moves: tuple[tuple[int, tuple[str, ...]], ...]

    @property
    def target(self) -> str:
        return self.legend.target

    @property
    def spring_turn(self) -> int:
        """The first turn whose moves spring the gambit's legend (a loaded gambit has one)."""
        return next(t for t, ms in self.moves if any(springs(m, self.legend.id) for m in ms))

    @property
    def reckoning(self) -> int:
        """The turn whose settlement shows what the legend did to its target."""
        return self.spring_turn + self.legend.delay

    def script(self, mechanism: str | None = None) -> dict[int, tuple[str, ...]]:
        """turn -> commands. `none` drops the springs (the world without the legend); a
        mechanism of a run overrides one that a spring names itself."""
        out = {}
        for turn, moves in self.moves:
            kept = []
            for m in moves:
                parsed = parse_command(m)
                if isinstance(parsed, Spring):
                    if mechanism == "none":
                        continue
                    if mechanism in MECHANISMS and parsed.mechanism not in (None, mechanism):
                        m = Spring(parsed.legend, mechanism).line()
                kept.append(m)
            if kept:
                out[turn] = tuple(kept)
        return out


@dataclass(frozen=True, slots=True)
class Scenario:
    """A whole wood's definition. `text` is the file as read, `files` its legend files' texts."""

    path: str
    name: str
    turns: int
    goods: tuple[GoodSpec, ...]
    creatures: tuple[CreatureSpec, ...]
    market: MarketRules
    living: LivingRules
    financier: FinancierSpec
    legends: tuple[Legend, ...] = ()
    gambits: tuple[Gambit, ...] = ()
    key: str = ""
    text: str = field(repr=False, default="")
    files: Mapping[str, str] = field(repr=False, default_factory=dict)
    magistrate: MagistrateSpec = field(default_factory=MagistrateSpec)
    # The difficulty level's name (`[wood] level`), "" for a scenario without levels.
    level: str = ""

    @property
    def good_names(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.goods)

    @property
    def creature_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.creatures)

    @property
    def first_trade(self) -> tuple[str, ...]:
        return self.financier.first_trade

    @property
    def lexicon(self) -> Lexicon:
        """What a command may name in this scenario, and the limits it is held to."""
        return lexicon_of(
            self.good_names, self.creature_names, self.legends, self.market, self.financier
        )

    @property
    def digest(self) -> str:
        """sha256 (hex) of the scenario text and every legend file it read, by reference."""
        blob = json.dumps({"text": self.text, "files": dict(self.files)}, sort_keys=True)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def good(self, name: str) -> GoodSpec:
        for g in self.goods:
            if g.name == name:
                return g
        raise KeyError(name)

    def legend(self, legend_id: str) -> Legend:
        for lg in self.legends:
            if lg.id == legend_id:
                return lg
        ids = ", ".join(lg.id for lg in self.legends) or "none in this scenario"
        raise ActionError(f"unknown legend {legend_id!r}; legends are {ids}")

    def gambit(self, name: str) -> Gambit:
        for g in self.gambits:
            if g.name == name:
                return g
        names = ", ".join(g.name for g in self.gambits) or "none in this scenario"
        raise ActionError(f"unknown gambit {name!r}; gambits are {names}")


# Whole-number rules tables: each field's (least, greatest) allowed value.
_LIMITS: dict[type, dict[str, tuple[int, int]]] = {
    MarketRules: {
        "max_orders": (1, 20),
        "max_qty": (1, 1000),
        "band": (2, 100),
        "mark_step_pct": (0, 100),
    },
    LivingRules: {
        "meals": (0, 20),
        "burn": (0, MAX_NEED),
        "winter_start": (1, 10_000),
        "winter_every": (1, 10_000),
        "mood_start": (1, 100),
    },
    FinancierSpec: {
        "pebbles": (0, MAX_PEBBLES),
        "objective_pebbles": (0, 100 * MAX_PEBBLES),
        "objective_turn": (1, 10_000),
        "whisper_chars": (40, 2000),
        "heat_limit": (0, 100_000),
        "bankrupt_below": (0, 100 * MAX_PEBBLES),
        "max_rate": (0, 100),
        "max_term": (1, 100),
    },
    MagistrateSpec: {
        "window": (0, 100),
        "spring_pct": (0, 1000),
        "whisper_pct": (0, 1000),
        "bribe_pct": (0, 1000),
        "cool": (0, 100_000),
        "fine_at": (0, 100_000),
        "fine_pct": (0, 100),
        "freeze_at": (0, 100_000),
        "freeze_turns": (0, 100),
    },
}


def lexicon_of(
    goods: tuple[str, ...],
    creatures: tuple[str, ...],
    legends: tuple[Legend, ...],
    market: MarketRules,
    financier: FinancierSpec,
) -> Lexicon:
    """The command language's context for a scenario's parts (while it loads, and after)."""
    return Lexicon(
        goods=goods,
        creatures=creatures,
        legends={lg.id: lg for lg in legends},
        max_qty=market.max_qty,
        whisper_chars=financier.whisper_chars,
        max_rate=financier.max_rate,
        max_term=financier.max_term,
    )
