"""The narrator: one headline per turn, written from public facts only.

It reads what any creature could see (reference prices before and after
the turn, public news, the auction's volumes and fills) and nothing of
the financier's book or the truth of tips. Templates are chosen by the
facts, not by chance, so the same turn always reads the same.

A narrator is any callable `(wood, turn) -> str` (`state.Narrator`). The
narrate phase of `turn.py` asks `wood.narrator`, the template `headline`
when there is none. Beside the template, this room holds the replay's
`RecordedNarrator`, which reads each turn's recorded narration back
instead of asking a model; a model's narrator is narrators.py's, above
the engine, and `public_facts` is all it is given.

This room reads the wood and the turn; it writes only the turn's headline,
its `headline` and `narration` records and the wood's headline list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

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


def public_facts(wood: WoodState, t: TurnState) -> list[str]:
    """What happened this turn that anyone in the wood could see: the narrator's whole input.

    Reference prices before and after, the auction's volumes and fills,
    public happenings (a legend told or landing), how many creatures are
    cold. Never the financier's book, positions, whispers or tip truths.
    """
    facts = [f"turn {t.turn}"]
    facts += [str(p) for p in t.public]
    for g in wood.goods:
        before, after = t.opening.get(g, wood.prices[g]), wood.prices[g]
        c = t.clearings.get(g)
        traded = f"{c.volume} traded" if c is not None and c.volume else "none traded"
        facts.append(f"{g}: {before} -> {after} pebbles, {traded}")
    for f in sorted(t.fills, key=lambda f: (-f.price * f.qty, f.good, f.buyer, f.seller))[:3]:
        facts.append(f"{f.buyer} bought {f.qty} {f.good} from {f.seller} at {f.price}")
    cold = sum(1 for c in wood.creatures.values() if not c.warm)
    if cold:
        facts.append(f"{cold} creatures are cold")
    return facts


class RecordedNarrator:
    """A replay's narrator: each turn's recorded narration, read back, no model asked.

    The `narration` record (with its call) is emitted again as recorded, so
    replay compares it like any other record; a turn without one is the
    template's.
    """

    def __init__(self, records: Iterable[Mapping[str, Any]]) -> None:
        self.said = {int(r["turn"]): r for r in records if r.get("kind") == "narration"}

    def __call__(self, wood: WoodState, t: TurnState) -> str:
        found = self.said.get(t.turn)
        if found is None:
            return headline(wood, t)
        fields = {k: v for k, v in found.items() if k not in ("turn", "kind")}
        t.emit("narration", **fields)
        return str(found.get("text", ""))
