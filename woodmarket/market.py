"""The market: admission of orders and one uniform-price call auction per good.

Pure functions over orders and holdings; they move nothing. The turn's
clear phase applies the fills through the ledger. The order rules
themselves (limits, band, self-trade, reservation) are stated in rules.py.

The clearing rule (the opening and closing auction of real exchanges):
1. the clearing price maximises executed volume min(demand(p), supply(p)),
   where demand(p) sums bids with limit >= p and supply(p) asks with limit <= p;
2. ties go to the least imbalance |demand(p) - supply(p)|;
3. then to the price closest to the last reference price;
4. then to the lower price.
Every whole price could be the answer, but only limit prices and, inside
each gap between adjacent limits, the point closest to the reference can
win, so those are the only candidates examined (tests check this against
a brute force over every whole price).

Rationing: the short side fills completely; the long side fills by price
priority (highest bids, lowest asks first); at equal prices, the orders of
creatures with a pact partner on the other side of the same good's auction
come first (allies are served first when the auction rations: the price
stays the one uniform price), then a seeded random order, so no creature is
always first. Without pacts the order is exactly the seeded one.

When nothing trades the reference drifts one step, `max(1, ref // 10)`,
up if unfilled demand exceeds unfilled supply, down if supply exceeds
demand (never below 1).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from woodmarket.ledger import Account
from woodmarket.rules import Admission, Limits
from woodmarket.types import Fill, Order


@dataclass(frozen=True, slots=True)
class Rejection:
    order: Order
    reason: str


@dataclass(frozen=True, slots=True)
class Clearing:
    """One good's auction result for one turn."""

    good: str
    traded: bool
    price: int | None
    volume: int
    demand: int
    supply: int
    reference: int
    fills: tuple[Fill, ...]


def admit_all(
    orders: Sequence[Order],
    *,
    goods: Sequence[str],
    references: Mapping[str, int],
    holdings: Mapping[str, Account],
    limits: Limits,
) -> list[str]:
    """Each order's reason for rejection ("" when admitted), in the given sequence.

    Admitted orders reserve the buyer's pebbles (qty x limit) and the
    seller's stores, so no fill can ever overdraw anyone. The answer is
    by position, so an order placed twice is judged twice.
    """
    admission = Admission(goods, references, holdings, limits)
    return [admission.admit(o) for o in orders]


def check_orders(
    orders: Sequence[Order],
    *,
    goods: Sequence[str],
    references: Mapping[str, int],
    holdings: Mapping[str, Account],
    limits: Limits,
) -> tuple[list[Order], list[Rejection]]:
    """Accepted orders and rejections with their reasons, by the rules of `rules.py`."""
    reasons = admit_all(
        orders, goods=goods, references=references, holdings=holdings, limits=limits
    )
    accepted = [o for o, why in zip(orders, reasons, strict=True) if not why]
    rejected = [Rejection(o, why) for o, why in zip(orders, reasons, strict=True) if why]
    return accepted, rejected


def clearing_price(bids: Sequence[Order], asks: Sequence[Order], last: int) -> tuple[int, int]:
    """(price, volume) by the clearing rule; volume 0 (price = last) when nothing crosses."""
    if not bids or not asks:
        return last, 0
    limits = sorted({o.price for o in bids} | {o.price for o in asks})
    candidates = set(limits)
    for a, b in itertools.pairwise(limits):
        if b - a >= 2:
            candidates.add(min(max(last, a + 1), b - 1))
    best: tuple[int, int, int, int] | None = None
    for p in candidates:
        d = sum(o.qty for o in bids if o.price >= p)
        s = sum(o.qty for o in asks if o.price <= p)
        v = min(d, s)
        if v == 0:
            continue
        key = (-v, abs(d - s), abs(p - last), p)
        if best is None or key < best:
            best = key
    if best is None:
        return last, 0
    return best[3], -best[0]


def _priority(
    orders: list[Order], rng: random.Random, best_high: bool, allied: Collection[str] = ()
) -> list[Order]:
    # Draw a tiebreak for every order (in submission order) so the stream's
    # use does not depend on which prices tie, nor on pacts.
    keyed = [
        (-o.price if best_high else o.price, o.creature not in allied, rng.random(), i)
        for i, o in enumerate(orders)
    ]
    keyed.sort()
    return [orders[k[3]] for k in keyed]


def _allied(
    bids: Sequence[Order], asks: Sequence[Order], pacts: Collection[tuple[str, str]]
) -> set[str]:
    """Creatures with a pact partner on the other side of this auction."""
    buyers = {o.creature for o in bids}
    sellers = {o.creature for o in asks}
    out: set[str] = set()
    for a, b in pacts:
        if (a in buyers and b in sellers) or (b in buyers and a in sellers):
            out |= {a, b}
    return out


def _allocate(orders: list[Order], volume: int) -> list[tuple[Order, int]]:
    out = []
    left = volume
    for o in orders:
        if left == 0:
            break
        q = min(o.qty, left)
        out.append((o, q))
        left -= q
    return out


def call_auction(
    good: str,
    orders: Sequence[Order],
    last: int,
    rng: random.Random,
    pacts: Collection[tuple[str, str]] = (),
) -> Clearing:
    """Clear one good's orders at one uniform price and pair the fills.

    `pacts` (pairs of creatures) only reorder the rationing at equal prices.
    """
    bids = [o for o in orders if o.side == "buy"]
    asks = [o for o in orders if o.side == "sell"]
    demand = sum(o.qty for o in bids)
    supply = sum(o.qty for o in asks)
    price, volume = clearing_price(bids, asks, last)
    if volume == 0:
        step = max(1, last // 10)
        if demand > supply:
            ref = last + step
        elif supply > demand:
            ref = max(1, last - step)
        else:
            ref = last
        return Clearing(good, False, None, 0, demand, supply, ref, ())
    allied = _allied(bids, asks, pacts) if pacts else ()
    buyers = _allocate(_priority([o for o in bids if o.price >= price], rng, True, allied), volume)
    sellers = _allocate(
        _priority([o for o in asks if o.price <= price], rng, False, allied), volume
    )
    fills: list[Fill] = []
    bi = si = 0
    bq, sq = buyers[0][1], sellers[0][1]
    while bi < len(buyers) and si < len(sellers):
        q = min(bq, sq)
        fills.append(Fill(good, price, q, buyers[bi][0].creature, sellers[si][0].creature))
        bq -= q
        sq -= q
        if bq == 0:
            bi += 1
            bq = buyers[bi][1] if bi < len(buyers) else 0
        if sq == 0:
            si += 1
            sq = sellers[si][1] if si < len(sellers) else 0
    return Clearing(good, True, price, volume, demand, supply, price, tuple(fills))
