"""The financier's settlement and season: what the `settle` seam does with the player's side.

At the `settle` seam, after the legends have landed, in this order: the
book moves every good's mark by the scenario's mark rule (a good whose
reference a `settle` legend set this turn is marked there in full),
marks every short at it and makes margin calls (a forced cover is a
`financier` record of source `margin`, closed at the mark); loans accrue
and fall due; the magistrate rules on the settlement's wins (the marks'
gains); rumors whispered three turns ago are judged; the season is
checked: lost for good (heat at the scenario's limit, or worth below its
floor), or its objective met; and the `book` record closes the turn (with
every good's mark when the scenario states a mark rule).

This room changes only what the financier's parts own (book, patron,
magistrate, whisper ledger, season) and, through them, the ledger and
creatures' feelings toward the financier. It reads the financier through
the small `Settling` protocol, so it imports nothing above it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from woodmarket.commands import at_mark
from woodmarket.financier.book import FINANCIER, Book
from woodmarket.financier.magistrate import Magistrate
from woodmarket.financier.patron import Patron
from woodmarket.financier.whispers import FALSE_RUMOR, RUMOR_TURNS, Whispered
from woodmarket.legendbook import LegendBook

if TYPE_CHECKING:
    from woodmarket.state import TurnState, WoodState


class Settling(Protocol):
    """The financier as its settlement reads and changes it."""

    book: Book
    patron: Patron
    whispered: list[Whispered]
    met_turn: int | None
    lost: str

    @property
    def judge(self) -> Magistrate: ...
    @property
    def pebbles(self) -> int: ...
    @property
    def heat(self) -> int: ...
    def worth(self) -> int: ...
    def pnl(self) -> int: ...
    def realized(self) -> int: ...
    def maintenance(self) -> int: ...


def settle(fin: Settling, wood: WoodState, t: TurnState) -> None:
    book = fin.book
    book.settle_marks(wood.prices, LegendBook.of(wood).settled(t.turn))
    for have, need, c in book.margin_calls(t.turn):
        t.emit(
            "financier",
            source="margin",
            command=f"cover {c.good}",
            ok=True,
            outcome=(
                f"forced cover: {have} pebbles below maintenance {need}; "
                f"covered {c.qty} {c.good} at {c.exit}{at_mark(c.exit, wood.prices[c.good])}, "
                f"P&L {c.pnl:+d}"
            ),
        )
    fin.patron.settle(wood, t)
    fin.judge.settle(wood, t, _wins(book))
    _judge_rumors(fin, wood, t)
    spec = wood.scenario.financier
    _season(fin, wood, t)
    reached = fin.pebbles >= spec.objective_pebbles
    if fin.met_turn is None and not fin.lost and reached and t.turn <= spec.objective_turn:
        fin.met_turn = t.turn
    # A scenario with a mark rule records every good's mark; one without has none to record.
    marks = {"marks": dict(book.marks)} if book.step_pct else {}
    t.emit(
        "book",
        pebbles=fin.pebbles,
        worth=fin.worth(),
        pnl=fin.pnl(),
        positions=[p.to_dict() for _, p in sorted(book.positions.items())],
        realized=fin.realized(),
        maintenance=fin.maintenance(),
        shortfall=book.shortfall,
        **marks,
    )


def _wins(book: Book) -> list[tuple[str, int]]:
    """This turn's wins on shorts, by good: covers in `events` and the marks just made."""
    by: dict[str, int] = {}
    for good, gain in book.gains:
        by[good] = by.get(good, 0) + gain
    book.gains = []
    return sorted(by.items())


def _season(fin: Settling, wood: WoodState, t: TurnState) -> None:
    """The season is lost for good: heat at the scenario's limit, or worth below its floor."""
    if fin.lost:
        return
    spec = wood.scenario.financier
    why = ""
    if spec.heat_limit and fin.heat >= spec.heat_limit:
        why = f"the magistrate's heat reached {fin.heat} (the limit is {spec.heat_limit})"
        t.public.append("The magistrate bars the financier from the market")
    elif spec.bankrupt_below and fin.worth() < spec.bankrupt_below:
        why = f"bankrupt: worth {fin.worth()}, below {spec.bankrupt_below}"
        t.public.append("The magistrate declares the financier bankrupt")
    if why:
        fin.lost = why
        t.emit("magistrate", event="lost", why=why, heat=fin.heat, worth=fin.worth())


def _judge_rumors(fin: Settling, wood: WoodState, t: TurnState) -> None:
    for w in fin.whispered:
        if w.claim is None or w.verdict or t.turn < w.turn + RUMOR_TURNS - 1:
            continue
        good, way, then = w.claim
        now = wood.prices[good]
        wrong = now >= then if way == "down" else now <= then
        w.verdict = "proved false" if wrong else "borne out"
        if wrong:
            wood.memory.feel(w.to, FINANCIER, FALSE_RUMOR)
            t.emit("sentiment", holder=w.to, about=FINANCIER, delta=FALSE_RUMOR, why="false rumor")
