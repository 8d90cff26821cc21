"""Tests of the parse room: the tolerant parser and the printer.

The parser is checked on many malformed replies with exact expected
actions and reasons; Hypothesis checks that it never raises, only ever
returns valid orders, and round-trips `render`.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wood_obs import GOODS, OONA, buy, make_obs, obs_strategy, order_ok, sell

from woodmarket.policies.parse import parse, render
from woodmarket.types import MAX_GOSSIP_CHARS, MAX_THOUGHT_CHARS, Action, Gossip, Order

# --------------------------------------------------------------------------
# parser: malformed replies with exact results

CASES = [
    # (reply, expected action) for Oona
    ("", Action.hold("empty reply")),
    ("   \n\t\n", Action.hold("empty reply")),
    ("Lorem ipsum dolor sit amet.", Action.hold("no order and no hold found")),
    ("I think I should be careful.", Action.hold("no order and no hold found")),
    ("hold", Action()),
    ("Hold.", Action()),
    ("Action: hold", Action()),
    ("buy 1 berries at 5", Action((buy("berries", 1, 5),))),
    ("BUY 1 BERRIES AT 5.", Action((buy("berries", 1, 5),))),
    ("  buy   1  berry  @ 5 ", Action((buy("berries", 1, 5),))),
    ("buy berries 1 for 5 pebbles", Action((buy("berries", 1, 5),))),
    ("sell honey x3 @10", Action((sell("honey", 3, 10),))),
    ("- **Sell** 3 Honey at 10 pebbles each", Action((sell("honey", 3, 10),))),
    (
        "1. buy 2 mushroom at 6\n2. sell 2 acorn at 4",
        Action((buy("mushrooms", 2, 6), sell("acorns", 2, 4))),
    ),
    (
        "Sure! Here is my move:\n```\nbuy 2 mushrooms at 6\nsell 3 honey at 10\n```\nGood luck!",
        Action((buy("mushrooms", 2, 6), sell("honey", 3, 10))),
    ),
    ("```text\nhold\n```", Action()),
    (
        "I will buy 1 berries at 5 and sell 3 honey at 11.",
        Action((buy("berries", 1, 5), sell("honey", 3, 11))),
    ),
    (
        "buy 1 berries at 5; sell 3 honey at 10",
        Action((buy("berries", 1, 5), sell("honey", 3, 10))),
    ),
    ("buy 2 fire wood at 5", Action((buy("firewood", 2, 5),))),
    ("buy 2 sap at 3", Action.hold("line 1: unknown good 'sap'")),
    (
        "buy 2 sap at 3\nbuy 1 berries at 5",
        Action((buy("berries", 1, 5),), reason="line 1: unknown good 'sap'"),
    ),
    ("buy 1 honey at 10", Action.hold("line 1: never buy honey: you make it")),
    ("buy 1 berries at 50", Action.hold("line 1: price 50 outside the band 1..15 for berries")),
    ("buy 1 berries at 0", Action.hold("line 1: buy berries: price 0 below 1")),
    ("buy 11 berries at 5", Action.hold("line 1: quantity 11 above the limit of 10")),
    ("buy 0 berries at 5", Action.hold("line 1: buy berries: quantity 0 below 1")),
    ("sell 5 acorns at 4", Action.hold("line 1: sell 5 acorns but have 2")),
    ("sell 1 mushrooms at 6", Action.hold("line 1: sell 1 mushrooms but have 0")),
    ("buy 2 berries", Action.hold("line 1: buy berries needs a quantity and a price")),
    ("buy berries", Action.hold("line 1: buy berries needs a quantity and a price")),
    (
        "buy 1 berries at 5.5",
        Action.hold("line 1: buy berries: quantity and price must be whole numbers"),
    ),
    ("buy 1 berries 5 at 6", Action.hold("line 1: buy berries: too many numbers (1 5 6)")),
    ("buy", Action.hold("line 1: buy without a good")),
    (
        "buy 1 berries at 5\nbuy 2 berries at 4",
        Action((buy("berries", 1, 5),), reason="line 2: second order for berries, dropped"),
    ),
    (
        "buy 1 acorns at 4\nsell 1 acorns at 4",
        Action((buy("acorns", 1, 4),), reason="line 2: second order for acorns, dropped"),
    ),
    (
        "buy 1 berries at 5\nhold",
        Action((buy("berries", 1, 5),), reason="hold ignored: the reply also has orders"),
    ),
    (
        "hold\nbuy 2 sap at 3",
        Action(reason="line 2: unknown good 'sap'"),
    ),
    # gossip and thought
    ("hold\nsay all: honey is scarce", Action(gossip=Gossip("all", "honey is scarce"))),
    ("hold\nSay to everyone: honey is scarce!", Action(gossip=Gossip("all", "honey is scarce!"))),
    ("hold\nsay: honey is scarce", Action(gossip=Gossip("all", "honey is scarce"))),
    ("hold\nsay honey is scarce", Action(gossip=Gossip("all", "honey is scarce"))),
    ('hold\nsay pip: "honey is scarce"', Action(gossip=Gossip("Pip", "honey is scarce"))),
    ("hold\ntell Rusk the honey is gone", Action(gossip=Gossip("Rusk", "the honey is gone"))),
    (
        "hold\nsay Bob: honey is scarce",
        Action(reason="line 2: gossip to unknown creature 'Bob', dropped"),
    ),
    ("hold\nsay Oona: hello me", Action(reason="line 2: gossip to yourself, dropped")),
    ("hold\nsay all:   ", Action(reason="line 2: empty gossip, dropped")),
    (
        "hold\nsay all: a\nsay Pip: b",
        Action(gossip=Gossip("all", "a"), reason="line 3: only one gossip line, dropped"),
    ),
    ("hold\nthink: winter is near", Action(thought="winter is near")),
    ("hold\nThought - winter is near", Action(thought="winter is near")),
    (
        "hold\nthink: " + "w" * 250,
        Action(thought="w" * MAX_THOUGHT_CHARS, reason="line 2: thought cut to 200 characters"),
    ),
    (
        "hold\nsay all: " + "g" * (MAX_GOSSIP_CHARS + 10),
        Action(
            gossip=Gossip("all", "g" * MAX_GOSSIP_CHARS),
            reason=f"line 2: gossip cut to {MAX_GOSSIP_CHARS} characters",
        ),
    ),
    # gossip alone is not a decision
    ("say all: honey is scarce", Action.hold("no order and no hold found")),
    (
        "buy 1 berries at 5\nsell 3 honey at 10\nsay all: sell honey now\nthink: the vault is full",
        Action(
            (buy("berries", 1, 5), sell("honey", 3, 10)),
            gossip=Gossip("all", "sell honey now"),
            thought="the vault is full",
        ),
    ),
]


@pytest.mark.parametrize(("reply", "expected"), CASES)
def test_parse_malformed_replies(reply: str, expected: Action) -> None:
    assert parse(reply, OONA) == expected


def test_more_orders_than_allowed_keeps_the_first() -> None:
    obs = make_obs("Oona", max_orders=2)
    reply = "buy 1 berries at 5\nbuy 1 mushrooms at 6\nsell 3 honey at 10\nsell 1 acorns at 4"
    assert parse(reply, obs) == Action(
        (buy("berries", 1, 5), buy("mushrooms", 1, 6)),
        reason="line 3: more than 2 orders, dropped; line 4: more than 2 orders, dropped",
    )


def test_a_flood_of_bad_lines_gives_a_short_reason() -> None:
    action = parse("\n".join(f"buy {n} sap at 3" for n in range(1, 40)), OONA)
    assert not action.valid and action.orders == ()
    assert action.reason.endswith("and 33 more")
    assert action.reason.count("unknown good 'sap'") == 6


def test_parse_refuses_non_text_quietly() -> None:
    assert parse(None, OONA) == Action.hold("empty reply")
    assert parse(b"buy 1 berries at 5", OONA) == Action.hold("empty reply")


def test_orders_belong_to_the_observing_creature() -> None:
    action = parse("sell 2 acorns at 4", make_obs("Mossback"))
    assert action.orders == (sell("acorns", 2, 4, who="Mossback"),)


# --------------------------------------------------------------------------
# properties

_WORDS = st.sampled_from(
    [
        *("buy", "sell", "hold", "say", "think", "all", "Pip", "Bob", "at", "@", "for", "x", ":"),
        *GOODS,
        *("acorn", "berry", "sap", "```", "-", "*", "1.", ";", "\n", ",", ".", "pebbles"),
    ]
)
_NUMBERS = st.integers(-5, 120).map(str)
_CHATTER = st.lists(st.one_of(_WORDS, _NUMBERS, st.text(max_size=6)), max_size=30).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), _CHATTER), obs_strategy())
def test_parse_never_raises_and_returns_only_valid_orders(text: str, obs) -> None:
    action = parse(text, obs)
    assert isinstance(action, Action)
    assert all(order_ok(o, obs) for o in action.orders)
    assert len(action.orders) <= obs.max_orders
    assert len({o.good for o in action.orders}) == len(action.orders)
    if not action.valid:
        assert action.orders == () and action.reason
    if action.gossip is not None:
        assert action.gossip.to == "all" or action.gossip.to in obs.others


_TEXT = (
    st.text(
        alphabet=st.characters(codec="ascii", categories=["L", "N", "Zs", "Po", "Pd"]).filter(
            lambda c: c not in "*`\"'"
        ),
        min_size=1,
        max_size=MAX_GOSSIP_CHARS,
    )
    .map(str.strip)
    .filter(bool)
    # Words that are only a number pass on a heard item: never free gossip.
    .filter(lambda t: not re.fullmatch(r"#?[0-9]+[.!]?", t))
)


@st.composite
def valid_actions(draw: st.DrawFn, obs) -> Action:
    goods = draw(st.lists(st.sampled_from(obs.goods), unique=True, max_size=obs.max_orders))
    orders = []
    for good in goods:
        lo, hi = obs.bands[good]
        cap = {"buy": obs.max_qty, "sell": min(obs.max_qty, obs.stores[good])}
        sides = [s for s in cap if cap[s] >= 1 and not (s == "buy" and good in obs.produces)]
        if sides:
            side = draw(st.sampled_from(sides))
            qty = draw(st.integers(1, cap[side]))
            orders.append(Order(obs.creature, side, good, qty, draw(st.integers(lo, hi))))
    gossip = draw(st.none() | st.builds(Gossip, st.sampled_from(("all", *obs.others)), _TEXT))
    thought = draw(st.just("") | _TEXT)
    return Action(tuple(orders), gossip, thought)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_parse_render_round_trip(data) -> None:
    obs = data.draw(obs_strategy())
    action = data.draw(valid_actions(obs))
    assert all(order_ok(o, obs) for o in action.orders)
    assert parse(render(action), obs) == action


def test_render_is_the_documented_syntax() -> None:
    action = Action(
        (buy("berries", 2, 5), sell("honey", 3, 10)),
        gossip=Gossip("Pip", "honey is scarce"),
        thought="winter is near",
    )
    assert render(action) == (
        "buy 2 berries 5\nsell 3 honey 10\nsay Pip: honey is scarce\nthink: winter is near"
    )
    assert render(Action()) == "hold"
    assert render(Action.hold("backend: down")) == "hold"
