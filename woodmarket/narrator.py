"""The narrator: one headline per turn, written from public facts only.

It reads what any creature could see (reference prices before and after
the turn, public news, the auction's volumes and fills) and nothing of
the financier's book or the truth of tips. Templates are chosen by the
facts, not by chance, so the same turn always reads the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from woodmarket.state import TurnState, WoodState


def _pct(before: int, after: int) -> int:
    return round(100 * (after - before) / before) if before else 0


def headline(wood: WoodState, t: TurnState) -> str:
    """The turn's headline: public happenings first, then the market's biggest facts."""
    moves = [(g, t.opening[g], wood.prices[g]) for g in wood.goods]
    g, before, after = max(moves, key=lambda m: (abs(_pct(m[1], m[2])), m[0]))
    pct = _pct(before, after)
    fills = t.fills
    parts = list(t.public)
    if abs(pct) >= 20:
        verb = (
            "soars" if pct >= 50 else "climbs" if pct > 0 else "crashes" if pct <= -40 else "slides"
        )
        parts.append(f"{g.capitalize()} {verb} {before} -> {after}")
    scarce = [c.good for c in t.clearings.values() if c.demand and not c.supply]
    if scarce:
        parts.append(f"no seller of {scarce[0]} to be found")
    if fills:
        big = max(fills, key=lambda f: (f.price * f.qty, f.good, f.buyer, f.seller))
        if not parts or big.price * big.qty >= 20:
            parts.append(f"{big.buyer} buys {big.qty} {big.good} from {big.seller} at {big.price}")
    elif not parts:
        parts.append("a quiet market: nothing changes hands")
    cold = sum(1 for c in wood.creatures.values() if not c.warm)
    if cold >= 2:
        parts.append(f"{cold} creatures shiver")
    text = "; ".join(parts)
    return text[0].upper() + text[1:]
