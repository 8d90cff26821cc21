"""Scripts: the financier's moves laid out by turn, from a gambit or from a recorded run.

A script maps a turn to the command lines submitted just before it (in the
`events` phase), each with its source: `gambit` for a scenario's gambit,
`player` for moves a player typed in a recorded game (replayed exactly,
refused ones included, so their records come back too). Forced covers are
not moves: the book's rules make them again. This room only reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Script = dict[int, tuple[tuple[str, str], ...]]


def script_from(moves: Mapping[int, Iterable[str]], source: str) -> Script:
    """turn -> ((command, source), ...) from turn -> commands."""
    return {turn: tuple((m, source) for m in cmds) for turn, cmds in sorted(moves.items())}


def merge(a: Script, b: Script) -> Script:
    """Both scripts' moves, `a`'s first within a turn."""
    return {t: a.get(t, ()) + b.get(t, ()) for t in sorted(set(a) | set(b))}


def recorded_moves(records: Iterable[Mapping[str, Any]]) -> dict[int, list[str]]:
    """The moves a player typed in a recorded run (turn -> commands), refused ones too."""
    moves: dict[int, list[str]] = {}
    for r in records:
        if r.get("kind") == "financier" and r.get("source") == "player":
            command = r.get("command")
            if isinstance(command, str):  # a forged record of another shape is no move
                moves.setdefault(r["turn"], []).append(command)
    return moves
