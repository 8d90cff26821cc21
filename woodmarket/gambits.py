"""Gambits: named, scripted sequences of financier moves, as data.

This room only describes gambits; it touches nothing. A gambit maps a
turn to the commands the financier types just before that turn (the
syntax of `financier.py`), and names the legend it springs so reports
know which good to watch. `runner.build_wood` turns a run's meta
(`gambit`, `mechanism`) into a financier running the script, so a replay
rebuilds the same moves from run.json.
"""

from __future__ import annotations

from dataclasses import dataclass

from woodmarket.errors import ActionError
from woodmarket.legends import Legend, resolve


@dataclass(frozen=True, slots=True)
class Gambit:
    name: str
    summary: str
    legend: str
    moves: tuple[tuple[int, tuple[str, ...]], ...]

    @property
    def spring_turn(self) -> int:
        return next(t for t, ms in self.moves if any(m.startswith("spring ") for m in ms))

    def the_legend(self) -> Legend:
        return resolve(self.legend)

    @property
    def reckoning(self) -> int:
        """The turn whose settlement shows what the legend did to its target."""
        return self.spring_turn + self.the_legend().delay

    def script(self, mechanism: str | None = None) -> dict[int, tuple[str, ...]]:
        """turn -> commands; `none` drops the springs (the world without the legend)."""
        out = {}
        for turn, moves in self.moves:
            kept = tuple(m for m in moves if mechanism != "none" or not m.startswith("spring "))
            if kept:
                out[turn] = kept
        return out


GAMBITS = {
    g.name: g
    for g in (
        Gambit(
            "showcase",
            "short honey 8, whisper Oona the tip, spring the Run on Oona's Hoard, "
            "cover after its settlement",
            "oona_run",
            (
                (1, ("short honey 8", "whisper Oona oona_run")),
                (2, ("spring oona_run",)),
                (4, ("cover honey",)),
            ),
        ),
        Gambit(
            "oversized",
            "the showcase with the short sized up to 16 honey",
            "oona_run",
            (
                (1, ("short honey 16", "whisper Oona oona_run")),
                (2, ("spring oona_run",)),
                (4, ("cover honey",)),
            ),
        ),
        Gambit(
            "mania",
            "short acorns 10, whisper Mossback, spring the Great Acorn Mania, cover after it",
            "acorn_mania",
            (
                (1, ("short acorns 10", "whisper Mossback acorn_mania")),
                (2, ("spring acorn_mania",)),
                (5, ("cover acorns",)),
            ),
        ),
    )
}

# The one-click first trade of the terminal game: the showcase's opening moves.
FIRST_TRADE = dict(GAMBITS["showcase"].moves)[1]


def resolve_gambit(name: str) -> Gambit:
    try:
        return GAMBITS[name]
    except KeyError:
        raise ActionError(f"unknown gambit {name!r}; gambits are {', '.join(GAMBITS)}") from None
