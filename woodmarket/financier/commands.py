"""The financier's command language: one typed line in, one typed command out.

    short GOOD QTY                 a short on GOOD's reference price, with the house
    cover GOOD                     close the short on GOOD at the reference price
    order buy|sell GOOD QTY PRICE  a real order in this turn's auction
    whisper CREATURE TIP           TIP: a number from `tips`, a legend id (its first
                                   tip) or LEGEND.N; any other text goes as a rumor
    spring LEGEND [MECHANISM]      tell a legend in the wood this turn; MECHANISM
                                   (rumor, glut or settle) overrides its own

This room only reads text: it knows the syntax, not the wood. Whether a
good, creature or legend exists, and whether the book allows the move, is
checked where the move is made (`financier/__init__.py`). Every mistake is
an `ActionError` whose message says what was wrong and shows the usage;
no input (odd digits, huge numbers, control characters) raises anything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from woodmarket.errors import ActionError

VERBS = ("short", "cover", "order", "whisper", "spring")
SPRING_MECHANISMS = ("rumor", "glut", "settle")
# Whole numbers as typed: ASCII digits only ("²" and "٣" are digits to
# str.isdigit but not to int()), and short enough to mean something.
MAX_DIGITS = 6
_NUMBER = re.compile(r"[0-9]+")
MAX_COMMAND_CHARS = 1000


@dataclass(frozen=True, slots=True)
class Short:
    good: str
    qty: int


@dataclass(frozen=True, slots=True)
class Cover:
    good: str


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    side: str
    good: str
    qty: int
    price: int


@dataclass(frozen=True, slots=True)
class Whisper:
    creature: str
    tip: str  # a tip reference or free text, resolved against the wood's tips


@dataclass(frozen=True, slots=True)
class Spring:
    legend: str
    mechanism: str | None = None


Command = Short | Cover | PlaceOrder | Whisper | Spring


def count(word: str, what: str) -> int:
    """A whole number >= 1 as typed, or an ActionError saying what was wrong."""
    if not _NUMBER.fullmatch(word):
        shown = word if len(word) <= 20 else word[:17] + "..."
        raise ActionError(f"{what} must be a whole number >= 1, got {shown!r}")
    if len(word.lstrip("0")) > MAX_DIGITS:
        raise ActionError(f"{what} {word[:12]}... is too large (at most {MAX_DIGITS} digits)")
    value = int(word)
    if value < 1:
        raise ActionError(f"{what} must be a whole number >= 1, got {value}")
    return value


def parse_command(text: str) -> Command:
    """The command a line names; raises ActionError with the reason and the usage."""
    if len(text) > MAX_COMMAND_CHARS:
        raise ActionError(f"a command is at most {MAX_COMMAND_CHARS} characters")
    words = text.split()
    if not words or words[0].lower() not in VERBS:
        shown = text.strip() if len(text.strip()) <= 40 else text.strip()[:37] + "..."
        raise ActionError(f"unknown command {shown!r}; commands: {', '.join(VERBS)}")
    verb, args = words[0].lower(), words[1:]
    if verb == "short":
        if len(args) != 2:
            raise ActionError("usage: short GOOD QTY (a good of this wood, a whole number)")
        return Short(args[0].lower(), count(args[1], "quantity"))
    if verb == "cover":
        if len(args) != 1:
            raise ActionError("usage: cover GOOD (a good you are short of)")
        return Cover(args[0].lower())
    if verb == "order":
        args = [a for a in args if a.lower() != "at"]
        if len(args) != 4 or args[0].lower() not in ("buy", "sell"):
            raise ActionError(
                "usage: order buy|sell GOOD QTY PRICE (whole numbers; `at` before PRICE is allowed)"
            )
        return PlaceOrder(
            args[0].lower(), args[1].lower(), count(args[2], "quantity"), count(args[3], "price")
        )
    if verb == "whisper":
        if len(args) < 2:
            raise ActionError("usage: whisper CREATURE TIP (a tip number, a legend id, or text)")
        # The text as typed after the creature's name, inner spacing kept.
        rest = text.split(None, 2)[2].strip()
        return Whisper(args[0], rest)
    if len(args) not in (1, 2):
        raise ActionError("usage: spring LEGEND [rumor|glut|settle] (see `legends`)")
    mechanism = args[1].lower() if len(args) == 2 else None
    if mechanism is not None and mechanism not in SPRING_MECHANISMS:
        raise ActionError(f"unknown mechanism {args[1][:20]!r}; use {', '.join(SPRING_MECHANISMS)}")
    return Spring(args[0], mechanism)
