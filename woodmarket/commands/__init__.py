"""The financier's command language: one class per verb, and the one parser of a typed line.

    short GOOD QTY                 cover GOOD
    order buy|sell GOOD QTY PRICE  (an optional `at` before PRICE)
    whisper CREATURE TIP           spring LEGEND [rumor|glut|settle]
    lend CREATURE AMOUNT RATE TURNS
    bribe CREATURE AMOUNT sell GOOD|hold GOOD|gossip TEXT
    ally CREATURE CREATURE

`VERBS` is the registry, in the order help and the app show them; `parse_command` is
the only reader of a typed line, used by the financier (moves typed,
scripted or recorded), by a scenario's gambits and first trade when its
file loads, and by the environment's scheduled moves; the web app builds
the same commands from form fields (`Command.from_fields`). The help
text, the unknown-command reply, the first trade's hint and the app's
forms are all read off the registry, so a verb added here (`register`)
appears in each of them.

Rooms: base.py (the verb's shape, the contexts, shared rules), market.py
(short, cover, order), stories.py (whisper, spring), patron.py (lend,
bribe, ally). This package imports only the values-and-rules layer
(`errors`, `rules`, `types`).
"""

from __future__ import annotations

from collections.abc import Iterable

from woodmarket.commands.base import (
    KINDS,
    MAX_COMMAND_CHARS,
    Command,
    Desk,
    Field,
    Lexicon,
    Tale,
    TipLike,
    count,
    cut,
    text_problem,
)
from woodmarket.commands.market import SIDES, Cover, PlaceOrder, Short, at_mark
from woodmarket.commands.patron import ASKS, MAX_ASK_CHARS, Ally, Ask, Bribe, Lend, parse_ask
from woodmarket.commands.stories import Spring, Whisper, find_tip
from woodmarket.errors import ActionError

__all__ = [
    "ASKS",
    "KINDS",
    "MAX_ASK_CHARS",
    "MAX_COMMAND_CHARS",
    "SIDES",
    "VERBS",
    "Ally",
    "Ask",
    "Bribe",
    "Command",
    "Cover",
    "Desk",
    "Field",
    "Lend",
    "Lexicon",
    "PlaceOrder",
    "Short",
    "Spring",
    "Tale",
    "TipLike",
    "Whisper",
    "at_mark",
    "count",
    "find_tip",
    "follow_ups",
    "parse_ask",
    "parse_command",
    "register",
    "text_problem",
    "unknown",
    "unregister",
]

VERBS: dict[str, type[Command]] = {}


def register(cls: type[Command]) -> type[Command]:
    """Add a verb to the language (its `verb` word must be new); returns the class."""
    word = cls.verb
    if not word.isalpha() or word != word.lower():
        raise ValueError(f"a verb is one lower-case word, got {word!r}")
    if word in VERBS:
        raise ValueError(f"the verb {word!r} is taken by {VERBS[word].__name__}")
    VERBS[word] = cls
    return cls


def unregister(word: str) -> None:
    """Take a verb out of the language again."""
    VERBS.pop(word, None)


for _verb in (Short, Cover, PlaceOrder, Whisper, Spring, Lend, Bribe, Ally):
    register(_verb)


def unknown(text: str) -> str:
    """The reply to a line that names no verb: what it said, and the verbs there are."""
    return f"unknown command {cut(text.strip(), 40)!r}; commands: {', '.join(VERBS)}"


def parse_command(text: str) -> Command:
    """The command a line names; raises ActionError with the reason and the usage."""
    if len(text) > MAX_COMMAND_CHARS:
        raise ActionError(f"a command is at most {MAX_COMMAND_CHARS} characters")
    words = text.split()
    if not words or words[0].lower() not in VERBS:
        raise ActionError(unknown(text))
    rest = text.split(None, 1)[1] if len(words) > 1 else ""
    return VERBS[words[0].lower()].parse(words[1:], rest)


def follow_ups(commands: Iterable[Command], lexicon: Lexicon) -> list[Command]:
    """The moves that complete `commands`' plan, each once, springs before covers.

    A short's cover, a tip's legend told: what the first trade's hint offers next.
    """
    out: list[Command] = []
    for command in commands:
        for nxt in command.follow_ups(lexicon):
            if nxt not in out:
                out.append(nxt)
    return sorted(out, key=lambda c: c.covers() is not None)
