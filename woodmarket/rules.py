"""The rules of the wood stated once: orders, margin and interest, and the legends' mechanisms.

The market's admission (`market.check_orders`), the action parser's
validity check (`policies.orders.order_problem`) and the financier's
`order` command all call these, so a limit cannot mean one thing in one
room and another elsewhere. Pure functions over orders and holdings.

- An order names a good of the wood, a quantity of 1..`max_qty` and a
  whole limit price inside the good's band: `[max(1, ref // band),
  ref * band]` around its reference price, inclusive.
- A trader places at most `max_orders` orders a turn, never on both sides
  of one good (no self-trade), and only what it can pay for or deliver:
  a buy reserves qty x limit of its pebbles, a sale the goods, so no fill
  can overdraw anyone.

The financier's book and the command language share the margin rules
(`INITIAL_MARGIN_PCT`, `MAINTENANCE_PCT`, `ceil_pct`), the book the mark
rule (`next_mark`: how far a settlement may move a good's mark), the
patron and the `lend` command the interest rule (`interest`), and
legends, commands, specs and sweeps the names of the mechanisms
(`MECHANISMS`, and `ARMS` with the control arm `none`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from woodmarket.types import Order

# How a legend acts (legends.py): its rumour alone, a windfall into every
# creature's stores, or the reference price set at the settlement seam.
MECHANISMS = ("rumor", "glut", "settle")
# A world's mechanism in a sweep: one of those, or `none`, the gambit without its legend.
ARMS = ("none", *MECHANISMS)
# Margin on a short, in percent of its notional (financier/book.py).
INITIAL_MARGIN_PCT = 50
MAINTENANCE_PCT = 25


def ceil_pct(value: int, pct: int) -> int:
    """`pct` percent of `value`, rounded up (in the house's, or the lender's, favour)."""
    return -(-value * pct // 100)


def next_mark(last: int, reference: int, step_pct: int) -> int:
    """A good's mark at a settlement: its reference, at most one step from the last mark.

    The step is `step_pct` percent of the last mark, rounded down, and at
    least one pebble, so a mark always moves toward its reference and a
    reference that stands is reached. `step_pct` 0 states no limit: the
    mark is the reference (the scenario's `[market] mark_step_pct`).
    """
    if step_pct == 0:
        return reference
    step = max(1, last * step_pct // 100)
    return min(max(reference, last - step), last + step)


def interest(amount: int, rate: int) -> int:
    """A settlement's interest on `amount` at `rate` percent: rounded up, in the lender's favour."""
    return ceil_pct(amount, rate)


class Limits(Protocol):
    """The market rules an order is held to (a scenario's `MarketRules`)."""

    @property
    def max_orders(self) -> int: ...
    @property
    def max_qty(self) -> int: ...
    @property
    def band(self) -> int: ...


class Holding(Protocol):
    """What a trader holds (a ledger `Account`)."""

    pebbles: int
    stores: dict[str, int]


def band(reference: int, width: int) -> tuple[int, int]:
    """Inclusive limit-price band around a reference price."""
    return max(1, reference // width), reference * width


def order_problem(
    order: Order, goods: Sequence[str], bands: Mapping[str, tuple[int, int]], max_qty: int
) -> str:
    """Why one order breaks the rules by itself; "" when it does not.

    `bands` holds each good's price band (`band(reference, width)`), as the
    market computes it and as every observation carries it.
    """
    if order.good not in goods:
        return f"unknown good {order.good!r}"
    if order.qty > max_qty:
        return f"quantity {order.qty} above the limit of {max_qty}"
    found = bands.get(order.good)
    if found is None:
        return f"no price band for {order.good}"
    lo, hi = found
    if not lo <= order.price <= hi:
        return f"price {order.price} outside the band {lo}..{hi} for {order.good}"
    return ""


class _Bands(dict[str, tuple[int, int]]):
    """Bands around reference prices, each computed when first asked for."""

    def __init__(self, references: Mapping[str, int], width: int) -> None:
        super().__init__()
        self.references, self.width = references, width

    def __missing__(self, good: str) -> tuple[int, int]:
        found = self[good] = band(self.references[good], self.width)
        return found

    def get(  # type: ignore[override]  # a band for every good with a reference
        self, good: str, default: tuple[int, int] | None = None
    ) -> tuple[int, int] | None:
        return self[good] if good in self.references else default


class Admission:
    """One turn's admission of orders, in sequence: counts, sides, reservations."""

    def __init__(
        self,
        goods: Sequence[str],
        references: Mapping[str, int],
        holdings: Mapping[str, Holding],
        limits: Limits,
    ) -> None:
        self.goods = goods
        self.references = references
        self.bands = _Bands(references, limits.band)
        self.holdings = holdings
        self.limits = limits
        self.pebbles: dict[str, int] = {}
        self.stores: dict[tuple[str, str], int] = {}
        self.counts: dict[str, int] = {}
        self.sides: dict[tuple[str, str], str] = {}

    def free_pebbles(self, who: str) -> int:
        return self.pebbles.get(who, self.holdings[who].pebbles)

    def free_goods(self, who: str, good: str) -> int:
        return self.stores.get((who, good), self.holdings[who].stores[good])

    def problem(self, o: Order) -> str:
        """Why `o` cannot join the orders admitted so far; "" when it can."""
        who = o.creature
        if who not in self.holdings:
            return f"unknown trader {who!r}"
        if o.good not in self.goods:
            return f"unknown good {o.good!r}"
        if self.counts.get(who, 0) >= self.limits.max_orders:
            return f"more than {self.limits.max_orders} orders this turn"
        single = order_problem(o, self.goods, self.bands, self.limits.max_qty)
        if single:
            return single
        other = self.sides.get((who, o.good), o.side)
        if other != o.side:
            return f"self-trade: already has a {other} order for {o.good}"
        if o.side == "buy":
            cost, free = o.qty * o.price, self.free_pebbles(who)
            if cost > free:
                return f"not enough pebbles: needs {cost}, has {free} unreserved"
        elif o.qty > (free := self.free_goods(who, o.good)):
            return f"not enough {o.good}: sells {o.qty}, has {free} unreserved"
        return ""

    def admit(self, o: Order) -> str:
        """Admit `o` (reserving what it needs) or say why not; every order counts."""
        who = o.creature
        reason = self.problem(o)
        if who in self.holdings:
            self.counts[who] = self.counts.get(who, 0) + 1
        if reason:
            return reason
        self.sides[(who, o.good)] = o.side
        if o.side == "buy":
            self.pebbles[who] = self.free_pebbles(who) - o.qty * o.price
        else:
            self.stores[(who, o.good)] = self.free_goods(who, o.good) - o.qty
        return ""
