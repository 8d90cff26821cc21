"""The financier: the player's side of one wood, in rooms of one job each.

    desk.py      the front: the account, the queue of moves, and the desk
                 the commands of `woodmarket.commands` check themselves
                 against and are made with
    season.py    the settlement: marks and margin calls, loans due, the
                 magistrate's ruling, rumors judged, the season met or lost
    book.py      shorts against the house, marks, margin, forced cover
    whispers.py  tips (true facts of the wood) and the whisper ledger
    script.py    moves laid out by turn (a gambit, a recorded game)
    patron.py    loans, bribes and pacts: offers, answers, debts, default, exile
    magistrate.py  heat on insider wins, fines into the public purse, freezes

A move is checked when it is submitted and made in the coming turn's
`events` phase; offers are answered in `decide` and read at `after_clear`;
the book, the patron, the magistrate and the season settle at `settle`,
after the legends. While the magistrate freezes the account, or once the
season is lost, every new command is refused with the reason.
"""

from __future__ import annotations

from woodmarket.financier.book import FINANCIER, Closed, Position
from woodmarket.financier.desk import Financier, Move, Outcome
from woodmarket.financier.script import recorded_moves
from woodmarket.financier.whispers import (
    FALSE_RUMOR,
    REFUSE_AT,
    RUMOR_TURNS,
    TIP_WARMTH,
    Tip,
    Whispered,
)
from woodmarket.rules import INITIAL_MARGIN_PCT, MAINTENANCE_PCT, ceil_pct

__all__ = [
    "FALSE_RUMOR",
    "FINANCIER",
    "INITIAL_MARGIN_PCT",
    "MAINTENANCE_PCT",
    "REFUSE_AT",
    "RUMOR_TURNS",
    "TIP_WARMTH",
    "Closed",
    "Financier",
    "Move",
    "Outcome",
    "Position",
    "Tip",
    "Whispered",
    "ceil_pct",
    "recorded_moves",
]
