"""Gambits: named, scripted sequences of financier moves, owned by a scenario.

This room only describes gambits and checks commands; it touches nothing.
A scenario's `[gambits.NAME]` tables become `Gambit`s at load (see
scenario.py and docs/scenarios.md): each maps a turn to the commands the
financier types just before that turn, and names the legend it springs so
reports know which good to watch. The runner turns a run's meta (`gambit`,
`mechanism`) into a financier running `scenario.gambit(name).script(...)`,
so a replay rebuilds the same moves from run.json.

`check_command` is the command syntax, checked when a scenario loads::

    short GOOD QTY                  cover GOOD
    order buy|sell GOOD QTY PRICE   (an optional `at` before PRICE)
    whisper CREATURE TIP            TIP: a tip number, a legend id, LEGEND.N, or free text
    spring LEGEND

Goods, creatures and legends must be the scenario's; whether a move is
affordable, or a price inside the band, depends on the wood at that turn
and is the financier's to refuse then.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from woodmarket.errors import ActionError
from woodmarket.legends import Legend

VERBS = ("short", "cover", "order", "whisper", "spring")
MAX_SHORT = 1_000_000  # units in one short or one order price, a sanity bound
_LEGEND_REF = re.compile(r"^[a-z0-9_]*_[a-z0-9_]*(\.\d+)?$|^[a-z0-9_]+\.\d+$")


@dataclass(frozen=True, slots=True)
class Gambit:
    name: str
    summary: str
    legend: Legend
    moves: tuple[tuple[int, tuple[str, ...]], ...]

    @property
    def target(self) -> str:
        return self.legend.target

    @property
    def spring_turn(self) -> int:
        """The first turn whose moves spring the gambit's legend (a loaded gambit has one)."""
        spring = ["spring", self.legend.id]
        return next(t for t, ms in self.moves if any(m.split() == spring for m in ms))

    @property
    def reckoning(self) -> int:
        """The turn whose settlement shows what the legend did to its target."""
        return self.spring_turn + self.legend.delay

    def script(self, mechanism: str | None = None) -> dict[int, tuple[str, ...]]:
        """turn -> commands; `none` drops the springs (the world without the legend)."""
        out = {}
        for turn, moves in self.moves:
            kept = tuple(m for m in moves if mechanism != "none" or not m.startswith("spring "))
            if kept:
                out[turn] = kept
        return out


def _one_of(word: str, known: Sequence[str], what: str, fold: bool = False) -> str:
    for k in known:
        if k == word or (fold and k.lower() == word.lower()):
            return k
    raise ActionError(f"{what} ({', '.join(known) or 'none'}); {word!r} is not one")


def _count(word: str, what: str, limit: int) -> int:
    if not word.isdigit() or not 1 <= int(word) <= limit:
        raise ActionError(f"{what} from 1 to {limit}; got {word!r}")
    return int(word)


def check_command(
    text: str,
    *,
    goods: Sequence[str],
    creatures: Sequence[str],
    legends: Mapping[str, Legend],
    max_qty: int,
    whisper_chars: int,
) -> None:
    """Raise ActionError saying what was expected when `text` is not a valid command here."""
    words = text.split()
    if not words or words[0].lower() not in VERBS:
        raise ActionError(f"a command ({', '.join(VERBS)}); got {text.strip()!r}")
    verb, args = words[0].lower(), words[1:]
    a_good = "a good of this wood"
    if verb == "short":
        if len(args) != 2:
            raise ActionError("short GOOD QTY")
        _one_of(args[0].lower(), goods, a_good)
        _count(args[1], "a quantity", MAX_SHORT)
    elif verb == "cover":
        if len(args) != 1:
            raise ActionError("cover GOOD")
        _one_of(args[0].lower(), goods, a_good)
    elif verb == "order":
        args = [a for a in args if a.lower() != "at"]
        if len(args) != 4 or args[0].lower() not in ("buy", "sell"):
            raise ActionError("order buy|sell GOOD QTY PRICE")
        _one_of(args[1].lower(), goods, a_good)
        _count(args[2], "a quantity (the market's max_qty)", max_qty)
        _count(args[3], "a price", MAX_SHORT)
    elif verb == "whisper":
        if len(args) < 2:
            raise ActionError("whisper CREATURE TIP")
        _one_of(args[0], creatures, "a creature of this wood", fold=True)
        tip = " ".join(args[1:])
        if len(args) == 2 and (tip in legends or _LEGEND_REF.match(tip)):
            legend_id, _, n = tip.partition(".")
            legend = legends.get(legend_id)
            if legend is None:
                raise ActionError(
                    f"a legend of this scenario ({', '.join(legends) or 'none'}); "
                    f"{legend_id!r} is not one"
                )
            if n and not 1 <= int(n) <= len(legend.tips):
                raise ActionError(f"a tip of {legend_id} from 1 to {len(legend.tips)}; got {n}")
        elif len(tip) > whisper_chars or not tip.isprintable():
            raise ActionError(f"a whisper of one line of at most {whisper_chars} characters")
    else:
        if len(args) != 1:
            raise ActionError("spring LEGEND")
        _one_of(args[0], tuple(legends), "a legend of this scenario")
