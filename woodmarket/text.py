"""Text shown to people: how words from creatures, models and players reach a screen.

Gossip, headlines and whispers come from small models and from players;
a terminal would obey an ANSI escape, a bell or a carriage return inside
them. `printable` shows every such character as its escape instead, so the
words stay visible and nothing acts on the screen. Pure functions.
"""

from __future__ import annotations


def printable(text: str) -> str:
    """`text` with every non-printable character shown as its escape (`\\x1b`, `\\x07`)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
