"""The stand-in policy: the article's mechanical wants-threshold.

Buy toward wants when below them (never what it makes), sell what it
makes beyond its own wants and anything hoarded far past them, with limits
a pebble or two around the reference price. Shortage raises the bid,
surplus lowers the ask. It reads no news and no gossip: rumors cannot move
it, by design, which is why it can flatter a wrong fix.
"""

from __future__ import annotations

import random

from woodmarket.types import Action, Observation, Order

HOARD = 3  # holding more than HOARD x want of a good counts as surplus
PURSE = 40  # every PURSE pebbles held deepen the larder by one unit of each good


class StandinPolicy:
    label = "standin"
    concurrent = False

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def decide(self, obs: Observation) -> Action:
        rand = self.rng.random
        name, stores, wants, produces = obs.creature, obs.stores, obs.wants, obs.produces
        prices, bands = obs.prices, obs.bands
        budget = obs.pebbles
        cap = obs.max_qty
        # A fat purse keeps a deeper larder, which puts pebbles back in circulation.
        deeper = budget // PURSE
        wanted: dict[str, int] = {}
        for g, w in wants.items():
            if g not in produces and stores[g] < w + deeper:
                wanted[g] = w + deeper - stores[g]
        orders: list[Order] = []
        if wanted:
            short_of = obs.short_of
            for good, short in sorted(wanted.items(), key=_most_wanted):
                price = min(
                    bands[good][1], prices[good] + short_of.get(good, 0) // 3 + (rand() < 0.5)
                )
                qty = min(short, cap, budget // price)
                if qty > 0:
                    budget -= qty * price
                    orders.append(Order(name, "buy", good, qty, price))
        sells: list[tuple[int, Order]] = []
        for good in obs.goods:
            have, want = stores[good], wants.get(good, 0)
            extra = have - want if good in produces else have - HOARD * want - 1
            if extra <= 0 or good in wanted:
                continue
            price = max(bands[good][0], prices[good] - (extra > 2 * want + 2) - (rand() < 0.3))
            sells.append((extra, Order(name, "sell", good, min(extra, cap), price)))
        if sells:
            sells.sort(key=_most_extra)
            orders += [o for _, o in sells]
        return Action(orders=tuple(orders[: obs.max_orders]))


def _most_wanted(kv: tuple[str, int]) -> tuple[int, str]:
    return -kv[1], kv[0]


def _most_extra(sell: tuple[int, Order]) -> int:
    return -sell[0]
