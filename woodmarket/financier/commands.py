"""The financier's command language: one typed line in, one typed command out.

    short GOOD QTY                 a short on GOOD's reference price, with the house
    cover GOOD                     close the short on GOOD at the reference price
    order buy|sell GOOD QTY PRICE  a real order in this turn's auction
    whisper CREATURE TIP           TIP: a number from `tips`, a legend id (its first
                                   tip) or LEGEND.N; any other text goes as a rumor
    spring LEGEND [MECHANISM]      tell a legend in the wood this turn; MECHANISM
                                   (rumor, glut or settle) overrides its own
    lend CREATURE AMOUNT RATE TURNS  offer a loan: AMOUNT pebbles at RATE percent a
                                   turn, repaid at the settlement TURNS turns on
    bribe CREATURE AMOUNT ASK      offer AMOUNT pebbles for ASK: `sell GOOD`,
                                   `hold GOOD` or `gossip TEXT`
    ally CREATURE CREATURE         broker a pact between two creatures

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

VERBS = ("short", "cover", "order", "whisper", "spring", "lend", "bribe", "ally")
ASKS = ("sell", "hold", "gossip")
MAX_ASK_CHARS = 80  # a gossip ask is one short line
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


@dataclass(frozen=True, slots=True)
class Lend:
    creature: str
    amount: int
    rate: int  # percent of the amount, a turn
    turns: int


@dataclass(frozen=True, slots=True)
class Ask:
    """What a bribe asks for this turn: `sell GOOD`, `hold GOOD` or `gossip TEXT`."""

    verb: str
    what: str  # the good, or the line to pass on

    def __str__(self) -> str:
        return f"{self.verb} {self.what}"


@dataclass(frozen=True, slots=True)
class Bribe:
    creature: str
    amount: int
    ask: Ask


@dataclass(frozen=True, slots=True)
class Ally:
    first: str
    second: str


Command = Short | Cover | PlaceOrder | Whisper | Spring | Lend | Bribe | Ally


def count(word: str, what: str, minimum: int = 1) -> int:
    """A whole number >= `minimum` as typed, or an ActionError saying what was wrong."""
    if not _NUMBER.fullmatch(word):
        shown = word if len(word) <= 20 else word[:17] + "..."
        raise ActionError(f"{what} must be a whole number >= {minimum}, got {shown!r}")
    if len(word.lstrip("0")) > MAX_DIGITS:
        raise ActionError(f"{what} {word[:12]}... is too large (at most {MAX_DIGITS} digits)")
    value = int(word)
    if value < minimum:
        raise ActionError(f"{what} must be a whole number >= {minimum}, got {value}")
    return value


def parse_ask(words: list[str], text: str) -> Ask:
    """A bribe's ask from its words (`text`: the ask as typed, for a gossip line)."""
    usage = "the ask is `sell GOOD`, `hold GOOD` or `gossip TEXT`"
    if not words or words[0].lower() not in ASKS:
        raise ActionError(f"{usage}; got {text[:30]!r}" if text else usage)
    verb = words[0].lower()
    if verb == "gossip":
        line = text.split(None, 1)[1].strip() if len(words) > 1 else ""
        if not line:
            raise ActionError("a gossip ask needs the words to pass on")
        if len(line) > MAX_ASK_CHARS or not line.isprintable():
            raise ActionError(
                f"a gossip ask is one printable line of at most {MAX_ASK_CHARS} characters"
            )
        return Ask(verb, line)
    if len(words) != 2:
        raise ActionError(f"usage: {verb} GOOD (one good of this wood)")
    return Ask(verb, words[1].lower())


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
    if verb == "lend":
        if len(args) != 4:
            raise ActionError(
                "usage: lend CREATURE AMOUNT RATE TURNS (pebbles, percent a turn, turns to term)"
            )
        return Lend(
            args[0],
            count(args[1], "amount"),
            count(args[2], "rate", minimum=0),
            count(args[3], "turns"),
        )
    if verb == "bribe":
        if len(args) < 3:
            raise ActionError("usage: bribe CREATURE AMOUNT sell GOOD|hold GOOD|gossip TEXT")
        rest = text.split(None, 3)[3].strip()
        return Bribe(args[0], count(args[1], "amount"), parse_ask(args[2:], rest))
    if verb == "ally":
        if len(args) != 2:
            raise ActionError("usage: ally CREATURE CREATURE (two creatures of this wood)")
        return Ally(args[0], args[1])
    if len(args) not in (1, 2):
        raise ActionError("usage: spring LEGEND [rumor|glut|settle] (see `legends`)")
    mechanism = args[1].lower() if len(args) == 2 else None
    if mechanism is not None and mechanism not in SPRING_MECHANISMS:
        raise ActionError(f"unknown mechanism {args[1][:20]!r}; use {', '.join(SPRING_MECHANISMS)}")
    return Spring(args[0], mechanism)
