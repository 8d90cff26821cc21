"""The ledger: the one place pebbles and goods move, and the invariants.

Every transfer, production, meal, spoilage and windfall goes through a
`Ledger` method, which keeps tallies. `check()` proves after every turn
that each good's total equals start + produced - consumed - spoiled +
windfall, and that pebbles are conserved (the house, the financier's
counterparty, is an account like any other and may go negative).
A violation raises `LedgerError` and stops the run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from woodmarket.errors import LedgerError

HOUSE = "house"


@dataclass(slots=True)
class Account:
    """Pebbles and stores of one holder. Mutated only by the Ledger."""

    pebbles: int
    stores: dict[str, int]


@dataclass(slots=True)
class Tally:
    produced: int = 0
    consumed: int = 0
    spoiled: int = 0
    windfall: int = 0


@dataclass(slots=True)
class Ledger:
    goods: tuple[str, ...]
    accounts: dict[str, Account] = field(default_factory=dict)
    tallies: dict[str, Tally] = field(default_factory=dict)
    start_goods: dict[str, int] = field(default_factory=dict)
    start_pebbles: int = 0

    def __post_init__(self) -> None:
        for g in self.goods:
            self.tallies.setdefault(g, Tally())
            self.start_goods.setdefault(g, 0)

    def open(self, name: str, pebbles: int, stores: dict[str, int] | None = None) -> Account:
        """Open an account; its opening balance counts as part of the start."""
        if name in self.accounts:
            raise LedgerError(f"account {name!r} already open")
        stock = {g: 0 for g in self.goods}
        for g, n in (stores or {}).items():
            stock[g] = n
            self.start_goods[g] += n
        self.start_pebbles += pebbles
        acct = self.accounts[name] = Account(pebbles, stock)
        return acct

    def _take_pebbles(self, name: str, n: int) -> None:
        acct = self.accounts[name]
        if acct.pebbles < n and name != HOUSE:
            raise LedgerError(f"{name} would overdraw: has {acct.pebbles} pebbles, owes {n}")
        acct.pebbles -= n

    def _take_goods(self, name: str, good: str, n: int) -> None:
        stock = self.accounts[name].stores
        if stock[good] < n:
            raise LedgerError(f"{name} would overdraw {good}: has {stock[good]}, gives {n}")
        stock[good] -= n

    def pay(self, payer: str, payee: str, n: int) -> None:
        if n < 0:
            raise LedgerError(f"negative payment {n} from {payer} to {payee}")
        self._take_pebbles(payer, n)
        self.accounts[payee].pebbles += n

    def move(self, giver: str, taker: str, good: str, n: int) -> None:
        if n < 0:
            raise LedgerError(f"negative move of {n} {good} from {giver} to {taker}")
        self._take_goods(giver, good, n)
        self.accounts[taker].stores[good] += n

    def produce(self, name: str, good: str, n: int) -> None:
        self.accounts[name].stores[good] += n
        self.tallies[good].produced += n

    def consume(self, name: str, good: str, n: int) -> None:
        self._take_goods(name, good, n)
        self.tallies[good].consumed += n

    def spoil(self, name: str, good: str, n: int) -> None:
        self._take_goods(name, good, n)
        self.tallies[good].spoiled += n

    def windfall(self, name: str, good: str, n: int) -> None:
        """Authored goods from outside the economy (a legend's glut)."""
        self.accounts[name].stores[good] += n
        self.tallies[good].windfall += n

    def total_pebbles(self, names: Iterable[str] | None = None) -> int:
        names = self.accounts if names is None else names
        return sum(self.accounts[n].pebbles for n in names)

    def total_goods(self, good: str) -> int:
        return sum(a.stores[good] for a in self.accounts.values())

    def check(self, turn: int) -> None:
        """Conservation of pebbles and of every good; nobody below zero.

        One pass over the accounts: it runs every turn, over every holder.
        """
        total = 0
        held = dict.fromkeys(self.goods, 0)
        for name, acct in self.accounts.items():
            if acct.pebbles < 0 and name != HOUSE:
                raise LedgerError(f"turn {turn}: {name} has {acct.pebbles} pebbles")
            total += acct.pebbles
            for g, n in acct.stores.items():
                if n < 0:
                    raise LedgerError(f"turn {turn}: {name} holds {n} {g}")
                held[g] += n
        if total != self.start_pebbles:
            raise LedgerError(
                f"turn {turn}: pebbles not conserved: {total} held, {self.start_pebbles} expected"
            )
        for g in self.goods:
            t = self.tallies[g]
            expected = self.start_goods[g] + t.produced - t.consumed - t.spoiled + t.windfall
            if held[g] != expected:
                raise LedgerError(
                    f"turn {turn}: {g} not conserved: {held[g]} held, {expected} expected"
                )
