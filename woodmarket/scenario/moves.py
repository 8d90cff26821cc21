"""The financier's moves in a scenario: its first trade and its gambits.

Each command is checked as the scenario loads, by
`woodmarket.gambits.check_command`, against what `_Context` says it may
name (this scenario's goods, creatures and legends) and its limits, and is
kept as the financier reads it (the verb in lower case). `_gambits` turns
the `[gambits.NAME]` tables into `Gambit`s: each move a turn after the one
before, and one of them springing the gambit's legend. This room reads
only the tables reading.py hands it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from woodmarket.errors import ActionError
from woodmarket.gambits import Gambit, check_command
from woodmarket.legends import Legend
from woodmarket.scenario.schema import (
    MAX_COMMANDS,
    MAX_GAMBITS,
    MAX_MOVES,
    MAX_PERSONALITY,
    MAX_TURNS,
    FinancierSpec,
    MarketRules,
)
from woodmarket.scenario.tables import _Reader


@dataclass(frozen=True, slots=True)
class _Context:
    """What a command may name: this scenario's goods, creatures and legends, and its limits."""

    goods: tuple[str, ...]
    creatures: tuple[str, ...]
    legends: tuple[Legend, ...]
    market: MarketRules
    financier: FinancierSpec

    def check(self, r: _Reader, name: str, command: Any) -> str:
        if not isinstance(command, str):
            raise r.fail(name, f"a command (a string), got {type(command).__name__}")
        try:
            check_command(
                command,
                goods=self.goods,
                creatures=self.creatures,
                legends={lg.id: lg for lg in self.legends},
                max_qty=self.market.max_qty,
                whisper_chars=self.financier.whisper_chars,
            )
        except ActionError as exc:
            raise r.fail(name, str(exc)) from None
        verb, *rest = command.split()
        return " ".join((verb.lower(), *rest))  # as the financier reads it


def _commands(r: _Reader, name: str, ctx: _Context) -> tuple[str, ...]:
    raw = r.get(name, list, [])
    if len(raw) > MAX_COMMANDS:
        raise r.fail(name, f"at most {MAX_COMMANDS} commands (the limit), got {len(raw)}")
    return tuple(ctx.check(r, f"{name}[{i}]", cmd) for i, cmd in enumerate(raw))


def _gambits(top: _Reader, ctx: _Context) -> tuple[Gambit, ...]:
    table = top.sub("gambits", required=False)
    if len(table.table) > MAX_GAMBITS:
        raise top.fail("gambits", f"at most {MAX_GAMBITS} gambits (the limit)")
    by_id = {lg.id: lg for lg in ctx.legends}
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
            commands = _commands(m, "commands", ctx)
            if not commands:
                raise m.fail("commands", "at least one command")
            moves.append((turn, commands))
        if not any(c.split() == ["spring", legend_id] for _, cs in moves for c in cs):
            raise g.fail("moves", f"a move that springs the gambit's legend: spring {legend_id}")
        out.append(
            Gambit(
                name=name,
                summary=g.text("summary", MAX_PERSONALITY, ""),
                legend=by_id[legend_id],
                moves=tuple(moves),
            )
        )
    return tuple(out)
