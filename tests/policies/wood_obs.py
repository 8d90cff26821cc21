"""Observations for the policies room's tests, built by hand with plausible values.

Oona's Wood in miniature: five goods at 4/5/6/10/5 pebbles, bands of
(price // 3, price * 3), and the bundled cast's five creatures; Oona's
orders and a Hypothesis strategy of observations. Also a small converter
from the GBNF grammars `grammar_for` writes to Python regular
expressions, so tests can check text against a grammar without a model.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import strategies as st

from woodmarket.types import Observation, Order

GOODS = ("acorns", "berries", "mushrooms", "honey", "firewood")
FOODS = GOODS[:4]
PRICES = {"acorns": 4, "berries": 5, "mushrooms": 6, "honey": 10, "firewood": 5}
CAST = {
    "Oona": ("owl", "honey keeper", "Wise and watchful; hates a panic.", ("honey",)),
    "Mossback": ("tortoise", "acorn farmer", "Slow, stubborn, distrusts hype.", ("acorns",)),
    "Birch": ("beaver", "woodcutter", "Hard-working, blunt.", ("firewood",)),
    "Pip": ("hedgehog", "forager", "Cheerful and chatty.", ("berries", "mushrooms")),
    "Rusk": ("fox", "speculator", "Sly and quick; makes nothing.", ()),
}
STORES = {
    "Oona": {"honey": 12, "acorns": 2, "berries": 1, "firewood": 3},
    "Mossback": {"acorns": 10, "mushrooms": 2, "firewood": 3},
    "Birch": {"firewood": 10, "acorns": 2, "berries": 2},
    "Pip": {"berries": 5, "mushrooms": 4, "firewood": 2},
    "Rusk": {"acorns": 2, "honey": 2, "firewood": 2},
}


def bands(prices: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {g: (max(1, p // 3), p * 3) for g, p in prices.items()}


def make_obs(creature: str = "Oona", **overrides: Any) -> Observation:
    """A plausible observation for `creature`; any field can be overridden."""
    species, role, personality, produces = CAST[creature]
    prices = dict(overrides.pop("prices", PRICES))
    stores = {g: 0 for g in GOODS} | dict(overrides.pop("stores", STORES[creature]))
    burn = overrides.pop("burn", 1)
    wants = {g: 2 for g in FOODS} | {"firewood": 2 * burn}
    short = {g: w - stores[g] for g, w in wants.items() if stores[g] < w and g not in produces}
    fields: dict[str, Any] = {
        "turn": 3,
        "creature": creature,
        "species": species,
        "role": role,
        "personality": personality,
        "produces": produces,
        "pebbles": 40,
        "stores": stores,
        "goods": GOODS,
        "foods": FOODS,
        "fuel": "firewood",
        "burn": burn,
        "wants": wants,
        "short_of": short,
        "mood": 70,
        "prices": prices,
        "history": {g: (PRICES[g], p) for g, p in prices.items()},
        "news": (),
        "headlines": (),
        "heard": (),
        "whispers": (),
        "feelings": "no strong feelings",
        "others": tuple(n for n in CAST if n != creature),
        "max_orders": 4,
        "max_qty": 10,
        "bands": bands(prices),
    }
    fields.update(overrides)
    return Observation(**fields)


OONA = make_obs("Oona")  # makes honey; holds 12 honey, 2 acorns, 1 berries, 3 firewood


def buy(good: str, qty: int, price: int, who: str = "Oona") -> Order:
    return Order(who, "buy", good, qty, price)


def sell(good: str, qty: int, price: int, who: str = "Oona") -> Order:
    return Order(who, "sell", good, qty, price)


def obs_strategy() -> st.SearchStrategy:
    """Observations of any creature at any prices, stores and limits, something heard or not."""

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


def varied_observations() -> list[Observation]:
    """Ten observations: every creature in a quiet turn, then in a stormy one."""
    out = [make_obs(name, turn=1) for name in CAST]
    stormy = {**PRICES, "honey": 6, "firewood": 8, "berries": 4}
    for name in CAST:
        stores = {g: max(0, n - 1) for g, n in STORES[name].items()}
        out.append(
            make_obs(
                name,
                turn=2,
                prices=stormy,
                stores=stores,
                burn=2,
                pebbles=25 if name != "Rusk" else 70,
                news=("A rumor says Oona's vault is empty.",),
                heard=("Pip: honey is scarce",) if name != "Pip" else (),
                whispers=("Honey will fall by half soon.",) if name == "Rusk" else (),
                feelings="trusts Oona; is wary of Rusk",
            )
        )
    return out


def order_ok(order: Order, obs: Observation) -> bool:
    """The validity rule, written out again independently of the parser."""
    lo, hi = obs.bands[order.good]
    return (
        order.creature == obs.creature
        and order.good in obs.goods
        and order.side in ("buy", "sell")
        and not (order.side == "buy" and order.good in obs.produces)
        and 1 <= order.qty <= obs.max_qty
        and not (order.side == "sell" and order.qty > obs.stores.get(order.good, 0))
        and lo <= order.price <= hi
    )


# --------------------------------------------------------------------------
# GBNF -> regex, for the subset grammar_for writes (one rule per line, no
# recursion): literals, character classes, rule names, groups, | ? {m,n}.

_TOKEN = re.compile(
    r'"(?:[^"\\]|\\.)*"|\[(?:[^\]\\]|\\.)*\]|[a-z][a-z0-9-]*|[()|?*+]|\{\d+(?:,\d*)?\}|\s+'
)


def _literal(token: str) -> str:
    body = token[1:-1]
    out, i = [], 0
    while i < len(body):
        if body[i] == "\\":
            nxt = body[i + 1]
            out.append({"n": "\n", "t": "\t", "r": "\r"}.get(nxt, nxt))
            i += 2
        else:
            out.append(body[i])
            i += 1
    return re.escape("".join(out))


def grammar_regex(grammar: str) -> str:
    """The regular expression equal to a (non-recursive) grammar's root rule."""
    rules: dict[str, str] = {}
    for line in grammar.splitlines():
        if line.strip():
            name, body = line.split(" ::= ", 1)
            rules[name.strip()] = body
    done: dict[str, str] = {}

    def expand(name: str) -> str:
        if name not in done:
            parts = []
            pos = 0
            body = rules[name]
            while pos < len(body):
                m = _TOKEN.match(body, pos)
                if m is None:
                    raise ValueError(f"cannot read {body[pos:]!r} in rule {name}")
                tok = m.group(0)
                pos = m.end()
                if tok.isspace():
                    continue
                if tok.startswith('"'):
                    parts.append(_literal(tok))
                elif tok.startswith("["):
                    parts.append(tok)
                elif tok == "(":
                    parts.append("(?:")
                elif tok in (")", "|", "?", "*", "+") or tok.startswith("{"):
                    parts.append(tok)
                else:
                    parts.append(f"(?:{expand(tok)})")
            done[name] = "".join(parts)
        return done[name]

    return expand("root")
