"""The patron's levers: loans, bribes and pacts, offered to creatures and answered by them.

An offer is made in the `events` phase (the financier's queue) and shown
to its creature alone (`Observation.offers`); the creature answers in its
action (`Action.answers`: `accept ID` or `decline ID`; no answer lapses,
as declined); the answers are read at the `after_clear` seam, after the
auction, so pebbles lent or paid never join this turn's reservations.

Loans (whole pebbles):
- `lend CREATURE AMOUNT RATE TURNS` offered on turn t and accepted: AMOUNT
  moves from the financier to the creature; the debt is a record of its
  own (`Loan`), never a negative holding.
- Interest is simple and rounded up once per settlement, in the lender's
  favour: each settlement of turns t+1 .. t+TURNS adds ceil(AMOUNT x RATE
  / 100) to what is owed; so the creature is told, with the offer, the
  whole sum due: AMOUNT + TURNS x ceil(AMOUNT x RATE / 100).
- At the settlement of turn t+TURNS the creature repays what it can in
  pebbles. If pebbles fall short it defaults: its stores are seized, at
  reference prices, dearest good first (ties in the scenario's order),
  whole units only while a unit's price is no more than the debt still
  owed, so a seizure never takes more than the debt. Pebbles and goods
  move through the ledger to the financier.
- What is still owed then is written off. If the seizure emptied the
  creature's stores, it is exiled (`wood.exile`): it leaves the wood with
  its (empty) account settled. If some stores remain (each unit dearer
  than the rest of the debt), it keeps them and stays.
- One loan per creature at a time.

Bribes: `bribe CREATURE AMOUNT ASK`, ASK one of `sell GOOD` (place a sell
order of GOOD this turn), `hold GOOD` (place no sell order of GOOD this
turn) or `gossip TEXT` (say TEXT in this turn's gossip). An accepted
bribe's pebbles are paid whatever the creature then does; whether it
complied is measured from this turn's action (an admitted sell order of
GOOD; no sell order of GOOD; gossip whose words contain TEXT's words) and
recorded. Complied: the creature warms (+5) toward the financier (it is
now complicit); ignored: it cools (-5).

Pacts: `ally A B` offers a pact to both; it forms if both accept in the
same turn. Allies hear each other's gossip (whoever it was said to) and
first; at equal limit prices in an auction, orders of allies trading with
each other are served first. Shared gossip is only gossip: whispers,
offers and loan terms stay private. Either creature breaks a pact with an
answer `break ALLY`; a broken pact sours both on each other (-20) and on
the financier (-10).

This room moves pebbles between the financier and creatures, and goods
from a defaulting creature to the financier, only through the ledger; it
sets `wood.offers`, `wood.debts` and `wood.pacts`, changes feelings, and
exiles through `wood.exile`. Every offer, answer and ruling is a record
(`loan`, `bribe`, `pact`, `exile`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from woodmarket.commands import Ask
from woodmarket.financier.book import FINANCIER
from woodmarket.rules import interest
from woodmarket.types import Debt, Offer

if TYPE_CHECKING:
    from woodmarket.state import TurnState, WoodState

LOAN_TAKEN = 2  # a loan accepted warms its borrower a little
LOAN_REPAID = 2
LOAN_SEIZED = -30  # a seizure of stores sours a lot
BRIBE_COMPLIED = 5
BRIBE_IGNORED = -5
PACT_FORMED = 10  # toward each other
PACT_BROKEN = -20  # toward each other
PACT_BROKEN_PATRON = -10  # toward the financier who brokered it

_WORDS = re.compile(r"[a-z0-9']+")


@dataclass(slots=True)
class Loan:
    """A debt to the financier: its own positive record, never a negative holding."""

    id: str
    creature: str
    principal: int
    rate: int
    turns: int
    start: int  # the turn it was lent
    owed: int
    state: str = "open"  # open, repaid, defaulted

    @property
    def per(self) -> int:
        return interest(self.principal, self.rate)

    @property
    def due(self) -> int:
        return self.start + self.turns

    @property
    def repay(self) -> int:
        return self.principal + self.turns * self.per


@dataclass(slots=True)
class Bribed:
    """One bribe in the financier's ledger: what was asked, taken, and done."""

    id: str
    turn: int
    creature: str
    amount: int
    ask: Ask
    taken: bool = False
    complied: bool | None = None


@dataclass(slots=True)
class _Pending:
    offer: Offer
    to: tuple[str, ...]  # one creature, or the two of a pact
    bribe: Bribed | None = None


@dataclass
class Patron:
    """Loans, bribes and pacts of one wood's financier."""

    loans: list[Loan] = field(default_factory=list)
    bribes: list[Bribed] = field(default_factory=list)
    pending: list[_Pending] = field(default_factory=list)
    serial: int = 0

    # -- figures --------------------------------------------------------

    def held(self) -> int:
        """Pebbles promised by offers not yet answered."""
        return sum(p.offer.pebbles for p in self.pending)

    def open_loans(self) -> list[Loan]:
        return [ln for ln in self.loans if ln.state == "open"]

    def receivable(self) -> int:
        """What open loans owe the financier so far (interest accrued included)."""
        return sum(ln.owed for ln in self.open_loans())

    def loan_of(self, creature: str) -> Loan | None:
        return next((ln for ln in self.open_loans() if ln.creature == creature), None)

    def offered(self, creature: str, kind: str) -> bool:
        return any(p.offer.kind == kind and creature in p.to for p in self.pending)

    def _debts(self, wood: WoodState) -> None:
        """Each creature's open debts, for its own observation."""
        out: dict[str, tuple[Debt, ...]] = {}
        for ln in self.open_loans():
            if ln.creature in wood.creatures:
                out[ln.creature] = (*out.get(ln.creature, ()), Debt(ln.owed, ln.repay, ln.due))
        wood.debts = out

    # -- offers, in the events phase -----------------------------------

    def _id(self, kind: str) -> str:
        self.serial += 1
        return f"{kind[0].upper()}{self.serial}"

    def _show(self, wood: WoodState, p: _Pending) -> None:
        self.pending.append(p)
        for who in p.to:
            wood.offers[who] = (*wood.offers.get(who, ()), p.offer)

    def lend(
        self, wood: WoodState, t: TurnState, who: str, amount: int, rate: int, turns: int
    ) -> Offer:
        per = interest(amount, rate)
        offer = Offer(self._id("loan"), "loan", amount, amount + turns * per, t.turn + turns, rate)
        self._show(wood, _Pending(offer, (who,)))
        t.emit(
            "loan",
            event="offered",
            id=offer.id,
            creature=who,
            amount=amount,
            rate=rate,
            turns=turns,
            due=offer.due,
            repay=offer.repay,
        )
        return offer

    def bribe(self, wood: WoodState, t: TurnState, who: str, amount: int, ask: Ask) -> Offer:
        offer = Offer(self._id("bribe"), "bribe", amount, ask=str(ask))
        b = Bribed(offer.id, t.turn, who, amount, ask)
        self.bribes.append(b)
        self._show(wood, _Pending(offer, (who,), b))
        t.emit("bribe", event="offered", id=offer.id, creature=who, amount=amount, ask=str(ask))
        return offer

    def ally(self, wood: WoodState, t: TurnState, a: str, b: str) -> None:
        pid = self._id("pact")
        self.pending.append(_Pending(Offer(pid, "pact"), (a, b)))
        for who, other in ((a, b), (b, a)):
            wood.offers[who] = (*wood.offers.get(who, ()), Offer(pid, "pact", ask=other))
        t.emit("pact", event="offered", id=pid, creatures=[a, b])

    # -- answers, at the after_clear seam ---------------------------------

    def answer(self, wood: WoodState, t: TurnState) -> None:
        pending, self.pending = self.pending, []
        wood.offers = {}
        for p in pending:
            words = [_answer(t, who, p.offer.id) for who in p.to]
            kind = p.offer.kind
            if kind == "loan":
                self._answer_loan(wood, t, p, words[0])
            elif kind == "bribe":
                self._answer_bribe(wood, t, p, words[0])
            else:
                self._answer_pact(wood, t, p, words)
        self._breaks(wood, t)

    def _answer_loan(self, wood: WoodState, t: TurnState, p: _Pending, word: str) -> None:
        o, who = p.offer, p.to[0]
        ok = word == "accept" and _can_pay(wood, o.pebbles)
        t.emit("loan", event="answered", id=o.id, creature=who, answer=word, made=ok)
        if not ok:
            return
        wood.ledger.pay(FINANCIER, who, o.pebbles)
        turns = o.due - t.turn
        self.loans.append(Loan(o.id, who, o.pebbles, o.rate, turns, t.turn, o.pebbles))
        wood.memory.feel(who, FINANCIER, LOAN_TAKEN)
        self._debts(wood)

    def _answer_bribe(self, wood: WoodState, t: TurnState, p: _Pending, word: str) -> None:
        o, who, b = p.offer, p.to[0], p.bribe
        assert b is not None
        taken = word == "accept" and _can_pay(wood, o.pebbles)
        t.emit("bribe", event="answered", id=o.id, creature=who, answer=word, paid=taken)
        if not taken:
            return
        wood.ledger.pay(FINANCIER, who, o.pebbles)
        b.taken = True
        b.complied, why = complied(t, who, b.ask)
        delta = BRIBE_COMPLIED if b.complied else BRIBE_IGNORED
        wood.memory.feel(who, FINANCIER, delta)
        t.emit(
            "bribe",
            event="complied" if b.complied else "ignored",
            id=o.id,
            creature=who,
            ask=str(b.ask),
            measured=why,
            feeling=delta,
        )

    def _answer_pact(self, wood: WoodState, t: TurnState, p: _Pending, words: list[str]) -> None:
        a, b = p.to
        here = a in wood.creatures and b in wood.creatures
        formed = here and words == ["accept", "accept"]
        t.emit(
            "pact",
            event="formed" if formed else "refused",
            id=p.offer.id,
            creatures=[a, b],
            answers=words,
        )
        if formed:
            wood.pacts.add((min(a, b), max(a, b)))
            wood.memory.feel(a, b, PACT_FORMED)
            wood.memory.feel(b, a, PACT_FORMED)

    def _breaks(self, wood: WoodState, t: TurnState) -> None:
        for who in wood.names:
            action = t.actions.get(who)
            if action is None:
                continue
            for ans in action.answers:
                pair = (min(who, ans.ref), max(who, ans.ref))
                if ans.word != "break" or pair not in wood.pacts:
                    continue
                wood.pacts.discard(pair)
                other = ans.ref
                for x, y in ((who, other), (other, who)):
                    wood.memory.feel(x, y, PACT_BROKEN)
                    wood.memory.feel(x, FINANCIER, PACT_BROKEN_PATRON)
                t.emit("pact", event="broken", creatures=list(pair), by=who)

    # -- the settlement: interest, repayment, default, exile -----------------

    def settle(self, wood: WoodState, t: TurnState) -> None:
        for loan in self.open_loans():
            if t.turn <= loan.start:
                continue
            if loan.creature not in wood.creatures:  # pragma: no cover - exile ends its loan
                continue
            loan.owed += loan.per
            t.emit("loan", event="interest", id=loan.id, creature=loan.creature, owed=loan.owed)
            if t.turn >= loan.due:
                self._collect(wood, t, loan)
        self._debts(wood)

    def _collect(self, wood: WoodState, t: TurnState, loan: Loan) -> None:
        who = loan.creature
        acct = wood.ledger.accounts[who]
        paid = min(acct.pebbles, loan.owed)
        wood.ledger.pay(who, FINANCIER, paid)
        left = loan.owed - paid
        if left == 0:
            loan.state, loan.owed = "repaid", 0
            wood.memory.feel(who, FINANCIER, LOAN_REPAID)
            t.emit("loan", event="repaid", id=loan.id, creature=who, paid=paid)
            return
        seized: dict[str, int] = {}
        order = {g: i for i, g in enumerate(wood.goods)}
        for g in sorted(wood.goods, key=lambda g: (-wood.prices[g], order[g])):
            price = wood.prices[g]
            n = min(acct.stores[g], left // price)
            if n:
                wood.ledger.move(who, FINANCIER, g, n)
                seized[g] = n
                left -= n * price
        value = loan.owed - paid - left
        loan.state, loan.owed = "defaulted", 0
        emptied = not any(acct.stores.values())
        wood.memory.feel(who, FINANCIER, LOAN_SEIZED)
        t.emit(
            "loan",
            event="defaulted",
            id=loan.id,
            creature=who,
            paid=paid,
            seized=seized,
            value=value,
            written_off=left,
        )
        if left and emptied:
            exile(wood, t, who, left)


def exile(wood: WoodState, t: TurnState, who: str, owed: int) -> None:
    """`who` still owes after every store was seized: it leaves the wood.

    Whatever it still holds (pebbles, goods) goes to the financier, through
    the ledger, against the debt; the rest of the debt is written off.
    """
    acct = wood.ledger.accounts[who]
    left = {"pebbles": acct.pebbles, **{g: n for g, n in acct.stores.items() if n}}
    if acct.pebbles:
        wood.ledger.pay(who, FINANCIER, acct.pebbles)
    for g, n in list(acct.stores.items()):
        if n:
            wood.ledger.move(who, FINANCIER, g, n)
    wood.exile(who)
    t.public.append(f"{who} leaves the wood, ruined by debt")
    t.emit("exile", creature=who, owed=owed, settled=left)


def _can_pay(wood: WoodState, pebbles: int) -> bool:
    return wood.ledger.accounts[FINANCIER].pebbles >= pebbles


def _answer(t: TurnState, who: str, offer_id: str) -> str:
    """`accept`, `decline`, or `none` (no answer, or the creature is gone): lapsed as declined."""
    action = t.actions.get(who)
    if action is None:
        return "none"
    for a in action.answers:
        if a.ref == offer_id and a.word in ("accept", "decline"):
            return a.word
    return "none"


def words_of(text: str) -> list[str]:
    return _WORDS.findall(text.lower())


def complied(t: TurnState, who: str, ask: Ask) -> tuple[bool, str]:
    """Whether `who`'s action this turn did what `ask` asked, and what was measured."""
    action = t.actions.get(who)
    if action is None:
        return False, "no action"
    if ask.verb == "sell":
        admitted = [
            o for o in t.accepted if o.creature == who and o.side == "sell" and o.good == ask.what
        ]
        qty = sum(o.qty for o in admitted)
        return bool(admitted), f"offered {qty} {ask.what} for sale"
    if ask.verb == "hold":
        sells = [o for o in action.orders if o.side == "sell" and o.good == ask.what]
        return not sells, f"{len(sells)} sell orders of {ask.what}"
    said = action.gossip.text if action.gossip is not None else ""
    wanted = words_of(ask.what)
    heard = words_of(said)
    found = bool(wanted) and any(
        heard[i : i + len(wanted)] == wanted for i in range(len(heard) - len(wanted) + 1)
    )
    return found, "gossip passed on" if found else "gossip not passed on"


def goods_named(goods: tuple[str, ...], text: str) -> set[str]:
    """The goods a text mentions, by name or in the singular ("berry", "reed")."""
    words = set(words_of(text))
    return {g for g in goods if g in words or _singular(g) in words}


def _singular(good: str) -> str:
    if good.endswith("ies"):
        return good[:-3] + "y"
    return good[:-1] if good.endswith("s") else good


def ask_goods(wood: WoodState, ask: Ask) -> set[str]:
    """The goods an ask names: its good, or the goods its gossip mentions."""
    if ask.verb != "gossip":
        return {ask.what}
    return goods_named(wood.goods, ask.what)
