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
        buys: list[tuple[int, Order]] = []
        sells: list[tuple[int, Order]] = []
        budget = obs.pebbles
        cap = obs.max_qty
        # A fat purse keeps a deeper larder, which puts pebbles back in circulation.
        deeper = obs.pebbles // PURSE
        wanted = {
            g: w + deeper - obs.stores[g]
            for g, w in obs.wants.items()
            if g not in obs.produces and obs.stores[g] < w + deeper
        }
        for good, short in sorted(wanted.items(), key=lambda kv: (-kv[1], kv[0])):
            ref, (lo, hi) = obs.prices[good], obs.bands[good]
            price = min(hi, ref + obs.short_of.get(good, 0) // 3 + (rand() < 0.5))
            qty = min(short, cap, budget // price)
            if qty > 0:
                budget -= qty * price
                buys.append((short, Order(obs.creature, "buy", good, qty, price)))
        for good in obs.goods:
            have, want = obs.stores[good], obs.wants.get(good, 0)
            made = good in obs.produces
            extra = have - want if made else have - HOARD * want - 1
            if extra <= 0 or good in wanted:
                continue
            ref, (lo, hi) = obs.prices[good], obs.bands[good]
            price = max(lo, ref - (extra > 2 * want + 2) - (rand() < 0.3))
            sells.append((extra, Order(obs.creature, "sell", good, min(extra, cap), price)))
        orders = [o for _, o in buys] + [o for _, o in sorted(sells, key=lambda s: -s[0])]
        return Action(orders=tuple(orders[: obs.max_orders]))
