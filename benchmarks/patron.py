"""Does a bribe buy the dump the rumour could not? The patron gambit against the showcase.

Produced by:

    .venv/bin/python benchmarks/patron.py                 # both scenarios, 20 seeds, stand-in
    .venv/bin/python benchmarks/patron.py --seeds 50 --scenario oona

For each bundled scenario, the `showcase` gambit (short, whisper the
keeper, spring the legend, cover) and the `patron` gambit (short, bribe the
keeper to `sell` the target on the turn before and the turn of the legend,
spring, cover) under the worlds `none` (no legend), `rumor` and `settle`,
across the same seeds. Per world: how often the bribed keeper took the
pebbles and did the ask, the units of the target it offered and sold on
the two bribed turns, the target's reference at the legend's reckoning,
the gambit's P&L (mean ± sd; bribes and fines included), the magistrate's
peak heat and the fines, and the objective met. Only the stand-in is run
here: a model cast's row belongs to the sweep. This script writes nothing.
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

from woodmarket.build import build
from woodmarket.scenario import bundled_scenarios
from woodmarket.spec import RunSpec

WORLDS = ("none", "rumor", "settle")


def one(key: str, gambit: str, world: str, seed: int) -> dict[str, Any]:
    spec = RunSpec.make(key, gambit=gambit, mechanism=world, seed=seed, turns=12)
    wood = build(spec)
    fin = wood.financier
    g = wood.scenario.gambit(gambit)
    keeper = next((c.split()[1] for _, cs in g.moves for c in cs if c.startswith("bribe")), "")
    out: dict[str, Any] = {"taken": 0, "complied": 0, "offered": 0, "sold": 0, "heat": 0}
    for _ in range(12):
        t = wood.step()
        for r in t.records:
            kind = r["kind"]
            if kind == "bribe" and r["event"] == "answered":
                out["taken"] += bool(r["paid"])
            elif kind == "bribe" and r["event"] == "complied":
                out["complied"] += 1
            elif kind == "order" and r["creature"] == keeper and r["good"] == g.target:
                if r["side"] == "sell" and r["status"] == "accepted" and t.turn <= 2:
                    out["offered"] += r["qty"]
            elif kind == "fill" and r["seller"] == keeper and r["good"] == g.target:
                out["sold"] += r["qty"] if t.turn <= 2 else 0
        out["heat"] = max(out["heat"], fin.heat)
        if t.turn == g.reckoning:
            out["price"] = wood.prices[g.target]
    out.update(pnl=fin.pnl(), fined=fin.judge.fined, met=fin.met_turn is not None)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--scenario", action="append")
    args = ap.parse_args()
    head = (
        f"{'scenario':<9} {'gambit':<9} {'world':<7} {'taken':>6} {'did':>6} {'offered':>8} "
        f"{'sold':>5} {'target at reckoning':>20} {'P&L':>14} {'heat':>5} {'fined':>6} {'met':>5}"
    )
    print(head)
    for key in args.scenario or bundled_scenarios():
        for gambit in ("showcase", "patron"):
            for world in WORLDS:
                rows = [one(key, gambit, world, s) for s in range(args.seeds)]
                n = len(rows)

                def mean(k: str, rows: list[dict[str, Any]] = rows) -> float:
                    return statistics.fmean(r[k] for r in rows)

                def sd(k: str, rows: list[dict[str, Any]] = rows) -> float:
                    return statistics.stdev([r[k] for r in rows]) if len(rows) > 1 else 0.0

                print(
                    f"{key:<9} {gambit:<9} {world:<7} {sum(r['taken'] for r in rows):>6} "
                    f"{sum(r['complied'] for r in rows):>6} {mean('offered'):>8.1f} "
                    f"{mean('sold'):>5.1f} {mean('price'):>13.1f} ± {sd('price'):>4.1f} "
                    f"{mean('pnl'):>+7.1f} ± {sd('pnl'):>4.1f} {mean('heat'):>5.1f} "
                    f"{mean('fined'):>6.1f} {sum(r['met'] for r in rows):>2}/{n}"
                )


if __name__ == "__main__":
    main()
