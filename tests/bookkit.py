"""Financier books for tests: random scripts of moves by turn, and a squeeze legend to add.

A module of its own name (not a conftest), so tests in any folder import it.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from woodmarket.rules import MECHANISMS
from woodmarket.scenario import Scenario

# A legend that multiplies a good's reference by `factor` at its settlement, `delay`
# turns after it is sprung (0: the same turn's).
SQUEEZE = """
[legends.{id}]
title = "A Squeeze {id}"
episode = "A corner."
target = "{good}"
rumor = "Someone is buying every last one."
tips = ["Someone is buying."]
mechanism = "settle"
settle = {{ factor = {factor}, delay = {delay} }}
"""


def random_script(data: Any, sc: Scenario, turns: int = 6) -> dict[int, list[str]]:
    """Shorts, covers, orders and springs of `sc`'s goods and legends, drawn by turn."""
    goods = st.sampled_from(sc.good_names)
    command = st.one_of(
        st.builds(lambda g, q: f"short {g} {q}", goods, st.integers(1, 30)),
        st.builds(lambda g: f"cover {g}", goods),
        st.builds(
            lambda s, g, q, p: f"order {s} {g} {q} {p}",
            st.sampled_from(["buy", "sell"]),
            goods,
            st.integers(1, 10),
            st.integers(1, 20),
        ),
        st.builds(
            lambda lg, m: f"spring {lg} {m}",
            st.sampled_from([lg.id for lg in sc.legends]),
            st.sampled_from(MECHANISMS),
        ),
    )
    moves = data.draw(st.lists(st.tuples(st.integers(1, turns), command), max_size=10))
    script: dict[int, list[str]] = {}
    for turn, cmd in moves:
        script.setdefault(turn, []).append(cmd)
    return script
