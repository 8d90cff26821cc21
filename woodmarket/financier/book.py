"""The financier's book: shorts against the house, marks, margin and forced cover.

This room owns the open shorts, the closed trades and every good's mark.
It moves pebbles only between the `financier` and `house` ledger accounts,
and reads reference prices; it knows nothing of commands, whispers or
legends (the settlement tells it which goods a legend settled).

Shorts and margin (whole pebbles, every product rounded up in the house's
favour):
- The **mark** of a good is the price the house deals at. Each settlement
  (after any `settle` legend lands) it moves toward the good's reference
  price by at most the scenario's `[market] mark_step_pct` percent of the
  last mark, rounded down, at least one pebble (rules.next_mark); a good
  whose reference a `settle` legend set this turn is marked there in full.
  With no rule (0, the default) the mark is the reference. The marks start
  at the references when the book opens.
- A short of QTY units of GOOD opens at GOOD's mark (the entry). It never
  trades with creatures: it is a contract with the house.
- Initial margin: opening needs free pebbles of at least 50% of the
  notional (QTY x entry). Free pebbles are the financier's pebbles less the
  initial margin of every open short (at its last mark) and less what
  pending buy orders reserve. One short per good; cover before resizing.
- Variation margin: at every settlement each short is marked at its good's
  new mark and the difference, QTY x (last mark - new mark), moves between
  `financier` and `house`. So the P&L is always paid, and pebbles are
  conserved, the house included.
- Maintenance: after marking, the financier's pebbles must be at least
  25% of the notional of the open shorts at their new marks. Below that,
  shorts are force-covered at the mark, largest first, until the rest is
  covered. Stores are not collateral: equity for margin is pebbles.
- A cover, the financier's or forced, closes at the good's mark: the one
  the last settlement paid to, so nothing more changes hands.
- A loss larger than the financier's pebbles empties them; the rest is the
  house's loss (recorded as a shortfall). The financier never goes below 0.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from woodmarket.ledger import HOUSE, Ledger
from woodmarket.rules import INITIAL_MARGIN_PCT, MAINTENANCE_PCT, ceil_pct, next_mark

FINANCIER = "financier"


@dataclass(slots=True)
class Position:
    """An open short: QTY units of GOOD owed to the house at the entry price."""

    good: str
    qty: int
    entry: int
    mark: int
    opened: int
    pnl: int = 0  # variation margin received so far (negative: paid)

    def to_dict(self) -> dict[str, Any]:
        return {
            "good": self.good,
            "qty": self.qty,
            "entry": self.entry,
            "mark": self.mark,
            "pnl": self.pnl,
        }


@dataclass(frozen=True, slots=True)
class Closed:
    good: str
    qty: int
    entry: int
    exit: int
    pnl: int
    turn: int
    forced: bool


@dataclass
class Book:
    """The financier's shorts in one wood, settled through its ledger, and the goods' marks."""

    ledger: Ledger
    # Every good's mark: the price the house deals at (see the module's docstring).
    marks: dict[str, int] = field(default_factory=dict)
    # The scenario's mark rule, `[market] mark_step_pct`; 0: the mark is the reference.
    step_pct: int = 0
    positions: dict[str, Position] = field(default_factory=dict)
    closed: list[Closed] = field(default_factory=list)
    shortfall: int = 0
    # (good, pebbles) the house paid on each mark since the magistrate last read them.
    gains: list[tuple[str, int]] = field(default_factory=list)

    @property
    def pebbles(self) -> int:
        return self.ledger.accounts[FINANCIER].pebbles

    def initial_margin(self) -> int:
        return sum(ceil_pct(p.qty * p.mark, INITIAL_MARGIN_PCT) for p in self.positions.values())

    def maintenance(self) -> int:
        return sum(ceil_pct(p.qty * p.mark, MAINTENANCE_PCT) for p in self.positions.values())

    def realized(self) -> int:
        return sum(c.pnl for c in self.closed)

    def open(self, good: str, qty: int, entry: int, turn: int) -> Position:
        p = self.positions[good] = Position(good, qty, entry, entry, turn)
        return p

    def close(self, good: str, price: int, turn: int, forced: bool) -> Closed:
        p = self.positions.pop(good)
        self.mark(p, price)
        c = Closed(good, p.qty, p.entry, p.mark, p.pnl, turn, forced)
        self.closed.append(c)
        return c

    def mark(self, p: Position, price: int) -> None:
        """Variation margin: the move since the last mark changes hands now."""
        gain = p.qty * (p.mark - price)
        if gain > 0:
            self.ledger.pay(HOUSE, FINANCIER, gain)
            p.pnl += gain
            self.gains.append((p.good, gain))
        elif gain < 0:
            paid = min(-gain, self.pebbles)
            self.ledger.pay(FINANCIER, HOUSE, paid)
            p.pnl -= paid
            self.shortfall += -gain - paid
        p.mark = price

    def settle_marks(self, references: Mapping[str, int], landed: Collection[str]) -> None:
        """Every good's mark at this settlement, then each short's variation margin at it.

        `landed`: the goods whose reference an authored settlement (a `settle`
        legend) set this turn; their mark is that reference, in full.
        """
        for good, reference in references.items():
            if good in landed:
                self.marks[good] = reference
            else:
                self.marks[good] = next_mark(self.marks[good], reference, self.step_pct)
        for good in sorted(self.positions):
            self.mark(self.positions[good], self.marks[good])

    def margin_calls(self, turn: int) -> Iterator[tuple[int, int, Closed]]:
        """Force-cover the largest shorts while pebbles are below maintenance.

        Yields (pebbles, maintenance, closed) as each cover happens.
        """
        while self.positions and self.pebbles < self.maintenance():
            need, have = self.maintenance(), self.pebbles
            good = max(
                self.positions, key=lambda g: (self.positions[g].qty * self.positions[g].mark, g)
            )
            yield have, need, self.close(good, self.positions[good].mark, turn, forced=True)
