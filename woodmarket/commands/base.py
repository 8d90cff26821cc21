"""The command language's ground: what every verb shares, and the contexts it checks against.

A command is one financier move as a frozen value (`Short("honey", 8)`),
made by one class per verb. Each class says its words and its fields
once, and everything else is read from them: the parser of a typed line,
the fields of a form in the web app, the help text, the unknown-command
reply. A command goes through four steps, each refusing with an
`ActionError` whose message names what was wrong:

1. `parse(words, rest)` / `from_fields(values)`: the words or form fields
   read as values (numbers as typed, choices among the verb's words); no
   context is needed, so a typo fails before anything is looked up;
2. `named(lexicon)`: the goods, creatures, legends and tips it names are
   the context's (a scenario when its file loads, the wood being played
   when a move is typed); names come back as the context spells them;
3. `check(desk, ahead)`: against the wood and the moves queued ahead of
   it (margin, offers pending, a legend told), through the `Desk`
   protocol, which the financier implements; returns what it will do;
4. `make(desk)`: in the `events` phase, checked again and carried out.

This room knows no wood, no financier and no scenario: only the `Lexicon`
value and the `Desk` protocol that the layers above hand it. It holds the
rules shared by several verbs: whole numbers as typed (`count`), a text a
creature may be told (`text_problem`), and names resolved with one message
each.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from woodmarket.errors import ActionError

# Whole numbers as typed: ASCII digits only ("²" and "٣" are digits to
# str.isdigit but not to int()), and short enough to mean something.
MAX_DIGITS = 6
_NUMBER = re.compile(r"[0-9]+")
MAX_COMMAND_CHARS = 1000


# -- the contexts ----------------------------------------------------------


class Tale(Protocol):
    """A legend as a command sees it (a `legends.Legend`)."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def tips(self) -> tuple[str, ...]: ...


class TipLike(Protocol):
    """A true fact the financier may whisper: its key and its words."""

    @property
    def key(self) -> str: ...
    @property
    def text(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Lexicon:
    """What a command may name, and the limits it is held to.

    Built from a scenario when a file loads, and from the wood being
    played (its creatures now, the exiled apart) when a move is typed.
    `legend_files`: a legend may be named by the path of its file (the
    terminal, the environment), never from a web page.
    """

    goods: tuple[str, ...]
    creatures: tuple[str, ...]
    legends: Mapping[str, Tale]
    max_qty: int
    whisper_chars: int
    max_rate: int = 100
    max_term: int = 100
    exiled: tuple[str, ...] = ()
    legend_files: bool = False

    def good(self, word: str) -> str:
        if word not in self.goods:
            raise ActionError(f"unknown good {word!r}; goods are {', '.join(self.goods)}")
        return word

    def creature(self, word: str) -> str:
        """The creature `word` names, in any case, as the wood spells it."""
        for name in self.creatures:
            if name.lower() == word.lower():
                return name
        names = ", ".join(self.creatures)
        for name in self.exiled:
            if name.lower() == word.lower():
                raise ActionError(f"{name} has left the wood (exiled); creatures are {names}")
        raise ActionError(f"unknown creature {cut(word, 24)!r}; creatures are {names}")

    def legend(self, name: str) -> Tale:
        found = self.legends.get(name)
        if found is None:
            ids = ", ".join(self.legends) or "none in this wood"
            raise ActionError(f"unknown legend {cut(name, 40)!r}; legends are {ids}")
        return found


class Desk(Protocol):
    """The financier's side of a wood, as a command checks itself against it and is made."""

    @property
    def lexicon(self) -> Lexicon: ...
    @property
    def turn(self) -> int: ...
    def price(self, good: str) -> int: ...  # the reference price
    def mark(self, good: str) -> int: ...  # the price the house deals at (shorts, covers)
    def position(self, good: str) -> Any: ...  # the open short (qty, entry, mark, pnl) or None
    def free(self, ahead: Sequence[Command]) -> int: ...
    def order_problem(
        self, side: str, good: str, qty: int, price: int, ahead: Sequence[Command]
    ) -> str: ...
    def tips(self) -> Sequence[TipLike]: ...
    def cold(self, creature: str) -> str: ...  # how it resents the financier, "" if it listens
    def loan_of(self, creature: str) -> Any: ...  # its open loan (owed, due) or None
    def offered(self, creature: str, kind: str) -> bool: ...
    def pact_offered(self, first: str, second: str) -> bool: ...
    def allied(self, first: str, second: str) -> bool: ...
    def legend(self, name: str) -> Tale: ...
    def told(self, legend_id: str) -> bool: ...
    # carried out in the `events` phase
    def open_short(self, good: str, qty: int) -> None: ...
    def close_short(self, good: str) -> Any: ...  # the closed trade (qty, good, exit, entry, pnl)
    def place(self, side: str, good: str, qty: int, price: int) -> None: ...
    def deliver(self, creature: str, text: str, tip: TipLike | None) -> None: ...
    def lend(self, creature: str, amount: int, rate: int, turns: int) -> None: ...
    def bribe(self, creature: str, amount: int, ask: Any) -> None: ...
    def ally(self, first: str, second: str) -> None: ...
    def spring(self, legend: Tale, mechanism: str | None) -> None: ...


# -- fields ---------------------------------------------------------------

# What a field holds, and so how a form asks for it: a menu of the wood's
# goods, creatures, legends or true tips (tips: or typed words), a whole
# number, one of the verb's own words, or a line of text.
KINDS = ("good", "creature", "legend", "tip", "whole", "choice", "text")


@dataclass(frozen=True, slots=True)
class Field:
    """One part of a command, as a form asks for it."""

    name: str
    kind: str
    label: str
    choices: tuple[str, ...] = ()  # kind "choice": the words allowed
    default: str = ""  # what a form starts with
    optional: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"field {self.name}: kind must be one of {KINDS}, got {self.kind!r}")


# -- shared rules -----------------------------------------------------------


def cut(text: str, limit: int) -> str:
    """A typed word quoted in a message, cut to `limit` characters."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def count(word: str, what: str, minimum: int = 1) -> int:
    """A whole number >= `minimum` as typed, or an ActionError saying what was wrong."""
    if not _NUMBER.fullmatch(word):
        raise ActionError(f"{what} must be a whole number >= {minimum}, got {cut(word, 20)!r}")
    if len(word.lstrip("0")) > MAX_DIGITS:
        raise ActionError(f"{what} {word[:12]}... is too large (at most {MAX_DIGITS} digits)")
    value = int(word)
    if value < minimum:
        raise ActionError(f"{what} must be a whole number >= {minimum}, got {value}")
    return value


def text_problem(text: str, limit: int, what: str = "a whisper") -> str:
    """Why `text` cannot be told to a creature; "" when it can. Each problem named as it is."""
    if not text.strip():
        return f"{what} needs some words"
    for ch in text:
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs") or ch in "\u2028\u2029":
            return f"{what} may not hold a control character (U+{ord(ch):04X})"
        if cat in ("Cf", "Co", "Cn"):
            return f"{what} may not hold an invisible or unassigned character (U+{ord(ch):04X})"
    if len(text) > limit:
        return f"{what} is at most {limit} characters; this one has {len(text)}"
    return ""


# -- the verb --------------------------------------------------------------


class Command:
    """One verb of the financier's language. Subclasses are frozen dataclasses.

    A subclass states `verb`, `usage` (the line `help` shows), `summary`
    (what it does, one line), `fields` (what a form asks for), `title` and
    `action` (a form's heading and button) and `usage_error` (the refusal
    when the words do not fit), and implements
    `parse`, `from_fields` (the same values from a form), `named`,
    `check` and `make`. `holds` and `covers` say what it keeps from the
    financier's free pebbles while it waits in the queue.
    """

    __slots__ = ()

    verb: ClassVar[str]
    usage: ClassVar[str]
    title: ClassVar[str]
    action: ClassVar[str]
    summary: ClassVar[str]
    fields: ClassVar[tuple[Field, ...]]
    usage_error: ClassVar[str]

    @classmethod
    def parse(cls, words: list[str], rest: str) -> Command:
        """The command of a typed line: `words` after the verb, `rest` the text after it."""
        if len(words) != sum(not f.optional for f in cls.fields) and len(words) != len(cls.fields):
            raise ActionError(cls.usage_error)
        return cls.from_fields(dict(zip((f.name for f in cls.fields), words, strict=False)))

    @classmethod
    def from_fields(cls, values: Mapping[str, str]) -> Command:
        """The command of a form's fields (each a string as typed or picked)."""
        raise NotImplementedError

    def named(self, lexicon: Lexicon) -> Command:
        """This command with every name it holds resolved in `lexicon` (or ActionError)."""
        return self

    def check(self, desk: Desk, ahead: Sequence[Command]) -> str:
        """What this command will do, given the moves `ahead` of it; ActionError if refused."""
        self.named(desk.lexicon)
        return ""

    def make(self, desk: Desk) -> str:
        """Carry the command out (the `events` phase), checked again first; what it did."""
        raise NotImplementedError

    def holds(self, desk: Desk, covered: set[str]) -> int:
        """Pebbles this queued command keeps from the free ones (`covered`: goods covered ahead)."""
        return 0

    def covers(self) -> str | None:
        """The good whose short this command closes, if it does."""
        return None

    def line(self) -> str:
        """The command as a line the parser reads back to this command (the record format)."""
        values = (getattr(self, f.name) for f in dataclasses.fields(self))  # type: ignore[arg-type]
        return " ".join([self.verb, *(str(v) for v in values if v is not None)])

    def follow_ups(self, lexicon: Lexicon) -> tuple[Command, ...]:
        """The moves that complete this one's plan (a short is covered, a tip's legend told)."""
        return ()


def value(values: Mapping[str, str], name: str, usage_error: str) -> str:
    """A form field's text, stripped; a missing or empty required field is the usage error."""
    raw = values.get(name)
    text = "" if raw is None else str(raw).strip()
    if not text:
        raise ActionError(usage_error)
    return text
