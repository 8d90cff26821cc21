"""The financier: the player's book, margin rules and validated commands.

This room owns the financier's state (`wood.extensions["financier"]`):
open shorts, closed trades, the ledger of whispered tips with their truth
flags (kept here and in the trace only, never in an observation), the
objective, and the scripted moves of a gambit or a replay. It may move
pebbles between the `financier` and `house` ledger accounts, place the
financier's orders in `wood.outside_orders`, queue whispers in memory,
spring legends through the `LegendBook`, and change creatures' feelings
toward the financier. It attaches at the `before_decide` seam (scripted
moves, records of moves made between turns) and the `settle` seam
(marking, margin, rumors that proved false), after the legends.

Commands (one line each, as typed in `woodmarket play` and in gambits)::

    short GOOD QTY               a short on GOOD's reference price, with the house
    cover GOOD                   close the short on GOOD at the reference price
    order buy|sell GOOD QTY PRICE  a real order in this turn's auction
    whisper CREATURE TIP         TIP: a number from `tips`, a legend id (its first
                                 tip) or LEGEND.N; any other text goes as a rumor
    spring LEGEND                tell a legend in the wood this turn

Shorts and margin (whole pebbles, every product rounded up in the house's
favour):
- A short of QTY units of GOOD opens at the current reference price (the
  entry). It never trades with creatures: it is a contract with the house.
- Initial margin: opening needs free pebbles of at least 50% of the
  notional (QTY x entry). Free pebbles are the financier's pebbles less the
  initial margin of every open short (at its last mark) and less what
  pending buy orders reserve. One short per good; cover before resizing.
- Variation margin: at every settlement each short is marked at the
  reference price (after any `settle` legend lands) and the difference,
  QTY x (last mark - new mark), moves between `financier` and `house`. So
  the P&L is always paid, and pebbles are conserved, the house included.
- Maintenance: after marking, the financier's pebbles must be at least
  25% of the notional of the open shorts at their new marks. Below that,
  shorts are force-covered at the mark, largest first, until the rest is
  covered. Stores are not collateral: equity for margin is pebbles.
- A loss larger than the financier's pebbles empties them; the rest is the
  house's loss (recorded as a shortfall). The financier never goes below 0.

Whispers: a tip (true by construction: a legend's true tip, or a fact
read off the current state) reaches the creature as `the financier
whispers: "..."`; free text reaches it as `a rumor from the financier:
"..."`. A creature that resents the financier (feeling -40 or colder)
refuses whispers. A rumor that names a good and a direction (falls,
rises, ...) proves false if the good's reference moved the other way by
the end of the third turn; the creature grows colder.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from woodmarket.errors import ActionError, WoodmarketError
from woodmarket.ledger import HOUSE
from woodmarket.legends import FINANCIER, MECHANISMS, LegendBook, bundled, resolve
from woodmarket.market import band
from woodmarket.memory import bucket
from woodmarket.types import MAX_GOSSIP_CHARS, Order

if TYPE_CHECKING:
    from woodmarket.state import TurnState, WoodState

INITIAL_MARGIN_PCT = 50
MAINTENANCE_PCT = 25
REFUSE_AT = -40  # a creature this cold (it "resents" the financier) refuses whispers
TIP_WARMTH = 3  # a true tip confided warms a little
FALSE_RUMOR = -20  # a rumor that proved false cools a lot
RUMOR_TURNS = 3  # a rumor's claim is judged at the settlement of its third turn
VERBS = ("short", "cover", "order", "whisper", "spring")

_DOWN = frozenset("fall falls falling crash crashes crashing drop drops sink sinks cheap".split())
_UP = frozenset("rise rises rising soar soars climb climbs spike spikes dear scarce".split())
_WORD = re.compile(r"[a-z]+")


def ceil_pct(value: int, pct: int) -> int:
    return -(-value * pct // 100)


@dataclass(slots=True)
class Position:
    """An open short: QTY units of GOOD owed to the house at the entry price."""

    good: str
    qty: int
    entry: int
    mark: int
    opened: int
    pnl: int = 0  # variation margin received so far (negative: paid)

    def to_dict(self) -> dict[str, Any]:
        return {
            "good": self.good,
            "qty": self.qty,
            "entry": self.entry,
            "mark": self.mark,
            "pnl": self.pnl,
        }


@dataclass(frozen=True, slots=True)
class Closed:
    good: str
    qty: int
    entry: int
    exit: int
    pnl: int
    turn: int
    forced: bool


@dataclass(slots=True)
class Whispered:
    """One whisper in the financier's ledger. `true` is None for free text."""

    turn: int
    to: str
    text: str
    true: bool | None
    delivered: bool
    claim: tuple[str, str, int] | None = None  # (good, "down"|"up", price then)
    verdict: str = ""


@dataclass(frozen=True, slots=True)
class Tip:
    key: str
    text: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a command did; `ok` False means it was refused, with the reason."""

    command: str
    ok: bool
    message: str


@dataclass
class Financier:
    """The player's side of one wood. Build it with `Financier.attach(wood)`."""

    wood: WoodState
    start: int
    positions: dict[str, Position] = field(default_factory=dict)
    closed: list[Closed] = field(default_factory=list)
    whispered: list[Whispered] = field(default_factory=list)
    script: dict[int, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    unrecorded: list[dict[str, Any]] = field(default_factory=list)
    shortfall: int = 0
    met_turn: int | None = None
    _turn: TurnState | None = None

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

        `script` maps a turn to commands run at that turn's `before_decide`
        seam, as if typed just before the turn (a gambit, or a replay).
        """
        if "financier" in wood.extensions:
            raise WoodmarketError("this wood already has a financier")
        if override is not None and override not in MECHANISMS:
            raise ActionError(f"unknown mechanism {override!r}; use {', '.join(MECHANISMS)}")
        pebbles = wood.scenario.financier.pebbles
        wood.ledger.open(FINANCIER, pebbles)
        if HOUSE not in wood.ledger.accounts:
            wood.ledger.open(HOUSE, 0)
        fin = cls(wood, pebbles)
        for turn, moves in (script or {}).items():
            fin.add_script(turn, moves, source)
        wood.extensions["financier"] = fin
        wood.seams.add("before_decide", fin.before_decide)
        # The legends settle first, so shorts are marked at the landed price.
        LegendBook.attach(wood, override)
        wood.seams.add("settle", fin.settle)
        if pebbles >= wood.scenario.financier.objective_pebbles:
            fin.met_turn = 0
        return fin

    def add_script(self, turn: int, moves: Iterable[str], source: str) -> None:
        self.script[turn] = self.script.get(turn, ()) + tuple((m, source) for m in moves)

    @property
    def book(self) -> LegendBook:
        return self.wood.extensions["legends"]

    # -- figures -------------------------------------------------------

    @property
    def pebbles(self) -> int:
        return self.wood.ledger.accounts[FINANCIER].pebbles

    @property
    def stores(self) -> dict[str, int]:
        return self.wood.ledger.accounts[FINANCIER].stores

    def worth(self) -> int:
        """Pebbles plus stores at reference; shorts are already paid to their mark."""
        return self.wood.wealth(FINANCIER)

    def pnl(self) -> int:
        return self.worth() - self.start

    def realized(self) -> int:
        return sum(c.pnl for c in self.closed)

    def initial_margin(self) -> int:
        return sum(ceil_pct(p.qty * p.mark, INITIAL_MARGIN_PCT) for p in self.positions.values())

    def maintenance(self) -> int:
        return sum(ceil_pct(p.qty * p.mark, MAINTENANCE_PCT) for p in self.positions.values())

    def _pending(self) -> list[Order]:
        return [o for o in self.wood.outside_orders if o.creature == FINANCIER]

    def free_pebbles(self) -> int:
        reserved = sum(o.qty * o.price for o in self._pending() if o.side == "buy")
        return self.pebbles - self.initial_margin() - reserved

    def rank(self) -> tuple[int, int]:
        """(rank, of how many) by worth against the creatures' wealth; 1 is richest."""
        wood = self.wood
        worth = self.worth()
        richer = sum(1 for n in wood.names if wood.wealth(n) > worth)
        return richer + 1, len(wood.names) + 1

    def objective(self) -> str:
        spec = self.wood.scenario.financier
        goal, by = spec.objective_pebbles, spec.objective_turn
        if self.met_turn is not None:
            return f"objective met: {goal} pebbles by turn {self.met_turn} (goal: by turn {by})"
        if self.wood.turn >= by:
            return f"objective missed: {goal} pebbles by turn {by}; you hold {self.pebbles}"
        return f"objective: {goal} pebbles by turn {by}; you hold {self.pebbles}"

    # -- commands --------------------------------------------------------

    def command(self, text: str, source: str = "player") -> Outcome:
        """Validate and carry out one command; a refused command changes nothing in the wood.

        Every command (refused or not) is recorded in the trace as a
        `financier` record, with its source and outcome.
        """
        words = text.split()
        try:
            if not words or words[0].lower() not in VERBS:
                raise ActionError(f"unknown command {text.strip()!r}; commands: {', '.join(VERBS)}")
            verb, args = words[0].lower(), words[1:]
            message = getattr(self, f"_{verb}")(args)
            outcome = Outcome(text.strip(), True, message)
        except ActionError as exc:
            outcome = Outcome(text.strip(), False, str(exc))
        self._record(
            "financier",
            source=source,
            command=outcome.command,
            ok=outcome.ok,
            outcome=outcome.message,
        )
        return outcome

    def _record(self, kind: str, **fields: Any) -> None:
        # Moves made between turns are written with the coming turn's records.
        if self._turn is not None:
            self._turn.emit(kind, **fields)
        else:
            self.unrecorded.append({"kind": kind, **fields})

    @property
    def _now(self) -> int:
        return self.wood.turn + 1  # moves always count toward the coming turn

    def _good(self, word: str) -> str:
        good = word.lower()
        if good not in self.wood.goods:
            raise ActionError(f"unknown good {word!r}; goods are {', '.join(self.wood.goods)}")
        return good

    @staticmethod
    def _count(word: str, what: str) -> int:
        if not word.isdigit() or int(word) < 1:
            raise ActionError(f"{what} must be a whole number >= 1, got {word!r}")
        return int(word)

    def _short(self, args: list[str]) -> str:
        if len(args) != 2:
            raise ActionError("usage: short GOOD QTY (e.g. short honey 8)")
        good, qty = self._good(args[0]), self._count(args[1], "quantity")
        if good in self.positions:
            p = self.positions[good]
            raise ActionError(f"already short {p.qty} {good}; cover {good} first to resize")
        entry = self.wood.prices[good]
        need = ceil_pct(qty * entry, INITIAL_MARGIN_PCT)
        free = self.free_pebbles()
        if need > free:
            raise ActionError(
                f"not enough margin: short {qty} {good} at {entry} needs {need} pebbles "
                f"of initial margin ({INITIAL_MARGIN_PCT}% of {qty * entry}); you have {free} free"
            )
        self.positions[good] = Position(good, qty, entry, entry, self._now)
        return f"short {qty} {good} at {entry}; {need} pebbles held as initial margin"

    def _cover(self, args: list[str]) -> str:
        if len(args) != 1:
            raise ActionError("usage: cover GOOD (e.g. cover honey)")
        good = self._good(args[0])
        if good not in self.positions:
            raise ActionError(f"nothing to cover: no short in {good}")
        c = self._close(good, forced=False)
        return f"covered {c.qty} {good} at {c.exit} (entry {c.entry}); P&L {c.pnl:+d}"

    def _close(self, good: str, forced: bool) -> Closed:
        p = self.positions[good]
        self._mark(p, self.wood.prices[good])
        del self.positions[good]
        c = Closed(good, p.qty, p.entry, p.mark, p.pnl, self._now, forced)
        self.closed.append(c)
        return c

    def _mark(self, p: Position, price: int) -> None:
        """Variation margin: the move since the last mark changes hands now."""
        gain = p.qty * (p.mark - price)
        ledger = self.wood.ledger
        if gain > 0:
            ledger.pay(HOUSE, FINANCIER, gain)
            p.pnl += gain
        elif gain < 0:
            paid = min(-gain, self.pebbles)
            ledger.pay(FINANCIER, HOUSE, paid)
            p.pnl -= paid
            self.shortfall += -gain - paid
        p.mark = price

    def _order(self, args: list[str]) -> str:
        args = [a for a in args if a.lower() != "at"]
        if len(args) != 4 or args[0].lower() not in ("buy", "sell"):
            raise ActionError("usage: order buy|sell GOOD QTY PRICE (e.g. order sell honey 2 9)")
        side, good = args[0].lower(), self._good(args[1])
        qty, price = self._count(args[2], "quantity"), self._count(args[3], "price")
        rules = self.wood.scenario.market
        pending = self._pending()
        lo, hi = band(self.wood.prices[good], rules.band)
        if len(pending) >= rules.max_orders:
            raise ActionError(f"at most {rules.max_orders} orders a turn")
        if qty > rules.max_qty:
            raise ActionError(f"quantity {qty} above the limit of {rules.max_qty}")
        if not lo <= price <= hi:
            raise ActionError(f"price {price} outside the band {lo}..{hi} for {good}")
        if any(o.good == good and o.side != side for o in pending):
            raise ActionError(f"self-trade: you already have an order on the other side of {good}")
        if side == "buy":
            free = self.free_pebbles()
            if qty * price > free:
                raise ActionError(f"not enough pebbles: needs {qty * price}, you have {free} free")
        else:
            held = self.stores[good] - sum(o.qty for o in pending if o.good == good)
            if qty > held:
                raise ActionError(f"not enough {good}: sells {qty}, you have {held} unpledged")
        self.wood.outside_orders.append(Order(FINANCIER, side, good, qty, price))
        return f"order placed: {side} {qty} {good} at {price}, in this turn's auction"

    def _whisper(self, args: list[str]) -> str:
        if len(args) < 2:
            raise ActionError("usage: whisper CREATURE TIP (a tip number, a legend id, or text)")
        who = self._creature(args[0])
        tip = self._tip(" ".join(args[1:]))
        text = tip.text if tip else " ".join(args[1:]).strip()
        if len(text) > MAX_GOSSIP_CHARS or not text.isprintable():
            raise ActionError(f"a whisper is one line of at most {MAX_GOSSIP_CHARS} characters")
        memory = self.wood.memory
        score = memory.score(who, FINANCIER)
        truth = True if tip else None  # free text is unverified: nobody checked it
        entry = Whispered(self._now, who, text, truth, delivered=score > REFUSE_AT)
        self.whispered.append(entry)
        if not entry.delivered:
            # Refused deterministically: a resentful creature will not hear the financier.
            raise ActionError(f"{who} {bucket(score)} you and will not listen; nothing delivered")
        line = (
            f'the financier whispers: "{text}"' if tip else f'a rumor from the financier: "{text}"'
        )
        if self._turn is not None:
            # Inside a turn the whispers are already delivered; this one joins them,
            # just as a whisper typed before the turn would have.
            memory.whispers.setdefault(who, []).append(line)
        else:
            memory.whisper(who, line)
        if tip:
            memory.feel(who, FINANCIER, TIP_WARMTH)
            return f"whispered to {who}: {text}"
        entry.claim = self._claim(text)
        return f"rumor whispered to {who}: {text}"

    def _creature(self, word: str) -> str:
        for name in self.wood.names:
            if name.lower() == word.lower():
                return name
        raise ActionError(f"unknown creature {word!r}; creatures are {', '.join(self.wood.names)}")

    def _tip(self, ref: str) -> Tip | None:
        """The tip `ref` names (a number, a legend id, LEGEND.N), or None for free text."""
        tips = self.tips()
        if ref.isdigit():
            n = int(ref)
            if not 1 <= n <= len(tips):
                raise ActionError(f"no tip number {n}; `tips` lists 1..{len(tips)}")
            return tips[n - 1]
        key = ref if "." in ref else f"{ref}.1"
        found = next((t for t in tips if t.key == key), None)
        if found is None and key.split(".")[0] in bundled():
            raise ActionError(f"no tip {ref!r}; `tips` lists the tips you can whisper")
        return found

    def _claim(self, text: str) -> tuple[str, str, int] | None:
        words = set(_WORD.findall(text.lower()))
        goods = [g for g in self.wood.goods if g in words or _singular(g) in words]
        down, up = bool(words & _DOWN), bool(words & _UP)
        if len(goods) != 1 or down == up:
            return None
        return goods[0], "down" if down else "up", self.wood.prices[goods[0]]

    def _spring(self, args: list[str]) -> str:
        if len(args) != 1:
            raise ActionError(f"usage: spring LEGEND (one of {', '.join(bundled())})")
        legend = resolve(args[0])
        return self.book.spring(self.wood, legend, self._turn)

    # -- tips ------------------------------------------------------------

    def tips(self, good: str | None = None) -> list[Tip]:
        """True facts to whisper: the legends' tips, then facts read off the wood now."""
        out = [
            Tip(f"{lg.id}.{i}", text)
            for lg in bundled().values()
            if good is None or lg.target == good
            for i, text in enumerate(lg.tips, 1)
        ]
        wood = self.wood
        for g in wood.goods:
            if good is not None and g != good:
                continue
            makers = [n for n in wood.names if wood.creatures[n].spec.produces.get(g)]
            if len(makers) == 1:
                out.append(
                    Tip(f"state.{g}.makers", f"{makers[0]} is the only creature who makes {g}.")
                )
            elif makers:
                out.append(Tip(f"state.{g}.makers", f"{' and '.join(makers)} make {g}."))
            held = {n: wood.creatures[n].account.stores[g] for n in wood.names}
            top = max(wood.names, key=lambda n: (held[n], n))
            if held[top]:
                out.append(
                    Tip(
                        f"state.{g}.holder",
                        f"{top} holds {held[top]} of the {sum(held.values())} {g} in the wood.",
                    )
                )
            h = wood.history[g][-4:]
            if len(h) >= 2 and h[0] != h[-1]:
                verb = "fallen" if h[-1] < h[0] else "risen"
                turns = len(h) - 1
                out.append(
                    Tip(
                        f"state.{g}.trend",
                        f"{g.capitalize()} has {verb} from {h[0]} to {h[-1]} "
                        f"over the last {turns} turn{'s' * (turns > 1)}.",
                    )
                )
        return out

    # -- seams -----------------------------------------------------------

    def before_decide(self, wood: WoodState, t: TurnState) -> None:
        for r in self.unrecorded:
            t.emit(**r)
        self.unrecorded = []
        self._turn = t
        try:
            for text, source in self.script.get(t.turn, ()):
                self.command(text, source)
        finally:
            self._turn = None

    def settle(self, wood: WoodState, t: TurnState) -> None:
        self._turn = t
        try:
            for good in sorted(self.positions):
                self._mark(self.positions[good], wood.prices[good])
            self._margin_call(t)
            self._judge_rumors(t)
            spec = wood.scenario.financier
            reached = self.pebbles >= spec.objective_pebbles
            if self.met_turn is None and reached and t.turn <= spec.objective_turn:
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
        finally:
            self._turn = None

    def _margin_call(self, t: TurnState) -> None:
        while self.positions and self.pebbles < self.maintenance():
            need, have = self.maintenance(), self.pebbles
            good = max(
                self.positions, key=lambda g: (self.positions[g].qty * self.positions[g].mark, g)
            )
            c = self._close(good, forced=True)
            self._record(
                "financier",
                source="margin",
                command=f"cover {good}",
                ok=True,
                outcome=(
                    f"forced cover: {have} pebbles below maintenance {need}; "
                    f"covered {c.qty} {good} at {c.exit}, P&L {c.pnl:+d}"
                ),
            )

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


def _singular(good: str) -> str:
    if good.endswith("ies"):
        return good[:-3] + "y"
    return good[:-1] if good.endswith("s") else good


def configure(wood: WoodState, meta: Mapping[str, Any]) -> Financier | None:
    """Attach a financier when a run's meta asks for one (a gambit, or `play`).

    meta keys: `gambit` (a name from gambits.py), `mechanism` (rumor, glut,
    settle to override every legend's; `none` runs the gambit without its
    legend), `financier` (true for a run the player drives).
    """
    gambit = meta.get("gambit")
    if not gambit and not meta.get("financier"):
        return None
    from woodmarket.gambits import resolve_gambit

    mechanism = meta.get("mechanism")
    script = resolve_gambit(gambit).script(mechanism) if gambit else {}
    override = None if mechanism in (None, "none") else mechanism
    return Financier.attach(wood, override=override, script=script, source="gambit")


def replay_moves(wood: WoodState, records: Iterable[Mapping[str, Any]]) -> int:
    """Schedule a recorded run's player moves to run again in their turns.

    Gambit moves come back from the run's meta and forced covers from the
    rules, so only moves the player typed are scheduled. Returns how many.
    """
    moves: dict[int, list[str]] = {}
    for r in records:
        if r["kind"] == "financier" and r.get("source") == "player":
            moves.setdefault(r["turn"], []).append(r["command"])
    if not moves:
        return 0
    fin = wood.extensions.get("financier") or Financier.attach(wood)
    for turn, commands in sorted(moves.items()):
        fin.add_script(turn, commands, "player")
    return sum(len(c) for c in moves.values())
