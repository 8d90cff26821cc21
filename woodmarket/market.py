"""The market: order checks and one uniform-price call auction per good.

Pure functions over orders and holdings; they move nothing. The turn's
clear phase applies the fills through the ledger.

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
priority (highest bids, lowest asks first), equal prices in a seeded random
order, so no creature is always first.

When nothing trades the reference drifts one step, `max(1, ref // 10)`,
up if unfilled demand exceeds unfilled supply, down if supply exceeds
demand (never below 1).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from woodmarket.ledger import Account
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


def band(reference: int, width: int) -> tuple[int, int]:
    """Inclusive limit-price band around a reference price."""
    return max(1, reference // width), reference * width


def check_orders(
    orders: Sequence[Order],
    *,
    goods: Sequence[str],
    references: Mapping[str, int],
    holdings: Mapping[str, Account],
    max_orders: int,
    max_qty: int,
    band_width: int,
) -> tuple[list[Order], list[Rejection]]:
    """Accept or reject each order, in the given sequence, with a reason.

    Accepted orders reserve the buyer's pebbles (qty x limit) and the
    seller's stores, so no fill can ever overdraw anyone.
    """
    accepted: list[Order] = []
    rejected: list[Rejection] = []
    pebbles: dict[str, int] = {}
    stores: dict[tuple[str, str], int] = {}
    counts: dict[str, int] = {}
    sides: dict[tuple[str, str], str] = {}
    for o in orders:
        reason = ""
        who = o.creature
        n = counts[who] = counts.get(who, 0) + 1
        if who not in holdings:
            reason = f"unknown trader {who!r}"
        elif o.good not in goods:
            reason = f"unknown good {o.good!r}"
        elif n > max_orders:
            reason = f"more than {max_orders} orders this turn"
        elif o.qty > max_qty:
            reason = f"quantity {o.qty} above the limit of {max_qty}"
        elif not (lo := band(references[o.good], band_width))[0] <= o.price <= lo[1]:
            reason = f"price {o.price} outside the band {lo[0]}..{lo[1]} for {o.good}"
        elif sides.get((who, o.good), o.side) != o.side:
            reason = f"self-trade: already has a {sides[(who, o.good)]} order for {o.good}"
        elif o.side == "buy":
            free = pebbles.get(who, holdings[who].pebbles)
            cost = o.qty * o.price
            if cost > free:
                reason = f"not enough pebbles: needs {cost}, has {free} unreserved"
            else:
                pebbles[who] = free - cost
        else:
            free = stores.get((who, o.good), holdings[who].stores[o.good])
            if o.qty > free:
                reason = f"not enough {o.good}: sells {o.qty}, has {free} unreserved"
            else:
                stores[(who, o.good)] = free - o.qty
        if reason:
            rejected.append(Rejection(o, reason))
        else:
            sides[(who, o.good)] = o.side
            accepted.append(o)
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


def _priority(orders: list[Order], rng: random.Random, best_high: bool) -> list[Order]:
    # Draw a tiebreak for every order (in submission order) so the stream's
    # use does not depend on which prices tie.
    keyed = [(-o.price if best_high else o.price, rng.random(), i) for i, o in enumerate(orders)]
    keyed.sort()
    return [orders[k[2]] for k in keyed]


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


def call_auction(good: str, orders: Sequence[Order], last: int, rng: random.Random) -> Clearing:
    """Clear one good's orders at one uniform price and pair the fills."""
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
    buyers = _allocate(_priority([o for o in bids if o.price >= price], rng, True), volume)
    sellers = _allocate(_priority([o for o in asks if o.price <= price], rng, False), volume)
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
