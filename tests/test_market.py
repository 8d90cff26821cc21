"""The call auction against a brute force, and the order checks."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from woodmarket.ledger import Account
from woodmarket.market import call_auction, check_orders, clearing_price
from woodmarket.scenario import MarketRules
from woodmarket.types import Order

NAMES = [f"c{i}" for i in range(8)]


@st.composite
def books(draw):
    n = draw(st.integers(0, 12))
    orders = []
    for i in range(n):
        side = draw(st.sampled_from(["buy", "sell"]))
        # One name per side so that no book holds a self-trade (checks reject those).
        who = NAMES[i % 4] if side == "buy" else NAMES[4 + i % 4]
        orders.append(Order(who, side, "honey", draw(st.integers(1, 9)), draw(st.integers(1, 30))))
    last = draw(st.integers(1, 30))
    return orders, last


def brute(orders, last):
    """The clearing rule evaluated at every whole price."""
    bids = [o for o in orders if o.side == "buy"]
    asks = [o for o in orders if o.side == "sell"]
    best = None
    for p in range(1, 40):
        d = sum(o.qty for o in bids if o.price >= p)
        s = sum(o.qty for o in asks if o.price <= p)
        if min(d, s) == 0:
            continue
        key = (-min(d, s), abs(d - s), abs(p - last), p)
        best = key if best is None or key < best else best
    return (last, 0) if best is None else (best[3], -best[0])


@settings(max_examples=400, deadline=None)
@given(books())
def test_clearing_price_matches_brute_force(book):
    orders, last = book
    bids = [o for o in orders if o.side == "buy"]
    asks = [o for o in orders if o.side == "sell"]
    assert clearing_price(bids, asks, last) == brute(orders, last)


@settings(max_examples=400, deadline=None)
@given(books(), st.integers(0, 2**32))
def test_fills_respect_limits_quantities_and_conserve(book, seed):
    orders, last = book
    result = call_auction("honey", orders, last, random.Random(seed))
    assert sum(f.qty for f in result.fills) == result.volume
    assert result.volume == brute(orders, last)[1]
    bought: dict[str, int] = {}
    sold: dict[str, int] = {}
    for f in result.fills:
        assert f.price == result.price  # one uniform price
        assert f.buyer != f.seller
        bought[f.buyer] = bought.get(f.buyer, 0) + f.qty
        sold[f.seller] = sold.get(f.seller, 0) + f.qty
    # Nobody fills beyond the orders whose limits admit the clearing price.
    for who, qty in bought.items():
        mine = [o for o in orders if o.creature == who and o.side == "buy"]
        assert qty <= sum(o.qty for o in mine if o.price >= result.price)
    for who, qty in sold.items():
        mine = [o for o in orders if o.creature == who and o.side == "sell"]
        assert qty <= sum(o.qty for o in mine if o.price <= result.price)
    # Every fill's price lies within the limit of an order of its buyer and seller.
    for f in result.fills:
        assert any(o.price >= f.price for o in orders if o.creature == f.buyer and o.side == "buy")
        assert any(
            o.price <= f.price for o in orders if o.creature == f.seller and o.side == "sell"
        )
    # Pebbles and goods conserved: what buyers pay sellers receive.
    assert sum(f.qty * f.price for f in result.fills) == result.volume * (result.price or 0)


def test_no_trade_drifts_one_step_toward_the_unfilled_side():
    bids = [Order("a", "buy", "honey", 5, 4)]
    asks = [Order("b", "sell", "honey", 2, 12)]
    up = call_auction("honey", bids, 10, random.Random(0))
    assert not up.traded and up.reference == 11  # more unfilled demand
    down = call_auction("honey", [*bids, Order("c", "sell", "honey", 9, 12)], 10, random.Random(0))
    assert down.reference == 9
    assert call_auction("honey", [], 10, random.Random(0)).reference == 10
    assert call_auction("honey", asks, 1, random.Random(0)).reference == 1  # never below 1


def test_ties_go_to_the_reference_price_inside_a_gap():
    bids = [Order("a", "buy", "honey", 3, 12)]
    asks = [Order("b", "sell", "honey", 3, 4)]
    assert clearing_price(bids, asks, 7) == (7, 3)
    assert clearing_price(bids, asks, 20) == (12, 3)


def test_rationing_is_by_price_then_seeded_random():
    asks = [Order("s", "sell", "honey", 3, 5)]
    bids = [Order(n, "buy", "honey", 3, 6) for n in ("a", "b", "c")] + [
        Order("rich", "buy", "honey", 1, 9)
    ]
    firsts = set()
    for seed in range(40):
        r = call_auction("honey", bids + asks, 6, random.Random(seed))
        assert r.fills[0].buyer == "rich"  # price priority
        firsts.add(r.fills[1].buyer)
    assert firsts == {"a", "b", "c"}  # nobody is always first among equals


def _holdings():
    return {
        "a": Account(20, {"honey": 0, "acorns": 5}),
        "b": Account(0, {"honey": 4, "acorns": 0}),
    }


def test_order_checks_reject_with_reasons_and_reserve():
    orders = [
        Order("a", "buy", "honey", 2, 9),  # 18 of 20 pebbles reserved
        Order("a", "buy", "acorns", 1, 4),  # only 2 left: rejected
        Order("a", "sell", "honey", 1, 9),  # self-trade
        Order("b", "sell", "honey", 3, 9),
        Order("b", "sell", "honey", 2, 9),  # only 1 unreserved
        Order("b", "sell", "sap", 1, 9),
        Order("b", "sell", "honey", 11, 9),
        Order("b", "sell", "honey", 1, 31),
        Order("z", "buy", "honey", 1, 9),
    ]
    ok, bad = check_orders(
        orders,
        goods=["honey", "acorns"],
        references={"honey": 10, "acorns": 4},
        holdings=_holdings(),
        limits=MarketRules(max_orders=4, max_qty=10, band=3),
    )
    assert ok == [orders[0], orders[3]]
    reasons = [r.reason for r in bad]
    assert reasons[0] == "not enough pebbles: needs 4, has 2 unreserved"
    assert reasons[1].startswith("self-trade")
    assert reasons[2] == "not enough honey: sells 2, has 1 unreserved"
    assert reasons[3] == "unknown good 'sap'"
    assert reasons[4] == "quantity 11 above the limit of 10"
    assert reasons[5] == "more than 4 orders this turn"
    assert "unknown trader" in reasons[-1]


def test_quantity_and_band_limits():
    ok, bad = check_orders(
        [Order("b", "sell", "honey", 11, 9), Order("b", "sell", "acorns", 1, 31)],
        goods=["honey", "acorns"],
        references={"honey": 10, "acorns": 10},
        holdings={"b": Account(0, {"honey": 20, "acorns": 20})},
        limits=MarketRules(max_orders=4, max_qty=10, band=3),
    )
    assert not ok
    assert [r.reason for r in bad] == [
        "quantity 11 above the limit of 10",
        "price 31 outside the band 3..30 for acorns",
    ]


def test_allies_are_served_first_at_equal_prices_and_the_price_stays_uniform():
    asks = [Order("s", "sell", "honey", 3, 5)]
    bids = [Order(n, "buy", "honey", 3, 6) for n in ("a", "b", "c")] + [
        Order("rich", "buy", "honey", 1, 9)
    ]
    for seed in range(40):
        plain = call_auction("honey", bids + asks, 6, random.Random(seed))
        allied = call_auction("honey", bids + asks, 6, random.Random(seed), {("b", "s")})
        assert allied.fills[0].buyer == "rich"  # price priority still comes first
        assert allied.fills[1].buyer == "b"  # then the seller's ally, among equal prices
        assert (allied.price, allied.volume) == (plain.price, plain.volume)
        assert {f.price for f in allied.fills} == {plain.price}
        # A pact with nobody on the other side changes nothing, draw for draw.
        other = call_auction("honey", bids + asks, 6, random.Random(seed), {("a", "c")})
        assert other == plain


@settings(max_examples=200, deadline=None)
@given(
    books(),
    st.integers(0, 10_000),
    st.sets(st.tuples(st.sampled_from(NAMES), st.sampled_from(NAMES))),
)
def test_pacts_never_change_the_price_the_volume_or_the_quantities(book, seed, pairs):
    orders, last = book
    pacts = {(min(a, b), max(a, b)) for a, b in pairs if a != b}
    plain = call_auction("honey", orders, last, random.Random(seed))
    allied = call_auction("honey", orders, last, random.Random(seed), pacts)
    assert (allied.price, allied.volume, allied.reference) == (
        plain.price,
        plain.volume,
        plain.reference,
    )
    for who in NAMES:
        bought = sum(f.qty for f in allied.fills if f.buyer == who)
        sold = sum(f.qty for f in allied.fills if f.seller == who)
        limit_b = sum(o.qty for o in orders if o.creature == who and o.side == "buy")
        limit_s = sum(o.qty for o in orders if o.creature == who and o.side == "sell")
        assert bought <= limit_b and sold <= limit_s


def test_an_order_placed_twice_is_judged_twice():
    from woodmarket.types import Action
    from woodmarket.wood import Wood

    wood = Wood.from_scenario("oona", 0)
    name = wood.names[-1]
    good = max((g for g in wood.goods if g not in wood.makes[name]), key=wood.prices.__getitem__)
    price = wood.prices[good]
    qty = wood.ledger.accounts[name].pebbles // price  # affordable once, not twice
    assert 1 <= qty <= wood.scenario.market.max_qty
    twice = Order(name, "buy", good, qty, price)
    state = wood.step({name: Action(orders=(twice, twice))})
    mine = [r for r in state.records if r["kind"] == "order" and r["creature"] == name]
    assert [r["status"] for r in mine] == ["accepted", "rejected"]
    assert "not enough pebbles" in mine[1]["reason"]
    assert state.accepted.count(twice) == 1 and len(state.rejected) == 1
