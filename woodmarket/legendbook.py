"""The legend book: legends told in one wood, and their effects landed at the seams.

The book may touch the wood's news, reference prices (at the `settle`
seam only), creatures' stores (a glut, through `ledger.windfall`),
sentiment toward the financier, and the turn's public happenings and
trace records. Nothing else.

Mechanisms, for a legend sprung for turn t:
- `rumor`: the rumor enters the news on turn t; nothing else moves.
- `glut`: the rumor, and `qty` units of the target windfall into every
  creature's stores as the legend is told, in turn t's events.
- `settle`: the rumor, and at the `settle` seam of turn t + delay (after
  clearing) the target's reference price becomes the pre-legend price
  (the reference when the legend was sprung) times `factor`, rounded half
  down to a whole pebble and never below 1: 9 x 0.5 = 4.5 -> 4, 5 x 1.5 =
  7.5 -> 7.

The financier's book marks a good a `settle` legend set at that
settlement in full, whatever the scenario's mark rule (`settled`).

At turn t + delay (the reckoning, whatever the mechanism) the book tells
the wood, as a public happening, whether the target crashed or the gamble
soured, and every creature that lost on its stores of the target grows
colder toward the financier. The parameters (factor, delay, qty) and the
mechanism stay in this book and the trace; observations never see them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from woodmarket.errors import ActionError
from woodmarket.legends import Legend, settle_price
from woodmarket.rules import MECHANISMS

if TYPE_CHECKING:
    from woodmarket.state import TurnState, WoodState

FINANCIER = "financier"
CRASH_PCT = 20  # a fall of at least this share of the pre-legend price reads as a crash


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
    """The legends sprung in one wood. Lives in `wood.legends` (`LegendBook.of(wood)`).

    `override` replaces every legend's own mechanism (how a run reproduces
    Table 1); `None` keeps each legend's.
    """

    override: str | None = None
    sprung: list[Sprung] = field(default_factory=list)

    @classmethod
    def attach(cls, wood: WoodState, override: str | None = None) -> LegendBook:
        """The wood's book, created and hooked to the seams on first use."""
        if wood.legends is None:
            if override is not None and override not in MECHANISMS:
                raise ActionError(f"unknown mechanism {override!r}; use {', '.join(MECHANISMS)}")
            book = cls(override)
            wood.legends = book
            wood.seams.add("settle", book.settle)
        return cls.of(wood)

    @classmethod
    def of(cls, wood: WoodState) -> LegendBook:
        """The wood's book (ActionError when no legend can be told in it)."""
        book = wood.legends
        if not isinstance(book, cls):
            raise ActionError("no legend is told in this wood (it has no legend book)")
        return book

    def told(self, legend_id: str) -> bool:
        return any(s.legend.id == legend_id for s in self.sprung)

    def settled(self, turn: int) -> set[str]:
        """The goods whose reference a `settle` legend sets at `turn`'s settlement.

        The financier's book marks them there in full: the authored
        settlement is a fact, which no mark rule smooths.
        """
        return {
            s.legend.target for s in self.sprung if s.reckoning == turn and s.mechanism == "settle"
        }

    def mechanism_of(self, legend: Legend) -> str:
        return self.override or legend.mechanism

    def spring(
        self, wood: WoodState, legend: Legend, t: TurnState, mechanism: str | None = None
    ) -> str:
        """Tell a legend now, in turn `t`'s events; `mechanism` overrides the book's and its own."""
        if legend.target not in wood.goods:
            raise ActionError(f"legend {legend.id} targets {legend.target!r}, not a good here")
        if self.told(legend.id):
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
