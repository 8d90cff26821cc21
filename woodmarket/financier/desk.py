"""The financier's front: the account, the queue of moves, and the desk the commands act on.

A move is submitted between turns (`submit`): parsed by the command
language, checked at once against the wood and the moves already queued,
refused with the reason or queued; the queue is carried out in the coming
turn's `events` phase (at the `before_decide` seam, before any legend
lands), where each move is checked again and made. So a move behaves one
way, whenever it was typed, and each becomes one `financier` record of
the turn it was made in, with its source and outcome. Offers (loans,
bribes, pacts) made in `events` are answered by their creatures in
`decide` and read at the `after_clear` seam. The settlement is season.py's.

`Financier` implements the command language's `Desk`: the queries a verb
checks itself against (reference prices and marks, the book, feelings,
offers pending, legends told) and the primitives it is made with (open and
close a short at the mark, place an order, deliver a whisper, offer a
loan, a bribe or a pact, spring a legend). The per-verb rules live with
the verbs (`woodmarket.commands`).

This room may move pebbles between the `financier` and `house` accounts
(through the book), place the financier's orders in `wood.outside_orders`,
whisper into creatures' memory, spring legends through the `LegendBook`,
and change creatures' feelings toward the financier.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from woodmarket.commands import Ask, Command, Lexicon, PlaceOrder, Tale, TipLike, parse_command
from woodmarket.errors import ActionError, ScenarioError, WoodmarketError
from woodmarket.financier.book import FINANCIER, Book, Closed, Position
from woodmarket.financier.magistrate import Magistrate
from woodmarket.financier.patron import Loan, Patron, ask_goods, goods_named
from woodmarket.financier.script import Script, merge, script_from
from woodmarket.financier.season import settle
from woodmarket.financier.whispers import (
    REFUSE_AT,
    TIP_WARMTH,
    Tip,
    Whispered,
    claim,
    legends_of,
    tips,
    whisper_line,
)
from woodmarket.ledger import HOUSE
from woodmarket.legendbook import LegendBook
from woodmarket.legends import load_legend
from woodmarket.memory import bucket
from woodmarket.rules import INITIAL_MARGIN_PCT, MECHANISMS, Admission, ceil_pct
from woodmarket.types import Order

if TYPE_CHECKING:
    from woodmarket.state import TurnState, WoodState


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a move did or will do; `ok` False means it was refused, with the reason."""

    command: str
    ok: bool
    message: str


@dataclass(slots=True)
class Move:
    """A submitted line: its command, or why it was refused on submission."""

    text: str
    source: str
    command: Command | None
    refusal: str = ""


@dataclass(slots=True)
class _Holding:
    """The financier's account as the order rules see it: pebbles net of margin."""

    pebbles: int
    stores: dict[str, int]


@dataclass
class Financier:
    """The player's side of one wood. Build it with `Financier.attach(wood)`."""

    wood: WoodState
    start: int
    book: Book
    whispered: list[Whispered] = field(default_factory=list)
    script: Script = field(default_factory=dict)
    queue: list[Move] = field(default_factory=list)
    met_turn: int | None = None
    patron: Patron = field(default_factory=Patron)
    magistrate: Magistrate | None = None
    lost: str = ""  # why the season is lost, once it is
    # The turn being made (the events phase), for the primitives that record it.
    making: TurnState | None = None

    @classmethod
    def attach(
        cls,
        wood: WoodState,
        *,
        override: str | None = None,
        script: Mapping[int, Iterable[str]] | None = None,
        source: str = "gambit",
    ) -> Financier:
        """Open the financier's and the house's accounts and hook into the seams.

        `script` maps a turn to commands submitted just before that turn
        (a gambit); `override` replaces every legend's mechanism.
        """
        if wood.financier is not None:
            raise WoodmarketError("this wood already has a financier")
        if override is not None and override not in MECHANISMS:
            raise ActionError(f"unknown mechanism {override!r}; use {', '.join(MECHANISMS)}")
        pebbles = wood.scenario.financier.pebbles
        wood.ledger.open(FINANCIER, pebbles)
        if HOUSE not in wood.ledger.accounts:
            wood.ledger.open(HOUSE, 0)
        book = Book(wood.ledger, dict(wood.prices), wood.scenario.market.mark_step_pct)
        fin = cls(wood, pebbles, book)
        fin.magistrate = Magistrate(wood.scenario.magistrate)
        fin.add_script(script or {}, source)
        wood.financier = fin
        wood.seams.add("before_decide", fin.before_decide)
        wood.seams.add("after_clear", fin.after_clear)
        # The legends settle first, so shorts are marked at the landed price.
        LegendBook.attach(wood, override)
        wood.seams.add("settle", lambda w, t: settle(fin, w, t))
        if pebbles >= wood.scenario.financier.objective_pebbles:
            fin.met_turn = 0
        return fin

    def add_script(self, moves: Mapping[int, Iterable[str]], source: str) -> None:
        """Submit `moves` (turn -> commands) just before their turns, as from `source`."""
        self.script = merge(self.script, script_from(moves, source))

    @classmethod
    def of(cls, wood: WoodState) -> Financier:
        """The wood's financier (WoodmarketError when it has none)."""
        fin = wood.financier
        if not isinstance(fin, cls):
            raise WoodmarketError("this wood has no financier")
        return fin

    @property
    def legends(self) -> LegendBook:
        return LegendBook.of(self.wood)

    # -- figures -------------------------------------------------------

    @property
    def positions(self) -> dict[str, Position]:
        return self.book.positions

    @property
    def closed(self) -> list[Closed]:
        return self.book.closed

    @property
    def shortfall(self) -> int:
        return self.book.shortfall

    @property
    def pebbles(self) -> int:
        return self.book.pebbles

    @property
    def stores(self) -> dict[str, int]:
        return self.wood.ledger.accounts[FINANCIER].stores

    @property
    def judge(self) -> Magistrate:
        assert self.magistrate is not None
        return self.magistrate

    @property
    def heat(self) -> int:
        return self.judge.heat

    def worth(self) -> int:
        """Pebbles plus stores at reference, plus what open loans owe so far;
        shorts are already paid to their mark."""
        return self.wood.wealth(FINANCIER) + self.patron.receivable()

    def pnl(self) -> int:
        return self.worth() - self.start

    def realized(self) -> int:
        return self.book.realized()

    def maintenance(self) -> int:
        return self.book.maintenance()

    def free_pebbles(self) -> int:
        """Pebbles not held as margin nor reserved by buy orders, queued moves counted."""
        return self.free(self.queued_commands())

    def rank(self) -> tuple[int, int]:
        """(rank, of how many) by worth against the creatures' wealth; 1 is richest."""
        wood = self.wood
        worth = self.worth()
        richer = sum(1 for n in wood.names if wood.wealth(n) > worth)
        return richer + 1, len(wood.names) + 1

    def objective(self) -> str:
        spec = self.wood.scenario.financier
        goal, by = spec.objective_pebbles, spec.objective_turn
        if self.lost:
            return f"season lost: {self.lost}"
        if self.met_turn is not None:
            return f"objective met: {goal} pebbles by turn {self.met_turn} (goal: by turn {by})"
        if self.wood.turn >= by:
            return f"objective missed: {goal} pebbles by turn {by}; you hold {self.pebbles}"
        return f"objective: {goal} pebbles by turn {by}; you hold {self.pebbles}"

    def queued(self) -> list[str]:
        """The moves waiting for the coming turn, as typed."""
        return [m.text for m in self.queue if m.command is not None]

    def queued_commands(self) -> list[Command]:
        return [m.command for m in self.queue if m.command is not None]

    # -- moves -----------------------------------------------------------

    def submit(self, text: str, source: str = "player") -> Outcome:
        """Check a move now and queue it for the coming turn, or refuse it with the reason.

        A refusal changes nothing in the wood; it is still recorded, with the
        coming turn's records, like every move.
        """
        text = text.strip()
        try:
            command = parse_command(text)
            self._check_free()
            message = command.check(self, self.queued_commands())
        except ActionError as exc:
            self.queue.append(Move(text, source, None, str(exc)))
            return Outcome(text, False, str(exc))
        self.queue.append(Move(text, source, command))
        return Outcome(text, True, message)

    def before_decide(self, wood: WoodState, t: TurnState) -> None:
        """The `events` phase: this turn's scripted moves, then the queue, in order."""
        for text, source in self.script.get(t.turn, ()):
            self.submit(text, source)
        queue, self.queue = self.queue, []
        self.making = t
        try:
            for move in queue:
                ok, message = False, move.refusal
                if move.command is not None:
                    try:
                        self._check_free()
                        message = move.command.make(self)
                        ok = True
                    except ActionError as exc:
                        message = str(exc)
                t.emit("financier", source=move.source, command=move.text, ok=ok, outcome=message)
        finally:
            self.making = None

    def after_clear(self, wood: WoodState, t: TurnState) -> None:
        """The creatures' answers to this turn's offers; bribes taken are levers."""
        self.patron.answer(wood, t)
        for b in self.patron.bribes:
            if b.turn == t.turn and b.taken:
                self.judge.note(t.turn, "bribe", ask_goods(wood, b.ask))

    def _check_free(self) -> None:
        """Refuse every move while the account is frozen or once the season is lost."""
        if self.lost:
            raise ActionError(f"the season is lost ({self.lost}); no more moves")
        left = self.judge.frozen(self.wood.turn + 1)
        if left:
            raise ActionError(
                f"the magistrate has frozen your account: {left} more turn{'s' * (left > 1)}"
            )

    # -- the desk: what a command checks itself against ------------------

    @property
    def lexicon(self) -> Lexicon:
        wood = self.wood
        spec = wood.scenario.financier
        return Lexicon(
            goods=wood.goods,
            creatures=wood.names,
            legends={lg.id: lg for lg in legends_of(wood)},
            max_qty=wood.scenario.market.max_qty,
            whisper_chars=spec.whisper_chars,
            max_rate=spec.max_rate,
            max_term=spec.max_term,
            exiled=tuple(wood.exiled),
            legend_files=True,
        )

    @property
    def turn(self) -> int:
        return self.wood.turn

    def price(self, good: str) -> int:
        return self.wood.prices[good]

    def mark(self, good: str) -> int:
        """The price the house deals at: a short opens and is covered at its good's mark."""
        return self.book.marks[good]

    def position(self, good: str) -> Position | None:
        return self.positions.get(good)

    def free(self, ahead: Sequence[Command]) -> int:
        """Pebbles not held as initial margin, by buy orders or by offers (loans, bribes)
        not yet answered, with the moves `ahead` made."""
        covered = {g for c in ahead if (g := c.covers()) is not None}
        held = sum(
            ceil_pct(p.qty * p.mark, INITIAL_MARGIN_PCT)
            for g, p in self.positions.items()
            if g not in covered
        )
        held += sum(c.holds(self, covered) for c in ahead)
        held += self.patron.held()
        orders = [o for o in self.wood.outside_orders if o.creature == FINANCIER]
        held += sum(o.qty * o.price for o in orders if o.side == "buy")
        return self.pebbles - held

    def order_problem(
        self, side: str, good: str, qty: int, price: int, ahead: Sequence[Command]
    ) -> str:
        """Why the market would not admit this order with the orders `ahead` of it."""
        wood = self.wood
        stores = wood.ledger.accounts[FINANCIER].stores
        others = [c for c in ahead if not isinstance(c, PlaceOrder)]
        holding = _Holding(self.free(others), stores)
        admission = Admission(wood.goods, wood.prices, {FINANCIER: holding}, wood.scenario.market)
        earlier = [o for o in wood.outside_orders if o.creature == FINANCIER]
        earlier += [
            Order(FINANCIER, c.side, c.good, c.qty, c.price)
            for c in ahead
            if isinstance(c, PlaceOrder)
        ]
        for o in earlier:
            admission.admit(o)
        return admission.problem(Order(FINANCIER, side, good, qty, price))

    def tips(self, good: str | None = None) -> list[Tip]:
        return tips(self.wood, good)

    def cold(self, creature: str) -> str:
        score = self.wood.memory.score(creature, FINANCIER)
        return bucket(score) if score <= REFUSE_AT else ""

    def loan_of(self, creature: str) -> Loan | None:
        return self.patron.loan_of(creature)

    def offered(self, creature: str, kind: str) -> bool:
        return self.patron.offered(creature, kind)

    def pact_offered(self, first: str, second: str) -> bool:
        pending = self.patron.pending
        return any(p.offer.kind == "pact" and set(p.to) == {first, second} for p in pending)

    def allied(self, first: str, second: str) -> bool:
        return (min(first, second), max(first, second)) in self.wood.pacts

    def legend(self, name: str) -> Tale:
        """A legend of the wood by id, or one read from the file `name` (the terminal's)."""
        found = self.lexicon.legends.get(name)
        if found is not None:
            return found
        if name.endswith(".toml"):
            try:
                return load_legend(name)
            except ScenarioError as exc:
                raise ActionError(f"cannot spring {name}: {exc}") from None
        return self.lexicon.legend(name)

    def told(self, legend_id: str) -> bool:
        book = self.wood.legends
        return book is not None and book.told(legend_id)

    # -- the desk: what a command is made with (the events phase) ---------

    def _now(self) -> TurnState:
        if self.making is None:
            raise WoodmarketError("a move is made only in the events phase of a turn")
        return self.making

    def open_short(self, good: str, qty: int) -> None:
        self.book.open(good, qty, self.mark(good), self._now().turn)

    def close_short(self, good: str) -> Closed:
        return self.book.close(good, self.mark(good), self._now().turn, forced=False)

    def place(self, side: str, good: str, qty: int, price: int) -> None:
        self.wood.outside_orders.append(Order(FINANCIER, side, good, qty, price))

    def deliver(self, creature: str, text: str, tip: TipLike | None) -> None:
        t = self._now()
        memory = self.wood.memory
        entry = Whispered(t.turn, creature, text, True if tip else None, delivered=True)
        self.whispered.append(entry)
        # The events phase has delivered last turn's talk: this whisper is heard now.
        memory.whispers.setdefault(creature, []).append(whisper_line(text))
        if tip:
            memory.feel(creature, FINANCIER, TIP_WARMTH)
        else:
            entry.claim = claim(self.wood, text)
        self.judge.note(t.turn, "whisper", self._goods_named(text, tip))

    def lend(self, creature: str, amount: int, rate: int, turns: int) -> None:
        self.patron.lend(self.wood, self._now(), creature, amount, rate, turns)

    def bribe(self, creature: str, amount: int, ask: Ask) -> None:
        self.patron.bribe(self.wood, self._now(), creature, amount, ask)

    def ally(self, first: str, second: str) -> None:
        self.patron.ally(self.wood, self._now(), first, second)

    def spring(self, legend: Tale, mechanism: str | None) -> None:
        t = self._now()
        self.legends.spring(self.wood, legend, t, mechanism)  # type: ignore[arg-type]
        self.judge.note(t.turn, "spring", {legend.target})

    def _goods_named(self, text: str, tip: TipLike | None) -> set[str]:
        """The goods a whisper is about: its legend's target, its fact's good, or words."""
        wood = self.wood
        if tip is not None:
            head, _, rest = tip.key.partition(".")
            if head == "state":
                return {rest.split(".")[0]}
            for lg in wood.scenario.legends:
                if lg.id == head:
                    return {lg.target}
        return goods_named(wood.goods, text)
