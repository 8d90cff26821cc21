"""Tests of the orders room: an order's validity against an observation."""

from __future__ import annotations

from wood_obs import OONA, buy, make_obs

from woodmarket.policies.orders import order_problem


def test_order_problem_names_the_rule() -> None:
    assert order_problem(buy("berries", 1, 5), OONA) == ""
    assert order_problem(buy("honey", 1, 10), OONA) == "never buy honey: you make it"
    assert order_problem(buy("sap", 1, 1), OONA) == "unknown good 'sap'"
    assert order_problem(buy("berries", 1, 5, who="Pip"), OONA) == "order for Pip, not Oona"
    assert order_problem(buy("berries", 1, 5), make_obs("Oona", bands={})) == (
        "no price band for berries"
    )
