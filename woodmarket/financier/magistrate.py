"""The magistrate: a public referee whose heat on the financier rises with insider wins.

The rule is data, the scenario's `[magistrate]` table (`MagistrateSpec`,
documented in docs/scenarios.md and docs/financier.md). In short:

- a **win** is variation margin the house pays the financier on a short
  of GOOD (at a settlement, or at a cover);
- the financier's **levers** on GOOD: a legend sprung whose target is
  GOOD, a whisper (tip or rumor) that names GOOD, a bribe taken whose ask
  names GOOD; a win counts a lever pulled within `window` turns before it
  (the win's own turn included);
- at each settlement heat first **cools** by `cool` (never below 0), then
  rises, for each win, by ceil(win x PCT / 100) for each kind of lever
  behind it (`spring_pct`, `whisper_pct`, `bribe_pct`);
- a settlement that raised heat to `fine_at` or more **fines** the
  financier `fine_pct` percent (rounded up) of that settlement's
  suspicious wins, at most its pebbles, into the public purse (a ledger
  account, `purse`, opened at the first fine); to `freeze_at` or more it
  **freezes** the account for `freeze_turns` turns: new commands are
  refused, with the turns left, while marks and forced covers still run.
  A threshold of 0 is off.

The magistrate's rulings are public headlines that name the financier
only, never a bribe's recipient nor its ask. This room moves pebbles only
from the financier to the purse, through the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from woodmarket.financier.book import FINANCIER
from woodmarket.rules import ceil_pct

if TYPE_CHECKING:
    from woodmarket.scenario import MagistrateSpec
    from woodmarket.state import TurnState, WoodState

PURSE = "purse"
LEVERS = ("spring", "whisper", "bribe")


@dataclass
class Magistrate:
    """The heat on one wood's financier, and its rulings."""

    spec: MagistrateSpec
    heat: int = 0
    frozen_until: int = 0  # the last turn whose commands are refused
    fined: int = 0  # pebbles fined in all
    # (turn, lever, good): what the financier did that a win may follow.
    levers: list[tuple[int, str, str]] = field(default_factory=list)

    def note(self, turn: int, lever: str, goods: set[str] | list[str]) -> None:
        for g in sorted(goods):
            self.levers.append((turn, lever, g))

    def behind(self, turn: int, good: str) -> list[str]:
        """The kinds of lever on `good` pulled within the window before `turn`."""
        lo = turn - self.spec.window
        found = {lv for t, lv, g in self.levers if g == good and lo <= t <= turn}
        return [lv for lv in LEVERS if lv in found]

    def frozen(self, turn: int) -> int:
        """Turns the account stays frozen, counting `turn`; 0 when it is free."""
        return max(0, self.frozen_until - turn + 1)

    def settle(self, wood: WoodState, t: TurnState, wins: list[tuple[str, int]]) -> None:
        spec = self.spec
        before = self.heat
        self.heat = max(0, self.heat - spec.cool)
        pct = {"spring": spec.spring_pct, "whisper": spec.whisper_pct, "bribe": spec.bribe_pct}
        drawn: list[dict[str, Any]] = []
        suspicious = 0
        for good, gain in wins:
            kinds = self.behind(t.turn, good)
            added = sum(ceil_pct(gain, pct[k]) for k in kinds)
            if added:
                drawn.append({"good": good, "win": gain, "levers": kinds, "heat": added})
                suspicious += gain
                self.heat += added
        if self.heat != before or drawn:
            t.emit("magistrate", event="heat", heat=self.heat, before=before, wins=drawn)
        raised = bool(drawn)
        if raised and spec.fine_at and self.heat >= spec.fine_at:
            self._fine(wood, t, ceil_pct(suspicious, spec.fine_pct))
        if raised and spec.freeze_at and self.heat >= spec.freeze_at and spec.freeze_turns:
            self.frozen_until = t.turn + spec.freeze_turns
            t.public.append(
                f"The magistrate freezes the financier's account for {spec.freeze_turns} turns"
            )
            t.emit(
                "magistrate",
                event="frozen",
                heat=self.heat,
                turns=spec.freeze_turns,
                until=self.frozen_until,
            )

    def _fine(self, wood: WoodState, t: TurnState, amount: int) -> None:
        ledger = wood.ledger
        if PURSE not in ledger.accounts:
            ledger.open(PURSE, 0)
        paid = min(amount, ledger.accounts[FINANCIER].pebbles)
        ledger.pay(FINANCIER, PURSE, paid)
        self.fined += paid
        t.public.append(
            f"The magistrate fines the financier {paid} pebbles for suspicious winnings"
        )
        t.emit("magistrate", event="fined", heat=self.heat, fine=paid, asked=amount)
