"""Tests of the action syntax room: grammar, tolerant parser, printer.

The parser is checked on many malformed replies with exact expected
actions and reasons; Hypothesis checks that it never raises, only ever
returns valid orders, round-trips `render`, and reads every answer the
grammar admits as a valid action with nothing dropped.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wood_obs import CAST, GOODS, PRICES, bands, grammar_regex, make_obs, order_ok

from woodmarket.policies.actions import (
    GRAMMAR_TEXT_CHARS,
    Heard,
    answer_chars,
    grammar_for,
    heard_items,
    int_range,
    order_problem,
    parse,
    phrases,
    render,
)
from woodmarket.types import MAX_GOSSIP_CHARS, MAX_THOUGHT_CHARS, Action, Gossip, Order

OONA = make_obs("Oona")  # makes honey; holds 12 honey, 2 acorns, 1 berries, 3 firewood


def buy(good: str, qty: int, price: int, who: str = "Oona") -> Order:
    return Order(who, "buy", good, qty, price)


def sell(good: str, qty: int, price: int, who: str = "Oona") -> Order:
    return Order(who, "sell", good, qty, price)


# --------------------------------------------------------------------------
# integer ranges


def _range_regex(lo: int, hi: int) -> re.Pattern[str]:
    return re.compile(grammar_regex(f"root ::= {int_range(lo, hi)}\n"))


@pytest.mark.parametrize("lo", [0, 1, 2, 3, 9, 10, 11, 19, 20, 33, 99, 100, 101])
def test_int_range_matches_exactly_its_numbers(lo: int) -> None:
    for hi in range(lo, 260, 3):
        pattern = _range_regex(lo, hi)
        matched = {n for n in range(0, 300) if pattern.fullmatch(str(n))}
        assert matched == set(range(lo, hi + 1)), (lo, hi)
        assert not pattern.fullmatch("0" + str(lo))  # no leading zeros


@given(st.integers(0, 5000), st.integers(0, 5000))
def test_int_range_property(a: int, b: int) -> None:
    lo, hi = min(a, b), max(a, b)
    pattern = _range_regex(lo, hi)
    for n in {lo, hi, lo - 1, hi + 1, (lo + hi) // 2, 0, 10 * hi + 1}:
        if n >= 0:
            assert bool(pattern.fullmatch(str(n))) == (lo <= n <= hi)


def test_int_range_refuses_an_empty_range() -> None:
    with pytest.raises(ValueError):
        int_range(5, 4)


# --------------------------------------------------------------------------
# grammar


def test_grammar_offers_only_valid_orders_for_this_creature() -> None:
    g = grammar_for(OONA)
    assert '"buy " q10 " honey "' not in g  # never buy what it makes
    assert '"sell " q10 " honey "' in g
    assert '"sell " q2 " acorns "' in g  # a sale is capped by the stores on hand
    assert '"sell " q1 " berries "' in g
    mushrooms = next(line for line in g.splitlines() if '" mushrooms "' in line)
    assert '"buy "' in mushrooms and '"sell "' not in mushrooms  # none held, none to sell
    assert 'say ::= "say " ("all" | "Mossback" | "Birch" | "Pip" | "Rusk") ": "' in g
    assert '"Oona"' not in g  # no gossip to oneself
    assert f"{{0,{GRAMMAR_TEXT_CHARS - 1}}}" in g  # bounded free text


def test_grammar_is_deterministic_and_depends_only_on_what_matters() -> None:
    a = grammar_for(make_obs("Pip"))
    assert a == grammar_for(make_obs("Pip"))
    # Turn, mood and feelings do not change what is valid (free talk), nor
    # the words heard: only how many items there are to pass on by number.
    news = grammar_for(make_obs("Pip", turn=9, mood=3, news=("x",), feelings="likes Oona"))
    assert a == grammar_for(make_obs("Pip", turn=9, mood=3, feelings="likes Oona"))
    assert news == grammar_for(make_obs("Pip", news=("a longer rumour altogether",)))
    assert news != a and "ref ::= " in news and "ref" not in a
    # Prices move the bands, stores move the sale caps: new grammars.
    assert a != grammar_for(make_obs("Pip", prices={**PRICES, "honey": 20}))
    assert a != grammar_for(make_obs("Pip", stores={"berries": 1}))


def test_grammar_lines_cap_counts_every_line() -> None:
    rx = re.compile(grammar_regex(grammar_for(OONA, 2)))
    assert rx.fullmatch("buy 1 berries 5\nsell 3 honey 10")
    assert rx.fullmatch("buy 1 berries 5\nsay all: honey is scarce")
    assert rx.fullmatch("hold\nsay Pip: honey is scarce")
    assert not rx.fullmatch("buy 1 berries 5\nsell 3 honey 10\nsay all: hi")
    assert not rx.fullmatch("buy 1 berries 5\nbuy 1 berries 5")  # one order per good
    assert not rx.fullmatch("buy 2 honey 10")
    assert not rx.fullmatch("buy 11 berries 5")
    assert not rx.fullmatch("buy 1 berries 16")
    assert not rx.fullmatch("sell 2 berries 5")  # holds one
    assert not rx.fullmatch("buy 1 berries at 5")  # read, never written
    assert not rx.fullmatch("say all: hi\nhold")  # orders first


def test_answer_chars_bounds_the_longest_answer() -> None:
    # Oona, two lines, no talk: two of the longest order lines.
    longest = "sell 10 mushrooms 18\nsell 10 mushrooms 18"
    assert answer_chars(OONA, 2, talk="none", thoughts=False) == len(longest)
    assert answer_chars(OONA, 1, talk="none", thoughts=False) == len("sell 10 mushrooms 18")
    with_talk = answer_chars(OONA, 2, orders=1, talk="free", thoughts=False)
    assert with_talk == len("sell 10 mushrooms 18\nsay Mossback: ") + GRAMMAR_TEXT_CHARS


def test_grammar_talk_modes() -> None:
    rumour = "A rumor says Oona's vault is empty!"
    obs = make_obs("Birch", news=(rumour,), heard=("Pip: go",))
    rx = re.compile(grammar_regex(grammar_for(obs, 2, talk="phrases", thoughts=False)))
    assert heard_items(obs) == (Heard("News", rumour), Heard("Pip", "go"))
    assert phrases(obs) == ()  # something heard: it is passed on by number
    assert rx.fullmatch("hold\nsay all: 1") and rx.fullmatch("hold\nsay Oona: 2")
    assert not rx.fullmatch("hold\nsay all: 3")  # only two items heard
    assert not rx.fullmatch(f"hold\nsay all: {rumour}")  # the words cost tokens, the number not
    assert not rx.fullmatch("hold\nsay all: honey will fall")
    assert not rx.fullmatch("hold\nsay all: the moon is cheese")
    assert parse("hold\nsay all: 1", obs).gossip == Gossip("all", rumour)
    assert parse("hold\nsay Oona: 2", obs).gossip == Gossip("Oona", "go")  # no speaker prefix
    # Nothing heard: stock lines, in good English.
    assert "berries are scarce" in phrases(make_obs("Birch"))
    assert "honey will fall" in phrases(make_obs("Birch"))
    assert not rx.fullmatch("hold\nthink: ok")
    free = re.compile(grammar_regex(grammar_for(obs, 2, talk="free", thoughts=False)))
    assert free.fullmatch("hold\nsay all: 2") and free.fullmatch(
        "hold\nsay all: the moon is cheese"
    )
    assert not free.fullmatch("hold\nsay all: " + "a" * GRAMMAR_TEXT_CHARS + "a")
    quiet = re.compile(grammar_regex(grammar_for(obs, 2, talk="none", thoughts=False)))
    assert quiet.fullmatch("hold") and not quiet.fullmatch("hold\nsay all: honey is scarce")
    assert not quiet.fullmatch("hold\nsay all: 1")
    with pytest.raises(ValueError):
        grammar_for(obs, talk="loud")


def test_grammar_with_nothing_to_trade_is_hold_only() -> None:
    obs = make_obs("Rusk", stores={}, bands={})
    rx = re.compile(grammar_regex(grammar_for(obs, talk="none", thoughts=False)))
    assert rx.fullmatch("hold") and not rx.fullmatch("buy 1 acorns 4")


def test_grammar_rules_are_one_per_line_root_first() -> None:
    g = grammar_for(OONA, talk="free", thoughts=True)
    names = [line.split(" ::= ")[0] for line in g.strip().splitlines()]
    assert names[0] == "root" and len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z][a-z0-9-]*", n) for n in names)


def _obs_strategy() -> st.SearchStrategy:
    @st.composite
    def build(draw: st.DrawFn):
        creature = draw(st.sampled_from(sorted(CAST)))
        prices = {g: draw(st.integers(1, 40)) for g in GOODS}
        stores = {g: draw(st.integers(0, 14)) for g in GOODS}
        return make_obs(
            creature,
            prices=prices,
            stores=stores,
            max_orders=draw(st.integers(1, 4)),
            max_qty=draw(st.integers(1, 12)),
            bands=bands(prices),
            # Something heard, sometimes: a `say` may then pass an item on by number.
            news=draw(st.sampled_from([(), ("Word spreads that the vault is empty.",)])),
            heard=draw(st.sampled_from([(), ("Pip: honey is scarce", "Rusk: 3 acorns")])),
        )

    return build()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_every_answer_the_grammar_admits_parses_valid_with_nothing_dropped(data) -> None:
    obs = data.draw(_obs_strategy())
    lines = data.draw(st.sampled_from([None, 1, 2, 3]))
    talk = data.draw(st.sampled_from(["free", "phrases", "none"]))
    grammar = grammar_for(obs, lines, talk=talk, thoughts=data.draw(st.booleans()))
    text = data.draw(st.from_regex(grammar_regex(grammar), fullmatch=True))
    assert len(text) <= answer_chars(obs, lines, talk=talk, thoughts="think ::=" in grammar), (
        "a token budget of answer_chars + 1 could cut this answer"
    )
    action = parse(text, obs)
    assert action.valid and action.reason == "", (text, action)
    assert all(order_ok(o, obs) for o in action.orders)
    assert len(action.orders) <= min(obs.max_orders, lines or obs.max_orders)
    assert text.startswith("hold") == (not action.orders)


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


def test_order_problem_names_the_rule() -> None:
    assert order_problem(buy("berries", 1, 5), OONA) == ""
    assert order_problem(buy("honey", 1, 10), OONA) == "never buy honey: you make it"
    assert order_problem(buy("sap", 1, 1), OONA) == "unknown good 'sap'"
    assert order_problem(buy("berries", 1, 5, who="Pip"), OONA) == "order for Pip, not Oona"
    assert order_problem(buy("berries", 1, 5), make_obs("Oona", bands={})) == (
        "no price band for berries"
    )


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
@given(st.one_of(st.text(), _CHATTER), _obs_strategy())
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
    obs = data.draw(_obs_strategy())
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
