"""The verbs that tell: a whisper to one creature, and a legend told to the whole wood.

    whisper CREATURE TIP           TIP: a number from `tips`, a legend id (its first
                                   tip) or LEGEND.N; any other text goes as a rumor
    spring LEGEND [MECHANISM]      tell a legend in the wood this turn; MECHANISM
                                   (rumor, glut or settle) overrides its own

What reads as a tip reference is decided here, once: a number (in any
digits: "²" is a number, and not one `tips` lists), a legend's id or
`LEGEND.N`, or the key of a fact of the wood (`state.GOOD.KIND`). Anything
else is a rumor, told as typed. Whether a whisper was true stays with the
financier. Reads the wood only through the `Desk`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from woodmarket.commands.base import (
    Command,
    Desk,
    Field,
    Lexicon,
    Tale,
    TipLike,
    text_problem,
    value,
)
from woodmarket.commands.market import Cover
from woodmarket.errors import ActionError
from woodmarket.rules import MECHANISMS

MAX_TIP_NUMBER_DIGITS = 6
NO_SUCH_TIP = "`tips` lists the tips you can whisper"


def _key(ref: str) -> str:
    """The tip key a reference names: LEGEND.N as typed, a bare LEGEND its first tip."""
    return ref if "." in ref else f"{ref}.1"


def find_tip(ref: str, offered: Sequence[TipLike], legends: Mapping[str, Tale]) -> TipLike | None:
    """The tip `ref` names among `offered` (a number, a legend id, a key), None for a rumor."""
    if ref.isdigit():
        n = int(ref) if ref.isascii() and len(ref) <= MAX_TIP_NUMBER_DIGITS else 0
        if not 1 <= n <= len(offered):
            raise ActionError(f"no tip number {ref[:12]}; `tips` lists 1..{len(offered)}")
        return offered[n - 1]
    key = _key(ref)
    found = next((t for t in offered if t.key == key), None)
    if found is None and key.split(".")[0] in legends:
        raise ActionError(f"no tip {ref!r}; {NO_SUCH_TIP}")
    return found


@dataclass(frozen=True, slots=True)
class Whisper(Command):
    creature: str
    tip: str  # a tip reference or free text, resolved against the wood's tips

    verb: ClassVar[str] = "whisper"
    usage: ClassVar[str] = "whisper CREATURE TIP"
    title: ClassVar[str] = "Whisper to a creature"
    action: ClassVar[str] = "Whisper"
    summary: ClassVar[str] = "TIP: a number from `tips`, a legend id, or free text (a rumor)"
    fields: ClassVar[tuple[Field, ...]] = (
        Field("creature", "creature", "creature"),
        Field("tip", "tip", "a true tip, or your own words (a rumor)"),
    )
    usage_error: ClassVar[str] = "usage: whisper CREATURE TIP (a tip number, a legend id, or text)"

    @classmethod
    def parse(cls, words: list[str], rest: str) -> Whisper:
        if len(words) < 2:
            raise ActionError(cls.usage_error)
        # The text as typed after the creature's name, inner spacing kept.
        return cls(words[0], rest.split(None, 1)[1].strip())

    @classmethod
    def from_fields(cls, values: Mapping[str, str]) -> Whisper:
        return cls(
            value(values, "creature", cls.usage_error), value(values, "tip", cls.usage_error)
        )

    def named(self, lexicon: Lexicon) -> Whisper:
        who = lexicon.creature(self.creature)
        ref = self.tip
        if ref.isdigit():
            if not ref.isascii():
                raise ActionError(
                    f"no tip number {ref[:12]!r}: tip numbers are written in the digits 0-9"
                )
            return Whisper(who, ref)  # which tips there are depends on the wood at the turn
        key = _key(ref)
        head, _, number = key.partition(".")
        legend = lexicon.legends.get(head)
        if legend is not None:
            if number not in {str(i) for i in range(1, len(legend.tips) + 1)}:
                raise ActionError(f"no tip {ref!r}; {NO_SUCH_TIP}")
        elif head != "state":  # a fact of the wood is read off it when whispered
            problem = text_problem(ref, lexicon.whisper_chars)
            if problem:
                raise ActionError(problem)
        return Whisper(who, ref)

    def _said(self, desk: Desk) -> tuple[str, str, TipLike | None, str]:
        """(the creature, the words it hears, the tip if true, what the move does)."""
        lexicon = desk.lexicon
        who = self.named(lexicon).creature
        tip = find_tip(self.tip, desk.tips(), lexicon.legends)
        text = tip.text if tip else self.tip
        problem = text_problem(text, lexicon.whisper_chars)
        if problem:
            raise ActionError(problem)
        cold = desk.cold(who)
        if cold:
            # Refused deterministically: a resentful creature will not hear the financier.
            raise ActionError(f"{who} {cold} you and will not listen; nothing delivered")
        said = f"whispered to {who}: {text}" if tip else f"rumor whispered to {who}: {text}"
        return who, text, tip, said

    def check(self, desk: Desk, ahead: Sequence[Command]) -> str:
        return self._said(desk)[3]

    def make(self, desk: Desk) -> str:
        who, text, tip, said = self._said(desk)
        desk.deliver(who, text, tip)
        return said

    def follow_ups(self, lexicon: Lexicon) -> tuple[Command, ...]:
        head = _key(self.tip).partition(".")[0]
        return (Spring(head),) if head in lexicon.legends else ()


@dataclass(frozen=True, slots=True)
class Spring(Command):
    legend: str
    mechanism: str | None = None

    verb: ClassVar[str] = "spring"
    usage: ClassVar[str] = "spring LEGEND [MECHANISM]"
    title: ClassVar[str] = "Spring a legend"
    action: ClassVar[str] = "Spring"
    summary: ClassVar[str] = (
        f"tell a legend this turn (see `legends`); MECHANISM: {', '.join(MECHANISMS)}, "
        "instead of the legend's own"
    )
    fields: ClassVar[tuple[Field, ...]] = (
        Field("legend", "legend", "legend"),
        Field("mechanism", "choice", "mechanism", ("", *MECHANISMS), optional=True),
    )
    usage_error: ClassVar[str] = f"usage: spring LEGEND [{'|'.join(MECHANISMS)}] (see `legends`)"

    @classmethod
    def from_fields(cls, values: Mapping[str, str]) -> Spring:
        legend = value(values, "legend", cls.usage_error)
        raw = str(values.get("mechanism") or "").strip()
        mechanism = raw.lower() or None
        if mechanism is not None and mechanism not in MECHANISMS:
            raise ActionError(f"unknown mechanism {raw[:20]!r}; use {', '.join(MECHANISMS)}")
        return cls(legend, mechanism)

    def named(self, lexicon: Lexicon) -> Spring:
        if self.legend in lexicon.legends or (
            lexicon.legend_files and self.legend.endswith(".toml")
        ):
            return self
        lexicon.legend(self.legend)  # raises, naming the legends there are
        return self

    def _told(self, desk: Desk, ahead: Sequence[Command]) -> tuple[Tale, str]:
        self.named(desk.lexicon)
        legend = desk.legend(self.legend)
        if legend.target not in desk.lexicon.goods:
            raise ActionError(f"legend {legend.id} targets {legend.target!r}, not a good here")
        queued = any(isinstance(c, Spring) and c.legend == self.legend for c in ahead)
        if queued or desk.told(legend.id):
            raise ActionError(f"{legend.title} has already been told in this wood")
        how = f" ({self.mechanism})" if self.mechanism else ""
        return legend, f"{legend.title} is told in the wood this turn{how}"

    def check(self, desk: Desk, ahead: Sequence[Command]) -> str:
        return self._told(desk, ahead)[1]

    def make(self, desk: Desk) -> str:
        legend, message = self._told(desk, ())
        desk.spring(legend, self.mechanism)
        return message

    def follow_ups(self, lexicon: Lexicon) -> tuple[Command, ...]:
        legend = lexicon.legends.get(self.legend)
        return (Cover(legend.target),) if legend is not None else ()
