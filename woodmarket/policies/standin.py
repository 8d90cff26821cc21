"""The stand-in policy: the article's mechanical wants-threshold.

Buy toward wants when below them (never what it makes), sell what it
makes beyond its own wants and anything hoarded far past them, with limits
a pebble or two around the reference price. Shortage raises the bid,
surplus lowers the ask. It reads no news and no gossip: rumors cannot move
it, by design, which is why it can flatter a wrong fix.

The financier's offers it answers by rule (`answer`), from its own
observation only:
- a loan: accepted when the rate is at most `LOAN_RATE` percent a turn,
  its purse is thin (fewer than `PURSE` pebbles), it owes nothing yet, and
  it is not wary of the financier (its feelings line does not say it is
  wary of or resents `financier`); otherwise declined;
- a debt falling due at this turn's or the next settlement: it sets what
  it will owe aside before buying anything;
- a bribe: taken unless it is wary of the financier. Its ask is done when
  the bribe pays at least one unit of the asked good at its reference
  price: `sell GOOD` puts everything it holds of GOOD (up to `max_qty`) up
  for sale at half the reference (at least the band's floor), replacing
  any other order of that good; `hold GOOD` drops its sell orders of GOOD.
  A `gossip` ask is always ignored: the stand-in never speaks. So it
  sometimes takes the pebbles and ignores the ask;
- a pact: accepted unless it is wary of the other creature or of the
  financier; it breaks a pact once it is wary of its ally.
"""

from __future__ import annotations

import random

from woodmarket.types import Action, Answer, Observation, Offer, Order

HOARD = 3  # holding more than HOARD x want of a good counts as surplus
PURSE = 40  # every PURSE pebbles held deepen the larder by one unit of each good
LOAN_RATE = 20  # the dearest loan (percent a turn) a thin purse takes


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
        if obs.debts:
            # What falls due by the next settlement is set aside before buying.
            budget = max(0, budget - sum(d.repay for d in obs.debts if d.due <= obs.turn + 1))
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
        if obs.offers or obs.allies:
            return answer(obs, orders)
        return Action(orders=tuple(orders[: obs.max_orders]))


def _wary(obs: Observation, of: str) -> bool:
    """Whether its feelings line shows it is wary of, or resents, `of`."""
    parts = [p.strip() for p in obs.feelings.split(";")]
    return f"is wary of {of}" in parts or f"resents {of}" in parts


def answer(obs: Observation, orders: list[Order]) -> Action:
    """Its orders changed by the bribes it does, and its answers to every offer."""
    answers: list[Answer] = []
    wary = _wary(obs, "financier")
    for offer in obs.offers:
        if offer.kind == "loan":
            take = offer.rate <= LOAN_RATE and obs.pebbles < PURSE and not obs.debts and not wary
        elif offer.kind == "bribe":
            take = not wary
            if take:
                orders = _do(obs, offer, orders)
        else:
            take = not wary and not _wary(obs, offer.ask)
        answers.append(Answer("accept" if take else "decline", offer.id))
    answers += [Answer("break", ally) for ally in obs.allies if _wary(obs, ally)]
    return Action(orders=tuple(orders[: obs.max_orders]), answers=tuple(answers))


def _do(obs: Observation, offer: Offer, orders: list[Order]) -> list[Order]:
    """The ask of a bribe that pays at least one unit of its good; a gossip ask is ignored."""
    verb, _, good = offer.ask.partition(" ")
    if verb not in ("sell", "hold") or good not in obs.prices:
        return orders
    if offer.pebbles < obs.prices[good]:
        return orders
    rest = [o for o in orders if o.good != good]
    if verb == "hold":
        return [o for o in orders if not (o.good == good and o.side == "sell")]
    qty = min(obs.stores[good], obs.max_qty)
    if qty < 1:
        return orders
    price = max(obs.bands[good][0], obs.prices[good] // 2)
    return [Order(obs.creature, "sell", good, qty, price), *rest]


def _most_wanted(kv: tuple[str, int]) -> tuple[int, str]:
    return -kv[1], kv[0]


def _most_extra(sell: tuple[int, Order]) -> int:
    return -sell[0]
