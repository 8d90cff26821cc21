"""The patron's verbs: a loan, a bribe with a small ask, a pact brokered between two creatures.

    lend CREATURE AMOUNT RATE TURNS  offer a loan: AMOUNT pebbles at RATE percent a
                                   turn, repaid at the settlement TURNS turns on
    bribe CREATURE AMOUNT ASK      offer AMOUNT pebbles for ASK: `sell GOOD`,
                                   `hold GOOD` or `gossip TEXT`
    ally CREATURE CREATURE         broker a pact between two creatures

Each is an offer its creature answers in its own action (financier/patron.py
keeps the offers, answers and debts). A bribe's gossip ask is one short
line of plain words: it reaches a creature's prompt, so nothing a command,
a template or markup could be read from. Reads the wood only through the
`Desk`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from woodmarket.commands.base import Command, Desk, Field, Lexicon, count, text_problem, value
from woodmarket.errors import ActionError
from woodmarket.rules import interest

ASKS = ("sell", "hold", "gossip")
MAX_ASK_CHARS = 80  # a gossip ask is one short line
# A gossip ask's characters: letters, digits, spaces and plain punctuation.
_ASK_CHARACTER = re.compile(r"[^\W_]|[ .,!?'-]")


@dataclass(frozen=True, slots=True)
class Ask:
    """What a bribe asks for this turn: `sell GOOD`, `hold GOOD` or `gossip TEXT`."""

    verb: str
    what: str  # the good, or the line to pass on

    def __str__(self) -> str:
        return f"{self.verb} {self.what}"


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
        odd = next((ch for ch in line if not _ASK_CHARACTER.fullmatch(ch)), None)
        if odd is not None:
            raise ActionError(
                f"a gossip ask may hold letters, digits, spaces and . , ! ? ' - only, not {odd!r}"
            )
        return Ask(verb, " ".join(line.split()))
    if len(words) != 2:
        raise ActionError(f"usage: {verb} GOOD (one good of this wood)")
    return Ask(verb, words[1].lower())


def _offered(
    desk: Desk, who: str, kind: type[Command], word: str, ahead: Sequence[Command]
) -> bool:
    """Whether `who` has an offer of `word` pending, or one of `kind` queued this turn."""
    queued = any(
        isinstance(c, kind) and str(getattr(c, "creature", "")).lower() == who.lower()
        for c in ahead
    )
    return queued or desk.offered(who, word)


def _listening(desk: Desk, who: str) -> None:
    cold = desk.cold(who)
    if cold:
        raise ActionError(f"{who} {cold} you and will not deal with you")


def _affordable(desk: Desk, amount: int, ahead: Sequence[Command], what: str) -> None:
    free = desk.free(ahead)
    if amount > free:
        raise ActionError(f"not enough pebbles: {what} needs {amount}; you have {free} free")


@dataclass(frozen=True, slots=True)
class Lend(Command):
    creature: str
    amount: int
    rate: int  # percent of the amount, a turn
    turns: int

    verb: ClassVar[str] = "lend"
    usage: ClassVar[str] = "lend CREATURE AMOUNT RATE TURNS"
    title: ClassVar[str] = "Lend to a creature"
    action: ClassVar[str] = "Lend"
    summary: ClassVar[str] = "offer a loan at RATE% a turn, due in TURNS turns"
    fields: ClassVar[tuple[Field, ...]] = (
        Field("creature", "creature", "creature"),
        Field("amount", "whole", "pebbles", default="10"),
        Field("rate", "whole", "rate (% a turn)", default="10"),
        Field("turns", "whole", "turns to term", default="2"),
    )
    usage_error: ClassVar[str] = (
        "usage: lend CREATURE AMOUNT RATE TURNS (pebbles, percent a turn, turns to term)"
    )

    @classmethod
    def from_fields(cls, values: Mapping[str, str]) -> Lend:
        words = [value(values, f.name, cls.usage_error) for f in cls.fields]
        return cls(
            words[0],
            count(words[1], "amount"),
            count(words[2], "rate", minimum=0),
            count(words[3], "turns"),
        )

    def named(self, lexicon: Lexicon) -> Lend:
        who = lexicon.creature(self.creature)
        if self.rate > lexicon.max_rate:
            raise ActionError(
                f"rate {self.rate}% a turn is above this wood's limit of {lexicon.max_rate}%"
            )
        if self.turns > lexicon.max_term:
            raise ActionError(
                f"a term of {self.turns} turns is above this wood's limit of {lexicon.max_term}"
            )
        return Lend(who, self.amount, self.rate, self.turns)

    def _offer(self, desk: Desk, ahead: Sequence[Command]) -> tuple[str, str]:
        who = self.named(desk.lexicon).creature
        loan = desk.loan_of(who)
        if loan is not None:
            raise ActionError(
                f"{who} already owes you {loan.owed} (due at turn {loan.due}); one loan at a time"
            )
        if _offered(desk, who, Lend, "loan", ahead):
            raise ActionError(f"a loan to {who} is already offered; one loan at a time")
        _listening(desk, who)
        _affordable(desk, self.amount, ahead, f"lending {self.amount}")
        per = interest(self.amount, self.rate)
        due = desk.turn + 1 + self.turns
        return who, (
            f"loan offered to {who}: {self.amount} pebbles at {self.rate}% a turn ({per} a turn), "
            f"{self.amount + self.turns * per} due at the settlement of turn {due}; "
            f"{who} answers this turn"
        )

    def check(self, desk: Desk, ahead: Sequence[Command]) -> str:
        return self._offer(desk, ahead)[1]

    def make(self, desk: Desk) -> str:
        who, message = self._offer(desk, ())
        desk.lend(who, self.amount, self.rate, self.turns)
        return message

    def holds(self, desk: Desk, covered: set[str]) -> int:
        return self.amount


@dataclass(frozen=True, slots=True)
class Bribe(Command):
    creature: str
    amount: int
    ask: Ask

    verb: ClassVar[str] = "bribe"
    usage: ClassVar[str] = "bribe CREATURE AMOUNT ASK"
    title: ClassVar[str] = "Bribe a creature"
    action: ClassVar[str] = "Bribe"
    summary: ClassVar[str] = "pebbles for an ask: sell GOOD, hold GOOD or gossip TEXT"
    fields: ClassVar[tuple[Field, ...]] = (
        Field("creature", "creature", "creature"),
        Field("amount", "whole", "pebbles", default="10"),
        Field("ask", "choice", "ask", ASKS, default="sell"),
        Field("good", "good", "good (sell or hold)", optional=True),
        Field("words", "text", "words to pass on (gossip)", optional=True),
    )
    usage_error: ClassVar[str] = "usage: bribe CREATURE AMOUNT sell GOOD|hold GOOD|gossip TEXT"

    @classmethod
    def parse(cls, words: list[str], rest: str) -> Bribe:
        if len(words) < 3:
            raise ActionError(cls.usage_error)
        amount = count(words[1], "amount")
        asked = rest.split(None, 2)[2].strip()
        return cls(words[0], amount, parse_ask(words[2:], asked))

    @classmethod
    def from_fields(cls, values: Mapping[str, str]) -> Bribe:
        who = value(values, "creature", cls.usage_error)
        amount = count(value(values, "amount", cls.usage_error), "amount")
        verb = str(values.get("ask") or "").strip()
        what = values.get("words" if verb.lower() == "gossip" else "good") or ""
        # The form's fields read as the words of a typed ask, so both are refused alike.
        asked = f"{verb} {str(what).strip()}".strip()
        return cls(who, amount, parse_ask(asked.split(), asked))

    def named(self, lexicon: Lexicon) -> Bribe:
        if self.ask.verb != "gossip":
            lexicon.good(self.ask.what)
        return Bribe(lexicon.creature(self.creature), self.amount, self.ask)

    def _offer(self, desk: Desk, ahead: Sequence[Command]) -> tuple[str, str]:
        lexicon = desk.lexicon
        who = lexicon.creature(self.creature)
        if self.ask.verb == "gossip":
            problem = text_problem(self.ask.what, lexicon.whisper_chars, "a gossip ask")
            if problem:
                raise ActionError(problem)
        else:
            lexicon.good(self.ask.what)
        if _offered(desk, who, Bribe, "bribe", ahead):
            raise ActionError(f"a bribe to {who} is already offered this turn; one at a time")
        _listening(desk, who)
        _affordable(desk, self.amount, ahead, f"a bribe of {self.amount}")
        return who, f"bribe offered to {who}: {self.amount} pebbles to {self.ask}, this turn"

    def check(self, desk: Desk, ahead: Sequence[Command]) -> str:
        return self._offer(desk, ahead)[1]

    def make(self, desk: Desk) -> str:
        who, message = self._offer(desk, ())
        desk.bribe(who, self.amount, self.ask)
        return message

    def holds(self, desk: Desk, covered: set[str]) -> int:
        return self.amount


@dataclass(frozen=True, slots=True)
class Ally(Command):
    first: str
    second: str

    verb: ClassVar[str] = "ally"
    usage: ClassVar[str] = "ally CREATURE CREATURE"
    title: ClassVar[str] = "Pacts between creatures"
    action: ClassVar[str] = "Broker a pact"
    summary: ClassVar[str] = "broker a pact (allies hear each other first, trade first)"
    fields: ClassVar[tuple[Field, ...]] = (
        Field("first", "creature", "creature"),
        Field("second", "creature", "and creature"),
    )
    usage_error: ClassVar[str] = "usage: ally CREATURE CREATURE (two creatures of this wood)"

    @classmethod
    def from_fields(cls, values: Mapping[str, str]) -> Ally:
        return cls(
            value(values, "first", cls.usage_error), value(values, "second", cls.usage_error)
        )

    def named(self, lexicon: Lexicon) -> Ally:
        a, b = lexicon.creature(self.first), lexicon.creature(self.second)
        if a == b:
            raise ActionError(f"a pact needs two different creatures; {a} named twice")
        return Ally(a, b)

    def check(self, desk: Desk, ahead: Sequence[Command]) -> str:
        pact = self.named(desk.lexicon)
        a, b = pact.first, pact.second
        if desk.allied(a, b):
            raise ActionError(f"{a} and {b} are allies already")
        pair = {a.lower(), b.lower()}
        queued = any(
            isinstance(c, Ally) and {c.first.lower(), c.second.lower()} == pair for c in ahead
        )
        if queued or desk.pact_offered(a, b):
            raise ActionError(f"a pact between {a} and {b} is already offered")
        return f"pact offered to {a} and {b}; it forms if both accept this turn"

    def make(self, desk: Desk) -> str:
        message = self.check(desk, ())
        pact = self.named(desk.lexicon)
        desk.ally(pact.first, pact.second)
        return message
