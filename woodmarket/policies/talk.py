"""What a creature heard this turn, numbered as its prompt shows it.

This room reads an `Observation` and returns plain values; it touches no
state of the wood and imports no other policy room.

What a creature heard is numbered (`heard_items`: whispers, news, then
gossip heard, its speakers named once) so that a `say` whose words are a
number passes that item on whole: a rumour travels for a few generated
tokens however long it is, and a replay resolves the number from the
observation alone. The grammar (`grammar.py`) offers the numbers, the
parser (`parse.py`) resolves them, and the llm prompt (`llm.py`) shows
the items. `one_line` keeps what is heard, passed on or read back on one
printable line; `phrases` are the stock gossip lines of the grammar's
"phrases" mode.
"""

from __future__ import annotations

from typing import NamedTuple

from woodmarket.types import Observation

__all__ = ["GOSSIP_HEARD_CHARS", "Heard", "heard_items", "one_line", "phrases"]

# Gossip heard that a creature is shown per turn, in characters of its
# lines ("Pip, Rusk: honey is scarce"): whole items only, the oldest
# dropped first, the freshest always shown. Room for a whole forwarded
# rumour and a few short lines; whispers and news are never budgeted.
GOSSIP_HEARD_CHARS = 400
# Stock gossip a small model can pick in "phrases" mode, per good.
_PHRASES = ("{} {} scarce", "{} will rise", "{} will fall")


class Heard(NamedTuple):
    """One thing a creature heard this turn, as its prompt numbers it."""

    label: str  # "Whisper", "News", or who said it ("Pip, Rusk"); "" for nobody named
    text: str  # the words alone, whole, on one printable line


def one_line(text: str) -> str:
    """`text` on one printable line: each unprintable character (a line break,
    a control character, a lone surrogate) becomes a space; the ends are stripped.

    Nothing is cut, and ordinary spaces are kept as written, so what is
    passed on or rendered reads back the same.
    """
    if not text.isprintable():
        text = "".join(c if c.isprintable() else " " for c in text)
    return text.strip()


def heard_items(obs: Observation) -> tuple[Heard, ...]:
    """What the creature heard this turn, in the order its prompt numbers it (from 1).

    Whispers, then news, freshest first, each whole and never budgeted;
    then gossip heard, each text once with all who said it ("Pip, Rusk:
    honey is scarce"), in the order heard, whole items within
    `GOSSIP_HEARD_CHARS`, the oldest dropped first; gossip repeating a
    whisper or news item only adds its speakers to that item. A function of the
    observation alone, so a `say all: 2` read again in a replay finds the
    same item.
    """
    items = [Heard("Whisper", one_line(w)) for w in reversed(obs.whispers)]
    items += [Heard("News", one_line(n)) for n in reversed(obs.news)]
    said: dict[str, list[str]] = {}  # text -> speakers, in the order first heard
    for line in obs.heard:
        speaker, sep, words = line.partition(": ")
        if not sep:
            speaker, words = "", line
        text = one_line(words)
        speakers = said.setdefault(text, [])
        if speaker and speaker not in speakers:
            speakers.append(speaker)
    # Gossip repeating a whisper or news item is folded into it ("News (also
    # Pip, Rusk): ..."): a spreading rumour is read once, with who repeats it.
    for i, item in enumerate(items):
        if said.get(item.text):
            items[i] = Heard(f"{item.label} (also {', '.join(said[item.text])})", item.text)
        said.pop(item.text, None)
    gossip: list[Heard] = []
    left = GOSSIP_HEARD_CHARS
    for text, speakers in reversed(said.items()):
        item = Heard(", ".join(speakers), text)
        size = len(item.label) + len(": ") + len(text)
        if gossip and size > left:
            break  # this and everything older is dropped, whole
        gossip.append(item)
        left -= size + 1
    return tuple(i for i in (*items, *reversed(gossip)) if i.text)


def phrases(obs: Observation) -> tuple[str, ...]:
    """Stock gossip lines offered in "phrases" mode when nothing was heard; else none.

    What a creature heard it passes on by number (see `heard_items`); the
    stock lines ("honey is scarce") are offered only when there is nothing
    to pass on, since a small model picks them over anything else.
    """
    if heard_items(obs):
        return ()
    # "berries are scarce", "honey is scarce": plural goods end in s.
    return tuple(
        p.format(g, "are" if g.endswith("s") else "is") for g in obs.goods for p in _PHRASES
    )
