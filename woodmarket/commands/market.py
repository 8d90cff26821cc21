"""The market's verbs: a short against the house, its cover, and a real order in the auction.

    short GOOD QTY                 a short on GOOD with the house, opened at GOOD's mark
    cover GOOD                     close the short on GOOD at its mark
    order buy|sell GOOD QTY PRICE  a real order in this turn's auction

The house deals at a good's mark: the reference price itself, unless the
scenario states a mark rule (`[market] mark_step_pct`), and then the price
the last settlement marked at. A message quoting a mark says where the
reference stands when it differs (`at_mark`). Each class parses, names,
checks and makes itself (see base.py); the book itself (marks, margin
calls) is the financier's. Reads the wood only through the `Desk`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from woodmarket.commands.base import Command, Desk, Field, Lexicon, count, value
from woodmarket.errors import ActionError
from woodmarket.rules import INITIAL_MARGIN_PCT, ceil_pct

SIDES = ("buy", "sell")


def at_mark(mark: int, reference: int) -> str:
    """What a price quoted at the mark adds when the reference stands elsewhere ("" when not)."""
    return "" if mark == reference else f" (the mark; the reference is {reference})"


@dataclass(frozen=True, slots=True)
class Short(Command):
    good: str
    qty: int

    verb: ClassVar[str] = "short"
    usage: ClassVar[str] = "short GOOD QTY"
    title: ClassVar[str] = "Short a good"
    action: ClassVar[str] = "Short"
    summary: ClassVar[str] = (
        f"short a good against the house, at its mark ({INITIAL_MARGIN_PCT}% initial margin)"
    )
    fields: ClassVar[tuple[Field, ...]] = (
        Field("good", "good", "good"),
        Field("qty", "whole", "quantity", default="8"),
    )
    usage_error: ClassVar[str] = "usage: short GOOD QTY (a good of this wood, a whole number)"

    @classmethod
    def from_fields(cls, values: Mapping[str, str]) -> Short:
        good = value(values, "good", cls.usage_error).lower()
        return cls(good, count(value(values, "qty", cls.usage_error), "quantity"))

    def named(self, lexicon: Lexicon) -> Short:
        return Short(lexicon.good(self.good), self.qty)

    def check(self, desk: Desk, ahead: Sequence[Command]) -> str:
        good = self.named(desk.lexicon).good
        covered = any(c.covers() == good for c in ahead)
        position = desk.position(good)
        if position is not None and not covered:
            raise ActionError(f"already short {position.qty} {good}; cover {good} first to resize")
        if any(isinstance(c, Short) and c.good == good for c in ahead):
            raise ActionError(f"a short of {good} is already queued; cover {good} first to resize")
        entry = desk.mark(good)
        at = f"{entry}{at_mark(entry, desk.price(good))}"
        need = ceil_pct(self.qty * entry, INITIAL_MARGIN_PCT)
        free = desk.free(ahead)
        if need > free:
            raise ActionError(
                f"not enough margin: short {self.qty} {good} at {at} needs {need} pebbles of "
                f"initial margin ({INITIAL_MARGIN_PCT}% of {self.qty * entry}); "
                f"you have {free} free"
            )
        return f"short {self.qty} {good} at {at}; {need} pebbles held as initial margin"

    def make(self, desk: Desk) -> str:
        message = self.check(desk, ())
        desk.open_short(self.good, self.qty)
        return message

    def holds(self, desk: Desk, covered: set[str]) -> int:
        if self.good in covered:
            return 0
        return ceil_pct(self.qty * desk.mark(self.good), INITIAL_MARGIN_PCT)

    def follow_ups(self, lexicon: Lexicon) -> tuple[Command, ...]:
        return (Cover(self.good),)


@dataclass(frozen=True, slots=True)
class Cover(Command):
    good: str

    verb: ClassVar[str] = "cover"
    usage: ClassVar[str] = "cover GOOD"
    title: ClassVar[str] = "Cover a short"
    action: ClassVar[str] = "Cover"
    summary: ClassVar[str] = "close your short on GOOD at its mark"
    fields: ClassVar[tuple[Field, ...]] = (Field("good", "good", "good"),)
    usage_error: ClassVar[str] = "usage: cover GOOD (a good you are short of)"

    @classmethod
    def from_fields(cls, values: Mapping[str, str]) -> Cover:
        return cls(value(values, "good", cls.usage_error).lower())

    def named(self, lexicon: Lexicon) -> Cover:
        return Cover(lexicon.good(self.good))

    def check(self, desk: Desk, ahead: Sequence[Command]) -> str:
        good = self.named(desk.lexicon).good
        opened = [c for c in ahead if isinstance(c, Short) and c.good == good]
        covers = sum(c.covers() == good for c in ahead)
        position = desk.position(good)
        if (position is not None) + len(opened) - covers < 1:
            raise ActionError(f"nothing to cover: no short in {good}")
        price = desk.mark(good)
        at = f"{price}{at_mark(price, desk.price(good))}"
        if position is not None and not covers:
            pnl = position.pnl + position.qty * (position.mark - price)
            return f"covered {position.qty} {good} at {at} (entry {position.entry}); P&L {pnl:+d}"
        return f"covered {opened[-1].qty} {good} at {at} (entry {price}); P&L +0"

    def make(self, desk: Desk) -> str:
        self.check(desk, ())
        c = desk.close_short(self.good)
        at = f"{c.exit}{at_mark(c.exit, desk.price(c.good))}"
        return f"covered {c.qty} {c.good} at {at} (entry {c.entry}); P&L {c.pnl:+d}"

    def covers(self) -> str | None:
        return self.good


@dataclass(frozen=True, slots=True)
class PlaceOrder(Command):
    side: str
    good: str
    qty: int
    price: int

    verb: ClassVar[str] = "order"
    usage: ClassVar[str] = "order buy|sell GOOD QTY PRICE"
    title: ClassVar[str] = "Place an order in the auction"
    action: ClassVar[str] = "Place order"
    summary: ClassVar[str] = "a real order in this turn's auction, with your pebbles/stores"
    fields: ClassVar[tuple[Field, ...]] = (
        Field("side", "choice", "side", SIDES, default="buy"),
        Field("good", "good", "good"),
        Field("qty", "whole", "quantity", default="1"),
        Field("price", "whole", "price", default="5"),
    )
    usage_error: ClassVar[str] = (
        "usage: order buy|sell GOOD QTY PRICE (whole numbers; `at` before PRICE is allowed)"
    )

    @classmethod
    def parse(cls, words: list[str], rest: str) -> PlaceOrder:
        words = [w for w in words if w.lower() != "at"]
        if len(words) != 4:
            raise ActionError(cls.usage_error)
        return cls.from_fields(dict(zip(("side", "good", "qty", "price"), words, strict=True)))

    @classmethod
    def from_fields(cls, values: Mapping[str, str]) -> PlaceOrder:
        side = value(values, "side", cls.usage_error).lower()
        if side not in SIDES:
            raise ActionError(cls.usage_error)
        good = value(values, "good", cls.usage_error).lower()
        qty = value(values, "qty", cls.usage_error)
        price = value(values, "price", cls.usage_error)
        return cls(side, good, count(qty, "quantity"), count(price, "price"))

    def named(self, lexicon: Lexicon) -> PlaceOrder:
        good = lexicon.good(self.good)
        if self.qty > lexicon.max_qty:  # the market's rule, in the market's words (rules.py)
            raise ActionError(f"quantity {self.qty} above the limit of {lexicon.max_qty}")
        return PlaceOrder(self.side, good, self.qty, self.price)

    def check(self, desk: Desk, ahead: Sequence[Command]) -> str:
        good = self.named(desk.lexicon).good
        reason = desk.order_problem(self.side, good, self.qty, self.price, ahead)
        if reason:
            raise ActionError(reason)
        return (
            f"order placed: {self.side} {self.qty} {good} at {self.price}, in this turn's auction"
        )

    def make(self, desk: Desk) -> str:
        message = self.check(desk, ())
        desk.place(self.side, self.good, self.qty, self.price)
        return message

    def holds(self, desk: Desk, covered: set[str]) -> int:
        return self.qty * self.price if self.side == "buy" else 0
