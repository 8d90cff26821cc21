"""The financier: the player's side of one wood, in rooms of one job each.

    book.py      shorts against the house, marks, margin, forced cover
    whispers.py  tips (true facts of the wood) and the whisper ledger
    commands.py  the command language: a typed line -> a typed command
    script.py    moves laid out by turn (a gambit, a recorded game)
    patron.py    loans, bribes and pacts: offers, answers, debts, default, exile
    magistrate.py  heat on insider wins, fines into the public purse, freezes
    __init__.py  this front: checks a move, queues it, makes it in `events`

A move is submitted between turns (`submit`): it is checked at once
against the wood and the moves already queued, refused with the reason or
queued; the queue is carried out in the coming turn's `events` phase (at
the `before_decide` seam, before any legend lands), where each move is
checked again and made. So a move behaves one way, whenever it was typed,
and each becomes one `financier` record of the turn it was made in, with
its source and outcome. Offers (loans, bribes, pacts) made in `events`
are answered by their creatures in `decide` and read at the `after_clear`
seam. At the `settle` seam, after the legends, the book marks every
short and makes margin calls, loans accrue and fall due, the magistrate
rules on the settlement's wins, rumors are judged, and the season is
checked: met, or lost (heat at the scenario's limit, or bankruptcy).
While the magistrate freezes the account, or once the season is lost,
every new command is refused with the reason.

This room may move pebbles between the `financier` and `house` accounts
(and, through its patron and magistrate rooms, creatures and the purse),
place the financier's orders in `wood.outside_orders`, whisper into
creatures' memory, spring legends through the `LegendBook`, and change
creatures' feelings toward the financier.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from woodmarket.errors import ActionError, WoodmarketError
from woodmarket.financier.book import (
    FINANCIER,
    INITIAL_MARGIN_PCT,
    MAINTENANCE_PCT,
    Book,
    Closed,
    Position,
    ceil_pct,
)
from woodmarket.financier.commands import (
    VERBS,
    Ally,
    Bribe,
    Command,
    Cover,
    Lend,
    PlaceOrder,
    Short,
    Spring,
    Whisper,
    parse_command,
)
from woodmarket.financier.magistrate import Magistrate
from woodmarket.financier.patron import Patron, ask_goods, goods_named, interest
from woodmarket.financier.script import Script, merge, recorded_moves, script_of
from woodmarket.financier.whispers import (
    FALSE_RUMOR,
    REFUSE_AT,
    RUMOR_TURNS,
    TIP_WARMTH,
    Tip,
    Whispered,
    claim,
    find_tip,
    text_problem,
    tips,
    whisper_limit,
    whisper_line,
)
from woodmarket.ledger import HOUSE
from woodmarket.legendbook import LegendBook
from woodmarket.legends import MECHANISMS, Legend
from woodmarket.memory import bucket
from woodmarket.rules import Admission
from woodmarket.types import Order

if TYPE_CHECKING:
    from woodmarket.state import TurnState, WoodState

__all__ = [
    "FALSE_RUMOR",
    "FINANCIER",
    "INITIAL_MARGIN_PCT",
    "MAINTENANCE_PCT",
    "REFUSE_AT",
    "RUMOR_TURNS",
    "TIP_WARMTH",
    "VERBS",
    "Closed",
    "Financier",
    "Outcome",
    "Position",
    "Tip",
    "Whispered",
    "ceil_pct",
    "recorded_moves",
]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a move did or will do; `ok` False means it was refused, with the reason."""

    command: str
    ok: bool
    message: str


@dataclass(slots=True)
class _Move:
    """A submitted line: its command, or why it was refused on submission."""

    text: str
    source: str
    command: Command | None
    refusal: str = ""


@dataclass
class Financier:
    """The player's side of one wood. Build it with `Financier.attach(wood)`."""

    wood: WoodState
    start: int
    book: Book
    whispered: list[Whispered] = field(default_factory=list)
    script: Script = field(default_factory=dict)
    queue: list[_Move] = field(default_factory=list)
    met_turn: int | None = None
    patron: Patron = field(default_factory=Patron)
    magistrate: Magistrate | None = None
    lost: str = ""  # why the season is lost, once it is

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
        if "financier" in wood.extensions:
            raise WoodmarketError("this wood already has a financier")
        if override is not None and override not in MECHANISMS:
            raise ActionError(f"unknown mechanism {override!r}; use {', '.join(MECHANISMS)}")
        pebbles = wood.scenario.financier.pebbles
        wood.ledger.open(FINANCIER, pebbles)
        if HOUSE not in wood.ledger.accounts:
            wood.ledger.open(HOUSE, 0)
        fin = cls(wood, pebbles, Book(wood.ledger))
        fin.magistrate = Magistrate(wood.scenario.magistrate)
        fin.add_script(script or {}, source)
        wood.extensions["financier"] = fin
        wood.seams.add("before_decide", fin.before_decide)
        wood.seams.add("after_clear", fin.after_clear)
        # The legends settle first, so shorts are marked at the landed price.
        LegendBook.attach(wood, override)
        wood.seams.add("settle", fin.settle)
        if pebbles >= wood.scenario.financier.objective_pebbles:
            fin.met_turn = 0
        return fin

    def add_script(self, moves: Mapping[int, Iterable[str]], source: str) -> None:
        """Submit `moves` (turn -> commands) just before their turns, as from `source`."""
        self.script = merge(self.script, script_of(moves, source))

    @property
    def legends(self) -> LegendBook:
        book: LegendBook = self.wood.extensions["legends"]
        return book

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
        return self.pebbles - self._held(self.queue)

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

    def tips(self, good: str | None = None) -> list[Tip]:
        return tips(self.wood, good)

    def queued(self) -> list[str]:
        """The moves waiting for the coming turn, as typed."""
        return [m.text for m in self.queue if m.command is not None]

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
            message = self._check(command, self.queue)
        except ActionError as exc:
            self.queue.append(_Move(text, source, None, str(exc)))
            return Outcome(text, False, str(exc))
        self.queue.append(_Move(text, source, command))
        return Outcome(text, True, message)

    def before_decide(self, wood: WoodState, t: TurnState) -> None:
        """The `events` phase: this turn's scripted moves, then the queue, in order."""
        for text, source in self.script.get(t.turn, ()):
            self.submit(text, source)
        queue, self.queue = self.queue, []
        for move in queue:
            ok, message = False, move.refusal
            if move.command is not None:
                try:
                    self._check_free()
                    message = self._make(move.command, t)
                    ok = True
                except ActionError as exc:
                    message = str(exc)
            t.emit("financier", source=move.source, command=move.text, ok=ok, outcome=message)

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

    def _held(self, ahead: list[_Move]) -> int:
        """Pebbles held as initial margin, by buy orders and by offers (loans, bribes)
        not yet answered, with the moves `ahead` made."""
        covered = {m.command.good for m in ahead if isinstance(m.command, Cover)}
        held = sum(
            ceil_pct(p.qty * p.mark, INITIAL_MARGIN_PCT)
            for g, p in self.positions.items()
            if g not in covered
        )
        for m in ahead:
            c = m.command
            if isinstance(c, Short) and c.good not in covered:
                held += ceil_pct(c.qty * self.wood.prices[c.good], INITIAL_MARGIN_PCT)
            elif isinstance(c, PlaceOrder) and c.side == "buy":
                held += c.qty * c.price
            elif isinstance(c, Lend | Bribe):
                held += c.amount
        orders = [o for o in self.wood.outside_orders if o.creature == FINANCIER]
        held += self.patron.held()
        return held + sum(o.qty * o.price for o in orders if o.side == "buy")

    def _check(self, command: Command, ahead: list[_Move]) -> str:
        """What `command` will do, given the moves `ahead` of it; ActionError if refused."""
        if isinstance(command, Short):
            return self._check_short(command, ahead)
        if isinstance(command, Cover):
            return self._check_cover(command, ahead)
        if isinstance(command, PlaceOrder):
            return self._check_order(command, ahead)[1]
        if isinstance(command, Whisper):
            return self._check_whisper(command)[1]
        if isinstance(command, Lend):
            return self._check_lend(command, ahead)[1]
        if isinstance(command, Bribe):
            return self._check_bribe(command, ahead)[1]
        if isinstance(command, Ally):
            return self._check_ally(command, ahead)[1]
        return self._check_spring(command, ahead)[1]

    def _make(self, command: Command, t: TurnState) -> str:
        """Carry out a command in the `events` phase, checked again against the wood."""
        wood = self.wood
        if isinstance(command, Short):
            message = self._check_short(command, [])
            self.book.open(command.good, command.qty, wood.prices[command.good], t.turn)
        elif isinstance(command, Cover):
            self._check_cover(command, [])
            c = self.book.close(command.good, wood.prices[command.good], t.turn, forced=False)
            message = f"covered {c.qty} {c.good} at {c.exit} (entry {c.entry}); P&L {c.pnl:+d}"
        elif isinstance(command, PlaceOrder):
            order, message = self._check_order(command, [])
            wood.outside_orders.append(order)
        elif isinstance(command, Whisper):
            (who, text, tip), message = self._check_whisper(command)
            self._deliver(who, text, tip, t)
            self.judge.note(t.turn, "whisper", self._goods_named(text, tip))
        elif isinstance(command, Lend):
            who, message = self._check_lend(command, [])
            self.patron.lend(wood, t, who, command.amount, command.rate, command.turns)
        elif isinstance(command, Bribe):
            who, message = self._check_bribe(command, [])
            self.patron.bribe(wood, t, who, command.amount, command.ask)
        elif isinstance(command, Ally):
            (a, b), message = self._check_ally(command, [])
            self.patron.ally(wood, t, a, b)
        else:
            legend, message = self._check_spring(command, [])
            self.legends.spring(wood, legend, t, command.mechanism)
            self.judge.note(t.turn, "spring", {legend.target})
        return message

    def _goods_named(self, text: str, tip: Tip | None) -> set[str]:
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

    # -- the checks, one per verb -----------------------------------------

    def _good(self, word: str) -> str:
        if word not in self.wood.goods:
            raise ActionError(f"unknown good {word!r}; goods are {', '.join(self.wood.goods)}")
        return word

    def _creature(self, word: str) -> str:
        for name in self.wood.names:
            if name.lower() == word.lower():
                return name
        shown = word if len(word) <= 24 else word[:21] + "..."
        raise ActionError(f"unknown creature {shown!r}; creatures are {', '.join(self.wood.names)}")

    def _check_short(self, c: Short, ahead: list[_Move]) -> str:
        good = self._good(c.good)
        covered = any(isinstance(m.command, Cover) and m.command.good == good for m in ahead)
        queued = [m.command for m in ahead if isinstance(m.command, Short)]
        if good in self.positions and not covered:
            p = self.positions[good]
            raise ActionError(f"already short {p.qty} {good}; cover {good} first to resize")
        if any(s.good == good for s in queued):
            raise ActionError(f"a short of {good} is already queued; cover {good} first to resize")
        entry = self.wood.prices[good]
        need = ceil_pct(c.qty * entry, INITIAL_MARGIN_PCT)
        free = self.pebbles - self._held(ahead)
        if need > free:
            raise ActionError(
                f"not enough margin: short {c.qty} {good} at {entry} needs {need} pebbles of "
                f"initial margin ({INITIAL_MARGIN_PCT}% of {c.qty * entry}); you have {free} free"
            )
        return f"short {c.qty} {good} at {entry}; {need} pebbles held as initial margin"

    def _check_cover(self, c: Cover, ahead: list[_Move]) -> str:
        good = self._good(c.good)
        opened = [
            m.command for m in ahead if isinstance(m.command, Short) and m.command.good == good
        ]
        covers = sum(isinstance(m.command, Cover) and m.command.good == good for m in ahead)
        open_now = (good in self.positions) + len(opened) - covers
        if open_now < 1:
            raise ActionError(f"nothing to cover: no short in {good}")
        price = self.wood.prices[good]
        if good in self.positions and not covers:
            p = self.positions[good]
            pnl = p.pnl + p.qty * (p.mark - price)
            return f"covered {p.qty} {good} at {price} (entry {p.entry}); P&L {pnl:+d}"
        qty = opened[-1].qty
        return f"covered {qty} {good} at {price} (entry {price}); P&L +0"

    def _check_order(self, c: PlaceOrder, ahead: list[_Move]) -> tuple[Order, str]:
        good = self._good(c.good)
        order = Order(FINANCIER, c.side, good, c.qty, c.price)
        wood = self.wood
        stores = wood.ledger.accounts[FINANCIER].stores
        margin = self._held([m for m in ahead if not isinstance(m.command, PlaceOrder)])
        holding = _Holding(self.pebbles - margin, stores)
        admission = Admission(wood.goods, wood.prices, {FINANCIER: holding}, wood.scenario.market)
        earlier = [o for o in wood.outside_orders if o.creature == FINANCIER]
        earlier += [
            Order(FINANCIER, m.command.side, m.command.good, m.command.qty, m.command.price)
            for m in ahead
            if isinstance(m.command, PlaceOrder)
        ]
        for o in earlier:
            admission.admit(o)
        reason = admission.problem(order)
        if reason:
            raise ActionError(reason)
        return order, f"order placed: {c.side} {c.qty} {good} at {c.price}, in this turn's auction"

    def _check_whisper(self, c: Whisper) -> tuple[tuple[str, str, Tip | None], str]:
        who = self._creature(c.creature)
        tip = find_tip(self.wood, c.tip)
        text = tip.text if tip else c.tip
        problem = text_problem(text, whisper_limit(self.wood))
        if problem:
            raise ActionError(problem)
        score = self.wood.memory.score(who, FINANCIER)
        if score <= REFUSE_AT:
            # Refused deterministically: a resentful creature will not hear the financier.
            raise ActionError(f"{who} {bucket(score)} you and will not listen; nothing delivered")
        said = f"whispered to {who}: {text}" if tip else f"rumor whispered to {who}: {text}"
        return (who, text, tip), said

    def _deliver(self, who: str, text: str, tip: Tip | None, t: TurnState) -> None:
        memory = self.wood.memory
        entry = Whispered(t.turn, who, text, True if tip else None, delivered=True)
        self.whispered.append(entry)
        # The events phase has delivered last turn's talk: this whisper is heard now.
        memory.whispers.setdefault(who, []).append(whisper_line(text))
        if tip:
            memory.feel(who, FINANCIER, TIP_WARMTH)
        else:
            entry.claim = claim(self.wood, text)

    def _listening(self, who: str) -> None:
        score = self.wood.memory.score(who, FINANCIER)
        if score <= REFUSE_AT:
            raise ActionError(f"{who} {bucket(score)} you and will not deal with you")

    def _free(self, amount: int, ahead: list[_Move], what: str) -> None:
        free = self.pebbles - self._held(ahead)
        if amount > free:
            raise ActionError(f"not enough pebbles: {what} needs {amount}; you have {free} free")

    def _check_lend(self, c: Lend, ahead: list[_Move]) -> tuple[str, str]:
        who = self._creature(c.creature)
        spec = self.wood.scenario.financier
        if c.rate > spec.max_rate:
            raise ActionError(
                f"rate {c.rate}% a turn is above this wood's limit of {spec.max_rate}%"
            )
        if c.turns > spec.max_term:
            raise ActionError(
                f"a term of {c.turns} turns is above this wood's limit of {spec.max_term}"
            )
        loan = self.patron.loan_of(who)
        if loan is not None:
            raise ActionError(
                f"{who} already owes you {loan.owed} (due at turn {loan.due}); one loan at a time"
            )
        if self._offered(who, Lend, "loan", ahead):
            raise ActionError(f"a loan to {who} is already offered; one loan at a time")
        self._listening(who)
        self._free(c.amount, ahead, f"lending {c.amount}")
        per = interest(c.amount, c.rate)
        due = self.wood.turn + 1 + c.turns
        return who, (
            f"loan offered to {who}: {c.amount} pebbles at {c.rate}% a turn ({per} a turn), "
            f"{c.amount + c.turns * per} due at the settlement of turn {due}; "
            f"{who} answers this turn"
        )

    def _check_bribe(self, c: Bribe, ahead: list[_Move]) -> tuple[str, str]:
        who = self._creature(c.creature)
        ask = c.ask
        if ask.verb == "gossip":
            problem = text_problem(ask.what, whisper_limit(self.wood))
            if problem:
                raise ActionError(problem.replace("a whisper", "a gossip ask"))
        else:
            self._good(ask.what)
        if self._offered(who, Bribe, "bribe", ahead):
            raise ActionError(f"a bribe to {who} is already offered this turn; one at a time")
        self._listening(who)
        self._free(c.amount, ahead, f"a bribe of {c.amount}")
        return who, f"bribe offered to {who}: {c.amount} pebbles to {ask}, this turn"

    def _check_ally(self, c: Ally, ahead: list[_Move]) -> tuple[tuple[str, str], str]:
        a, b = self._creature(c.first), self._creature(c.second)
        if a == b:
            raise ActionError(f"a pact needs two different creatures; {a} named twice")
        pair = (min(a, b), max(a, b))
        if pair in self.wood.pacts:
            raise ActionError(f"{a} and {b} are allies already")
        pair_words = {a.lower(), b.lower()}
        queued = any(
            isinstance(m.command, Ally)
            and {m.command.first.lower(), m.command.second.lower()} == pair_words
            for m in ahead
        )
        if queued or any(
            p.offer.kind == "pact" and set(p.to) == {a, b} for p in self.patron.pending
        ):
            raise ActionError(f"a pact between {a} and {b} is already offered")
        return (a, b), f"pact offered to {a} and {b}; it forms if both accept this turn"

    def _offered(
        self, who: str, command: type[Lend] | type[Bribe], kind: str, ahead: list[_Move]
    ) -> bool:
        """Whether `who` has an offer of `kind` pending, or one queued (`command`) this turn."""
        queued = any(
            isinstance(m.command, command) and self._same(m.command.creature, who) for m in ahead
        )
        return queued or self.patron.offered(who, kind)

    def _same(self, word: str, name: str) -> bool:
        return word.lower() == name.lower()

    def _check_spring(self, c: Spring, ahead: list[_Move]) -> tuple[Legend, str]:
        legend = self._legend(c.legend)
        if legend.target not in self.wood.goods:
            raise ActionError(f"legend {legend.id} targets {legend.target!r}, not a good here")
        book = self.wood.extensions.get("legends")
        told = book is not None and any(s.legend.id == legend.id for s in book.sprung)
        queued = any(isinstance(m.command, Spring) and m.command.legend == c.legend for m in ahead)
        if told or queued:
            raise ActionError(f"{legend.title} has already been told in this wood")
        how = f" ({c.mechanism})" if c.mechanism else ""
        return legend, f"{legend.title} is told in the wood this turn{how}"

    def _legend(self, name: str) -> Legend:
        from woodmarket.financier.whispers import legends_of
        from woodmarket.legends import load_legend

        for lg in legends_of(self.wood):
            if lg.id == name:
                return lg
        if name.endswith(".toml"):
            from woodmarket.errors import ScenarioError

            try:
                return load_legend(name)
            except ScenarioError as exc:
                raise ActionError(f"cannot spring {name}: {exc}") from None
        ids = ", ".join(lg.id for lg in legends_of(self.wood)) or "none in this wood"
        shown = name if len(name) <= 40 else name[:37] + "..."
        raise ActionError(f"unknown legend {shown!r}; legends are {ids}")

    # -- the settlement ------------------------------------------------

    def settle(self, wood: WoodState, t: TurnState) -> None:
        book = self.book
        book.mark_all(wood.prices)
        for have, need, c in book.margin_calls(t.turn):
            t.emit(
                "financier",
                source="margin",
                command=f"cover {c.good}",
                ok=True,
                outcome=(
                    f"forced cover: {have} pebbles below maintenance {need}; "
                    f"covered {c.qty} {c.good} at {c.exit}, P&L {c.pnl:+d}"
                ),
            )
        self.patron.settle(wood, t)
        self.judge.settle(wood, t, self._wins(t))
        self._judge_rumors(t)
        spec = wood.scenario.financier
        self._season(t)
        reached = self.pebbles >= spec.objective_pebbles
        if self.met_turn is None and not self.lost and reached and t.turn <= spec.objective_turn:
            self.met_turn = t.turn
        t.emit(
            "book",
            pebbles=self.pebbles,
            worth=self.worth(),
            pnl=self.pnl(),
            positions=[p.to_dict() for _, p in sorted(self.positions.items())],
            realized=self.realized(),
            maintenance=self.maintenance(),
            shortfall=self.shortfall,
        )

    def _wins(self, t: TurnState) -> list[tuple[str, int]]:
        """This turn's wins on shorts, by good: covers in `events` and the marks just made."""
        by: dict[str, int] = {}
        for good, gain in self.book.gains:
            by[good] = by.get(good, 0) + gain
        self.book.gains = []
        return sorted(by.items())

    def _season(self, t: TurnState) -> None:
        """The season is lost for good: heat at the scenario's limit, or worth below its floor."""
        if self.lost:
            return
        spec = self.wood.scenario.financier
        why = ""
        if spec.heat_limit and self.heat >= spec.heat_limit:
            why = f"the magistrate's heat reached {self.heat} (the limit is {spec.heat_limit})"
            t.public.append("The magistrate bars the financier from the market")
        elif spec.bankrupt_below and self.worth() < spec.bankrupt_below:
            why = f"bankrupt: worth {self.worth()}, below {spec.bankrupt_below}"
            t.public.append("The magistrate declares the financier bankrupt")
        if why:
            self.lost = why
            t.emit("magistrate", event="lost", why=why, heat=self.heat, worth=self.worth())

    def _judge_rumors(self, t: TurnState) -> None:
        for w in self.whispered:
            if w.claim is None or w.verdict or t.turn < w.turn + RUMOR_TURNS - 1:
                continue
            good, way, then = w.claim
            now = self.wood.prices[good]
            wrong = now >= then if way == "down" else now <= then
            w.verdict = "proved false" if wrong else "borne out"
            if wrong:
                self.wood.memory.feel(w.to, FINANCIER, FALSE_RUMOR)
                t.emit(
                    "sentiment", holder=w.to, about=FINANCIER, delta=FALSE_RUMOR, why="false rumor"
                )


@dataclass(slots=True)
class _Holding:
    """The financier's account as the order rules see it: pebbles net of margin."""

    pebbles: int
    stores: dict[str, int]
