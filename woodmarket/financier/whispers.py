"""Whispers and tips: what the financier may confide, and the ledger of what was.

A tip is a true fact of the wood being played: one of its legends' true
tips, or a fact read off the wood's state now (who makes a good, who holds
most of it, how its price moved). Free text goes out as a rumor nobody
checked. To the creature both read the same, `the financier whispers:
"..."`; whether it was true lives only in this ledger and the trace's
`financier` records, never in an observation or a prompt.

A creature that resents the financier (feeling -40 or colder) refuses
whispers. A rumor that names one good and a direction (falls, rises, ...)
proves false if the good's reference moved the other way by the end of
its third turn; the creature grows colder.

What reads as a tip reference, and which words a creature may be told,
is the command language's (`commands.stories`, `commands.text_problem`).
This room reads the wood (scenario, stores, prices, feelings) and keeps
the whisper ledger; it delivers nothing itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from woodmarket.legends import Legend
    from woodmarket.state import WoodState

REFUSE_AT = -40  # a creature this cold (it "resents" the financier) refuses whispers
TIP_WARMTH = 3  # a true tip confided warms a little
FALSE_RUMOR = -20  # a rumor that proved false cools a lot
RUMOR_TURNS = 3  # a rumor's claim is judged at the settlement of its third turn

_DOWN = frozenset("fall falls falling crash crashes crashing drop drops sink sinks cheap".split())
_UP = frozenset("rise rises rising soar soars climb climbs spike spikes dear scarce".split())
_WORD = re.compile(r"[a-z]+")


@dataclass(slots=True)
class Whispered:
    """One whisper in the financier's ledger. `true` is None for free text."""

    turn: int
    to: str
    text: str
    true: bool | None
    delivered: bool
    claim: tuple[str, str, int] | None = None  # (good, "down"|"up", price then)
    verdict: str = ""


@dataclass(frozen=True, slots=True)
class Tip:
    key: str
    text: str


def whisper_line(text: str) -> str:
    """What the creature hears: the same words for a true tip and a rumor."""
    return f'the financier whispers: "{text}"'


def legends_of(wood: WoodState) -> tuple[Legend, ...]:
    """The legends of the wood being played: its scenario's own."""
    return wood.scenario.legends


def tips(wood: WoodState, good: str | None = None) -> list[Tip]:
    """True facts to whisper: the wood's legends' tips, then facts read off the wood now."""
    out = [
        Tip(f"{lg.id}.{i}", text)
        for lg in legends_of(wood)
        if good is None or lg.target == good
        for i, text in enumerate(lg.tips, 1)
    ]
    for g in wood.goods:
        if good is not None and g != good:
            continue
        makers = [n for n in wood.names if wood.creatures[n].spec.produces.get(g)]
        if len(makers) == 1:
            out.append(Tip(f"state.{g}.makers", f"{makers[0]} is the only creature who makes {g}."))
        elif makers:
            out.append(Tip(f"state.{g}.makers", f"{' and '.join(makers)} make {g}."))
        held = {n: wood.creatures[n].account.stores[g] for n in wood.names}
        top = max(wood.names, key=lambda n: (held[n], n))
        if held[top]:
            out.append(
                Tip(
                    f"state.{g}.holder",
                    f"{top} holds {held[top]} of the {sum(held.values())} {g} in the wood.",
                )
            )
        h = wood.history[g][-4:]
        if len(h) >= 2 and h[0] != h[-1]:
            verb = "fallen" if h[-1] < h[0] else "risen"
            turns = len(h) - 1
            out.append(
                Tip(
                    f"state.{g}.trend",
                    f"{g.capitalize()} has {verb} from {h[0]} to {h[-1]} "
                    f"over the last {turns} turn{'s' * (turns > 1)}.",
                )
            )
    return out


def claim(wood: WoodState, text: str) -> tuple[str, str, int] | None:
    """The (good, direction, price now) a rumor asserts, if it names one of each."""
    words = set(_WORD.findall(text.lower()))
    goods = [g for g in wood.goods if g in words or _singular(g) in words]
    down, up = bool(words & _DOWN), bool(words & _UP)
    if len(goods) != 1 or down == up:
        return None
    return goods[0], "down" if down else "up", wood.prices[goods[0]]


def _singular(good: str) -> str:
    if good.endswith("ies"):
        return good[:-3] + "y"
    return good[:-1] if good.endswith("s") else good
