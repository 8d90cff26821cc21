"""Legends: Wood Legends as data, and the book that lands them at the seams.

This room parses legends (a legend file, or an inline `[legends.ID]`
table of a scenario; a scenario names its own legends, see scenario.py
and docs/scenarios.md, and there is no global registry) and keeps the
`LegendBook`: the legends sprung in one wood and their effects. The book may touch the
wood's news, reference prices (at the `settle` seam only), creatures'
stores (a glut, through `ledger.windfall`), sentiment toward the financier,
and the turn's public happenings and trace records. Nothing else.

A legend file::

    id = "oona_run"
    title = "The Run on Oona's Hoard"
    episode = "The bank runs of 1929-1933 ..."   # the history it retells
    target = "honey"                             # the good it moves
    rumor = "Word spreads that ..."              # what every creature hears
    tips = ["...", "..."]                        # true facts the financier may whisper
    mechanism = "settle"                         # rumor | glut | settle (a run may override)
    [settle]
    factor = 0.5                                 # reference = pre-legend price x factor
    delay = 1                                    # lands at the settlement of turn t + delay
    [glut]
    qty = 6                                      # units of the target into every creature

The rumour, the title and every tip must fit in the scenario's
`whisper_chars` (default 300): a creature is told them whole.

Mechanisms, for a legend sprung for turn t:
- `rumor`: the rumor enters the news on turn t; nothing else moves.
- `glut`: the rumor, and `qty` units of the target windfall into every
  creature's stores at the `before_decide` seam of turn t.
- `settle`: the rumor, and at the `settle` seam of turn t + delay (after
  clearing) the target's reference price becomes the pre-legend price
  (the reference when the legend was sprung) times `factor`, rounded half
  down to a whole pebble and never below 1: 9 x 0.5 = 4.5 -> 4, 5 x 1.5 =
  7.5 -> 7. The factor is read exactly (0.5 is 1/2), never as a float.

At turn t + delay (the reckoning, whatever the mechanism) the book tells
the wood, as a public happening, whether the target crashed or the gamble
soured, and every creature that lost on its stores of the target grows
colder toward the financier. The parameters (factor, delay, qty) and the
mechanism stay in this book and the trace; observations never see them.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from woodmarket.errors import ActionError, ScenarioError

if TYPE_CHECKING:
    from woodmarket.state import TurnState, WoodState

MECHANISMS = ("rumor", "glut", "settle")
FINANCIER = "financier"
DEFAULT_FACTOR = Fraction(1, 2)
DEFAULT_DELAY = 1
DEFAULT_QTY = 6
WHISPER_CHARS = 300  # the default of a scenario's `[financier] whisper_chars`
MAX_FACTOR = 100
MAX_DELAY = 100
MAX_GLUT = 10_000
CRASH_PCT = 20  # a fall of at least this share of the pre-legend price reads as a crash


@dataclass(frozen=True, slots=True)
class Legend:
    """One Wood Legend, validated. `factor` is exact; `path` names its file."""

    id: str
    title: str
    episode: str
    target: str
    rumor: str
    tips: tuple[str, ...]
    mechanism: str
    factor: Fraction = DEFAULT_FACTOR
    delay: int = DEFAULT_DELAY
    qty: int = DEFAULT_QTY
    path: str = ""


def settle_price(pre: int, factor: Fraction) -> int:
    """pre x factor, rounded half down to a whole pebble, at least 1."""
    return max(1, math.ceil(Fraction(pre) * factor - Fraction(1, 2)))


def _get(path: str, table: dict[str, Any], key: str, kind: type, prefix: str = "") -> Any:
    if key not in table:
        raise ScenarioError(path, prefix + key, f"missing; expected {_kind(kind)}")
    value = table[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ScenarioError(
            path, prefix + key, f"expected {_kind(kind)}, got {type(value).__name__}"
        )
    return value


def _kind(kind: type) -> str:
    return {str: "a string", int: "a whole number", list: "a list", dict: "a table"}.get(
        kind, kind.__name__
    )


def _text(path: str, table: dict[str, Any], key: str, prefix: str = "", limit: int = 0) -> str:
    value = _get(path, table, key, str, prefix).strip()
    if not value:
        raise ScenarioError(path, prefix + key, "a non-empty string")
    if limit and len(value) > limit:
        raise ScenarioError(
            path,
            prefix + key,
            f"at most {limit} characters (the scenario's whisper_chars: what a creature "
            f"is told whole), got {len(value)}",
        )
    return value


def _valid_id(legend_id: str) -> bool:
    return legend_id.replace("_", "").isalnum() and legend_id.isascii() and legend_id.islower()


LEGEND_KEYS = ("id", "title", "episode", "target", "rumor", "tips", "mechanism", "settle", "glut")


def legend_from_table(
    data: dict[str, Any],
    path: str,
    prefix: str = "",
    whisper_chars: int = WHISPER_CHARS,
    legend_id: str | None = None,
) -> Legend:
    """A legend from a parsed table: a legend file's top level, or a scenario's inline
    `[legends.ID]` (then `legend_id` is the ID, and an `id` key, if any, must agree).

    The rumour and every tip must fit in `whisper_chars`: a creature is told them whole.
    """
    for key in data:
        if key not in LEGEND_KEYS:
            raise ScenarioError(path, prefix + key, f"one of {', '.join(sorted(LEGEND_KEYS))}")
    if legend_id is None or "id" in data:
        written = _text(path, data, "id", prefix)
        if legend_id is not None and written != legend_id:
            raise ScenarioError(
                path, prefix + "id", f"{legend_id!r}, the table's name; got {written!r}"
            )
        legend_id = written
    if not _valid_id(legend_id):
        raise ScenarioError(
            path, prefix + "id", f"lower-case letters, digits and _; got {legend_id!r}"
        )
    tips = _get(path, data, "tips", list, prefix)
    if not tips or not all(isinstance(s, str) and s.strip() and "\n" not in s for s in tips):
        raise ScenarioError(path, prefix + "tips", "a non-empty list of one-line strings")
    for i, tip in enumerate(tips):
        if len(tip.strip()) > whisper_chars:
            raise ScenarioError(
                path,
                f"{prefix}tips[{i}]",
                f"at most {whisper_chars} characters (the scenario's whisper_chars: what a "
                f"creature is told whole), got {len(tip.strip())}",
            )
    mechanism = _text(path, data, "mechanism", prefix)
    if mechanism not in MECHANISMS:
        raise ScenarioError(
            path, prefix + "mechanism", f"one of {', '.join(MECHANISMS)}; got {mechanism!r}"
        )
    settle = data.get("settle", {})
    glut = data.get("glut", {})
    for name, table in (("settle", settle), ("glut", glut)):
        if not isinstance(table, dict):
            raise ScenarioError(path, prefix + name, "a table")
    for name, table, allowed in (("settle", settle, ("factor", "delay")), ("glut", glut, ("qty",))):
        for key in table:
            if key not in allowed:
                raise ScenarioError(path, f"{prefix}{name}.{key}", f"one of {', '.join(allowed)}")
    factor = DEFAULT_FACTOR
    if "factor" in settle:
        raw = settle["factor"]
        ok = not isinstance(raw, bool) and isinstance(raw, int | float)
        if not ok or not 0 < raw <= MAX_FACTOR or raw != raw:
            raise ScenarioError(
                path,
                prefix + "settle.factor",
                f"a number above 0, at most {MAX_FACTOR}; got {raw!r}",
            )
        factor = Fraction(str(raw))  # 0.5 means exactly 1/2
        if factor.denominator > 1000:
            raise ScenarioError(
                path, prefix + "settle.factor", f"at most three decimals, got {raw!r}"
            )
    delay = DEFAULT_DELAY
    if "delay" in settle:
        delay = _get(path, settle, "delay", int, prefix + "settle.")
        if not 0 <= delay <= MAX_DELAY:
            raise ScenarioError(
                path, prefix + "settle.delay", f"a whole number from 0 to {MAX_DELAY}, got {delay}"
            )
    qty = DEFAULT_QTY
    if "qty" in glut:
        qty = _get(path, glut, "qty", int, prefix + "glut.")
        if not 1 <= qty <= MAX_GLUT:
            raise ScenarioError(
                path, prefix + "glut.qty", f"a whole number from 1 to {MAX_GLUT}, got {qty}"
            )
    return Legend(
        id=legend_id,
        title=_text(path, data, "title", prefix, limit=whisper_chars),
        episode=_text(path, data, "episode", prefix),
        target=_text(path, data, "target", prefix),
        rumor=_text(path, data, "rumor", prefix, limit=whisper_chars),
        tips=tuple(s.strip() for s in tips),
        mechanism=mechanism,
        factor=factor,
        delay=delay,
        qty=qty,
        path=path,
    )


def parse_legend(text: str, path: str = "<legend>", whisper_chars: int = WHISPER_CHARS) -> Legend:
    """A legend from TOML text; a broken file raises ScenarioError(path, key, expected)."""
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, "(syntax)", f"valid TOML: {exc}") from None
    return legend_from_table(data, path, "", whisper_chars)


def load_legend(path: str | Path, whisper_chars: int = WHISPER_CHARS) -> Legend:
    """A legend file on its own (a scenario reads its legends itself, see scenario.py)."""
    from woodmarket.scenario import read_text_file

    return parse_legend(read_text_file(path, "a legend file"), str(path), whisper_chars)


@dataclass(slots=True)
class Sprung:
    """A legend in play: when it was sprung, how, and what the target did."""

    legend: Legend
    mechanism: str
    turn: int
    pre: int
    reckoning: int
    after: int | None = None


@dataclass
class LegendBook:
    """The legends sprung in one wood. Lives in `wood.extensions["legends"]`.

    `override` replaces every legend's own mechanism (how a run reproduces
    Table 1); `None` keeps each legend's.
    """

    override: str | None = None
    sprung: list[Sprung] = field(default_factory=list)

    @classmethod
    def attach(cls, wood: WoodState, override: str | None = None) -> LegendBook:
        """The wood's book, created and hooked to the seams on first use."""
        book = wood.extensions.get("legends")
        if book is None:
            if override is not None and override not in MECHANISMS:
                raise ActionError(f"unknown mechanism {override!r}; use {', '.join(MECHANISMS)}")
            book = wood.extensions["legends"] = cls(override)
            wood.seams.add("settle", book.settle)
        return book

    def mechanism_of(self, legend: Legend) -> str:
        return self.override or legend.mechanism

    def spring(
        self, wood: WoodState, legend: Legend, t: TurnState, mechanism: str | None = None
    ) -> str:
        """Tell a legend now, in turn `t`'s events; `mechanism` overrides the book's and its own."""
        if legend.target not in wood.goods:
            raise ActionError(f"legend {legend.id} targets {legend.target!r}, not a good here")
        if any(s.legend.id == legend.id for s in self.sprung):
            raise ActionError(f"{legend.title} has already been told in this wood")
        if mechanism is not None and mechanism not in MECHANISMS:
            raise ActionError(f"unknown mechanism {mechanism!r}; use {', '.join(MECHANISMS)}")
        self._land(wood, t, legend, mechanism)
        return f"{legend.title} is told in the wood this turn"

    def _land(
        self, wood: WoodState, t: TurnState, legend: Legend, mechanism: str | None = None
    ) -> None:
        mech = mechanism or self.mechanism_of(legend)
        g = legend.target
        s = Sprung(legend, mech, t.turn, wood.prices[g], t.turn + legend.delay)
        self.sprung.append(s)
        wood.news.append((t.turn, legend.rumor))
        t.public.append(f"{legend.title}: the tale is on every tongue")
        t.emit(
            "legend",
            event="sprung",
            id=legend.id,
            mechanism=mech,
            target=g,
            price=s.pre,
            reckoning=s.reckoning,
        )
        if mech == "glut":
            for name in wood.names:
                wood.ledger.windfall(name, g, legend.qty)
            t.emit("legend", event="glut", id=legend.id, target=g, qty=legend.qty)

    def settle(self, wood: WoodState, t: TurnState) -> None:
        for s in self.sprung:
            if s.reckoning != t.turn:
                continue
            g = s.legend.target
            if s.mechanism == "settle":
                cleared = wood.prices[g]
                wood.prices[g] = settle_price(s.pre, s.legend.factor)
                t.emit(
                    "legend",
                    event="settled",
                    id=s.legend.id,
                    target=g,
                    cleared=cleared,
                    reference=wood.prices[g],
                )
            s.after = wood.prices[g]
            t.public.append(_reckoning_line(s))
            _blame(wood, t, s)


def _reckoning_line(s: Sprung) -> str:
    """Public words for how the tale ended; the narrator adds the turn's price move."""
    g, title, pre, after = s.legend.target, s.legend.title, s.pre, s.after or 0
    if after <= pre * (100 - CRASH_PCT) // 100:
        return f"{title} comes true: {g} is dumped"
    if after < pre:
        return f"{g.capitalize()} barely slips after {title}"
    return f"The {g} gamble had soured: {g} holds up after {title}"


def _blame(wood: WoodState, t: TurnState, s: Sprung) -> None:
    """Creatures whose stores of the target lost value grow colder toward the financier."""
    drop = s.pre - (s.after or 0)
    if drop <= 0:
        return
    for name, c in wood.creatures.items():
        loss = c.account.stores[s.legend.target] * drop
        if loss > 0:
            delta = -min(40, 10 + loss // 4)
            wood.memory.feel(name, FINANCIER, delta)
            t.emit("sentiment", holder=name, about=FINANCIER, delta=delta, why="legend loss")
