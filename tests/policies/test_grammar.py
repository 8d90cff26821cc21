"""Tests of the grammar room: the GBNF toolkit and the action grammar.

`int_range` is checked against every number near its ends; the grammar
against answers it must and must not admit; Hypothesis checks that every
answer the grammar admits fits `answer_chars` and parses as a valid
action with nothing dropped.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wood_obs import OONA, PRICES, grammar_regex, make_obs, obs_strategy, order_ok

from woodmarket.policies.grammar import GRAMMAR_TEXT_CHARS, answer_chars, grammar_for, int_range
from woodmarket.policies.parse import parse
from woodmarket.policies.talk import Heard, heard_items, phrases
from woodmarket.types import Gossip

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


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_every_answer_the_grammar_admits_parses_valid_with_nothing_dropped(data) -> None:
    obs = data.draw(obs_strategy())
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
