"""The financier's moves in a scenario: its first trade and its gambits.

Each command is read and checked as the scenario loads by the command
language (`woodmarket.commands`), against the scenario's `Lexicon`: the
goods, creatures and legends it may name and the limits it is held to.
It is kept as the financier reads it (the verb in lower case, one space
between words). `_gambits` turns the `[gambits.NAME]` tables into
`Gambit`s: each move a turn after the one before, and one of them
springing the gambit's legend. This room reads only the tables
reading.py hands it.
"""

from __future__ import annotations

from typing import Any

from woodmarket.commands import Lexicon, parse_command
from woodmarket.errors import ActionError
from woodmarket.scenario.schema import (
    MAX_COMMANDS,
    MAX_GAMBITS,
    MAX_MOVES,
    MAX_PERSONALITY,
    MAX_TURNS,
    Gambit,
    springs,
)
from woodmarket.scenario.tables import _Reader


def _check(r: _Reader, name: str, command: Any, lexicon: Lexicon) -> str:
    if not isinstance(command, str):
        raise r.fail(name, f"a command (a string), got {type(command).__name__}")
    try:
        parse_command(command).named(lexicon)
    except ActionError as exc:
        raise r.fail(name, str(exc)) from None
    verb, *rest = command.split()
    return " ".join((verb.lower(), *rest))  # as the financier reads it


def _commands(r: _Reader, name: str, lexicon: Lexicon) -> tuple[str, ...]:
    raw = r.get(name, list, [])
    if len(raw) > MAX_COMMANDS:
        raise r.fail(name, f"at most {MAX_COMMANDS} commands (the limit), got {len(raw)}")
    return tuple(_check(r, f"{name}[{i}]", cmd, lexicon) for i, cmd in enumerate(raw))


def _gambits(top: _Reader, lexicon: Lexicon) -> tuple[Gambit, ...]:
    table = top.sub("gambits", required=False)
    if len(table.table) > MAX_GAMBITS:
        raise top.fail("gambits", f"at most {MAX_GAMBITS} gambits (the limit)")
    by_id = lexicon.legends
    out = []
    for name in table.table:
        if not name or not name.replace("_", "").replace("-", "").isalnum():
            raise table.fail(name, f"a gambit name of letters, digits, _ and -; got {name!r}")
        g = table.sub(name)
        g.only(("summary", "legend", "moves"))
        legend_id = g.get("legend", str)
        if legend_id not in by_id:
            known = ", ".join(by_id) or "none in this scenario"
            raise g.fail("legend", f"a legend of this scenario ({known}); {legend_id!r} is not one")
        raw = g.get("moves", list)
        if not raw or len(raw) > MAX_MOVES:
            raise g.fail("moves", f"1 to {MAX_MOVES} moves, got {len(raw)}")
        moves: list[tuple[int, tuple[str, ...]]] = []
        for i, entry in enumerate(raw):
            if not isinstance(entry, dict):
                raise g.fail(f"moves[{i}]", "a table { turn = N, commands = [...] }")
            m = _Reader(top.path, entry, f"{g.key('moves')}[{i}].")
            m.only(("turn", "commands"))
            turn = m.get("turn", int, minimum=1, maximum=MAX_TURNS)
            if moves and turn <= moves[-1][0]:
                raise m.fail(
                    "turn", f"a turn after the previous move's ({moves[-1][0]}), got {turn}"
                )
            commands = _commands(m, "commands", lexicon)
            if not commands:
                raise m.fail("commands", "at least one command")
            moves.append((turn, commands))
        if not any(springs(c, legend_id) for _, cs in moves for c in cs):
            raise g.fail("moves", f"a move that springs the gambit's legend: spring {legend_id}")
        out.append(
            Gambit(
                name=name,
                summary=g.text("summary", MAX_PERSONALITY, ""),
                legend=by_id[legend_id],  # type: ignore[arg-type]  # a scenario's own Legend
                moves=tuple(moves),
            )
        )
    return tuple(out)
