"""Order validity against an observation: what one creature may order now.

This room reads an `Observation` and an `Order`; it touches no state of
the wood and imports no other policy room. `order_problem` adds a
creature's own rules to the market's (`rules.order_problem`, stated
once); `price_band` is the band the grammar (`grammar.py`) prices orders
in. The parser (`parse.py`) drops any order `order_problem` refuses.
"""

from __future__ import annotations

from woodmarket.rules import order_problem as market_problem
from woodmarket.types import Observation, Order

__all__ = ["order_problem", "price_band"]


def price_band(obs: Observation, good: str) -> tuple[int, int] | None:
    """The prices an order for `good` may name (its band, from 1 up, inclusive); None if none."""
    band = obs.bands.get(good)
    if band is None:
        return None
    lo, hi = max(1, int(band[0])), int(band[1])
    return (lo, hi) if lo <= hi else None


def order_problem(order: Order, obs: Observation) -> str:
    """Why `order` is not valid for this creature now; "" when it is.

    The market's rules for one order (a good of the wood, the quantity
    limit, the price band) come from `rules.order_problem`, stated once;
    a creature's own rules are added: only its own orders, never buying
    what it makes, never selling more than it holds.
    """
    if order.creature != obs.creature:
        return f"order for {order.creature}, not {obs.creature}"
    problem = market_problem(order, obs.goods, obs.bands, obs.max_qty)
    if problem:
        return problem
    good = order.good
    if order.side == "buy" and good in obs.produces:
        return f"never buy {good}: you make it"
    if order.side == "sell" and order.qty > obs.stores.get(good, 0):
        return f"sell {order.qty} {good} but have {obs.stores.get(good, 0)}"
    return ""
