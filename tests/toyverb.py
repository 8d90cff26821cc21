"""A toy verb for the command language's tests: a short by another name.

It shows that the language is read off its verbs: once registered, it is in
the help, the unknown-command reply, a scenario's first trade and its hint,
and the web app's forms, with nothing else changed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import ClassVar

from woodmarket.commands import Command, Cover, Desk, Field, Lexicon, count
from woodmarket.commands.base import value


@dataclasses.dataclass(frozen=True, slots=True)
class Hedge(Command):
    """A toy verb: a short by another name, to show the language is read off its verbs."""

    good: str
    qty: int

    verb: ClassVar[str] = "hedge"
    usage: ClassVar[str] = "hedge GOOD QTY"
    title: ClassVar[str] = "Hedge a good"
    action: ClassVar[str] = "Hedge"
    summary: ClassVar[str] = "a toy short, for the language's tests"
    fields: ClassVar[tuple[Field, ...]] = (
        Field("good", "good", "good"),
        Field("qty", "whole", "quantity", default="3"),
    )
    usage_error: ClassVar[str] = "usage: hedge GOOD QTY"

    @classmethod
    def from_fields(cls, values: Mapping[str, str]) -> Hedge:
        good = value(values, "good", cls.usage_error).lower()
        return cls(good, count(value(values, "qty", cls.usage_error), "quantity"))

    def named(self, lexicon: Lexicon) -> Hedge:
        return Hedge(lexicon.good(self.good), self.qty)

    def check(self, desk: Desk, ahead: Sequence[Command]) -> str:
        good = self.named(desk.lexicon).good
        return f"hedged {self.qty} {good} at {desk.price(good)}"

    def make(self, desk: Desk) -> str:
        message = self.check(desk, ())
        desk.open_short(self.good, self.qty)
        return message

    def follow_ups(self, lexicon: Lexicon) -> tuple[Command, ...]:
        return (Cover(self.good),)
