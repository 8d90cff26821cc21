"""Run metrics: the figures a run's summary reports, from its records.

Valid action share, self-buys (buying what one makes), trades per turn,
Gini of creature wealth at start and end, as the original field notes
reported them (75/75 valid; 3 to 9 trades a turn; Gini 0.14 -> 0.38).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from woodmarket.state import WoodState


def gini(values: Sequence[float]) -> float:
    """Gini coefficient of non-negative values; 0 for equal or empty."""
    xs = sorted(max(0.0, float(v)) for v in values)
    n, total = len(xs), sum(xs)
    if n == 0 or total == 0:
        return 0.0
    weighted = sum((i + 1) * x for i, x in enumerate(xs))
    return round((2 * weighted) / (n * total) - (n + 1) / n, 4)


def creature_wealth(wood: WoodState) -> dict[str, int]:
    return {n: wood.wealth(n) for n in wood.names}


class Tracker:
    """A listener that accumulates the summary's figures turn by turn."""

    def __init__(self, wood: WoodState) -> None:
        self.wood = wood
        self.start_wealth = creature_wealth(wood)
        # What each creature makes never changes: buying it counts as a self-buy.
        self.produces = {c.name: set(c.spec.produces) for c in wood.creatures.values()}
        self.decisions = 0
        self.valid = 0
        self.self_buys = 0
        self.trades: list[int] = []
        self.headlines: list[str] = []
        self.reasons: dict[str, int] = {}

    def __call__(self, turn: Any) -> None:
        self.observe(turn.records)

    def observe(self, records: Iterable[dict[str, Any]]) -> None:
        fills = 0
        for r in records:
            kind = r["kind"]
            if kind == "decision":
                self.decisions += 1
                self.valid += bool(r["valid"])
                if not r["valid"]:
                    key = r["reason"].split(":")[0][:60]
                    self.reasons[key] = self.reasons.get(key, 0) + 1
                self.self_buys += sum(
                    1
                    for o in r["offers"]
                    if o["side"] == "buy" and o["good"] in self.produces.get(r["creature"], ())
                )
            elif kind == "fill":
                fills += 1
            elif kind == "headline":
                self.headlines.append(r["text"])
        self.trades.append(fills)

    def summary(self) -> dict[str, Any]:
        wood = self.wood
        end = creature_wealth(wood)
        return {
            "turns": wood.turn,
            "valid_actions": self.valid,
            "decisions": self.decisions,
            "valid_share": round(self.valid / self.decisions, 4) if self.decisions else None,
            "invalid_reasons": dict(sorted(self.reasons.items())),
            "self_buys": self.self_buys,
            "trades_per_turn": self.trades,
            "gini_start": gini(list(self.start_wealth.values())),
            "gini_end": gini(list(end.values())),
            "wealth_start": self.start_wealth,
            "wealth_end": end,
            "prices_end": dict(wood.prices),
            "headlines": self.headlines,
        }
