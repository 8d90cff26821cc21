"""The financier's command language against anything a player can type."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from woodmarket.commands import Short, parse_command
from woodmarket.errors import ActionError
from woodmarket.financier import Financier
from woodmarket.wood import Wood

WORDS = (
    "short cover order whisper spring buy sell at honey acorns firewood Oona Pip Rusk "
    "oona_run acorn_mania 1 8 0 -3 ² ٣ 10000000000000 1e3 0x10 \u200b \x1b[2J \x07"
).split(" ")
LINE = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(WORDS), max_size=6).map(" ".join),
    st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=8)), max_size=6).map(" ".join),
)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("short honey ²", "quantity must be a whole number >= 1, got '²'"),
        ("short honey " + "9" * 500, "is too large (at most 6 digits)"),
        ("order buy honey 2 " + "7" * 40, "is too large"),
        ("short honey 0", "quantity must be a whole number >= 1, got 0"),
        ("whisper Oona ", "usage: whisper CREATURE TIP"),
        ("spring", "usage: spring LEGEND"),
        ("x" * 2000, "a command is at most 1000 characters"),
    ],
)
def test_odd_numbers_and_sizes_are_refused_with_the_reason(line, message):
    with pytest.raises(ActionError, match=re.escape(message)):
        parse_command(line)


def test_numbers_are_read_as_typed():
    assert parse_command("SHORT Honey 007") == Short("honey", 7)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(lines=st.lists(LINE, max_size=8), seed=st.integers(0, 20))
def test_no_line_ends_the_game_and_the_ledger_holds(scenario_key, lines, seed):
    wood = Wood.from_scenario(scenario_key, seed)
    fin = Financier.attach(wood)
    for turn in range(3):
        for line in lines[turn::3]:
            out = fin.submit(line)  # never raises
            assert isinstance(out.message, str) and out.message
        state = wood.step()  # the ledger checks conservation every turn
        made = [r for r in state.records if r["kind"] == "financier"]
        assert len(made) == len(lines[turn::3])
        assert fin.pebbles >= 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("psst\u200bhoney", "invisible or unassigned character (U+200B)"),
        ("honey\x1b[2J will fall", "control character (U+001B)"),
        ("a" * 301, "at most 300 characters; this one has 301"),
    ],
)
def test_a_whisper_is_refused_for_what_is_wrong_with_it(text, message):
    fin = Financier.attach(Wood.from_scenario("oona", 0))
    out = fin.submit(f"whisper Oona {text}")
    assert not out.ok and message in out.message
