"""Seat the labs by measurement: which model should drive which creature in a council.

    .venv/bin/woodmarket sweep --world single:qwen:rumor --world single:qwen:glut \\
        --world single:qwen:settle ... (each bundled model, the article's mechanisms) \\
        --seeds 3 --turns 6 --workers 1 --no-calibrate --no-plots --out runs/seating/singles
    .venv/bin/python benchmarks/seating.py runs/seating/singles [--check runs/seating/council3]

From sweeps of each bundled model alone over the article's worlds, for
every creature and model: the share of its decisions that were valid
actions, and the mean wall time of its calls (the sweep's
`timings.jsonl`, one call at a time). A seating gives each creature of
the scenario, in order, one model, every lab at least one seat; it
qualifies when every seat's creature was valid in 99% of its decisions
or more under that model, and the qualifying seating with the least
serial turn time (the sum of its seats' mean call times: a reproducible
sweep asks one creature at a time) is the one to seat. `--models` names
the council's candidates, one per lab (say the Q4_0 SmolLM2, Gemma and
Qwen); every one of them must have a seat. Measure every model the same
way (one sweep, or sweeps pinned alike: `taskset -c 1`), or the call
times compare the machine's load, not the models. `--check DIR`
reads a sweep of the seated council itself and prints each seat's
validity there, where the market the creatures meet is the council's.

Printed with the CPU model. Call times come from runs on one machine at
one time; compare seatings, not machines.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
from collections import defaultdict
from pathlib import Path

from woodmarket.provenance import cpu_model
from woodmarket.spec import RunSpec

VALID = 0.99


def runs_of(folder: Path) -> list[Path]:
    return sorted(p.parent for p in folder.glob("runs/*/*/run.json"))


def seat_table(folders: list[Path]) -> dict[tuple[str, str], dict[str, float]]:
    """(model, creature) -> decisions, valid share and mean call ms, over the folders' runs."""
    valid: dict[tuple[str, str], list[bool]] = defaultdict(list)
    ms: dict[tuple[str, str], list[float]] = defaultdict(list)
    for folder in folders:
        for run in runs_of(folder):
            meta = json.loads((run / "run.json").read_text())
            seats = meta["provenance"]["seats"]
            for line in (run / "trace.jsonl").read_text().splitlines():
                r = json.loads(line)
                if r["kind"] == "decision" and r.get("policy") == "llm":
                    valid[(seats[r["creature"]]["model"], r["creature"])].append(bool(r["valid"]))
            timings = run / "timings.jsonl"
            for line in timings.read_text().splitlines() if timings.exists() else ():
                t = json.loads(line)
                if "latency_ms" in t:
                    ms[(seats[t["creature"]]["model"], t["creature"])].append(t["latency_ms"])
    return {
        key: {
            "n": len(v),
            "valid": sum(v) / len(v),
            "ms": statistics.fmean(ms[key]) if ms.get(key) else float("nan"),
        }
        for key, v in valid.items()
    }


def seatings(
    table: dict[tuple[str, str], dict[str, float]], creatures: list[str], models: list[str]
):
    """Every seating of `models` with each at least once: (serial turn ms, qualifies, models)."""
    out = []
    for combo in itertools.product(models, repeat=len(creatures)):
        if set(combo) != set(models):
            continue
        cells = [table.get((m, c)) for m, c in zip(combo, creatures, strict=True)]
        if any(cell is None for cell in cells):
            continue
        ok = all(cell["valid"] >= VALID for cell in cells if cell)
        out.append((sum(cell["ms"] for cell in cells if cell), ok, combo))
    return sorted(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("singles", nargs="+", type=Path, help="sweeps of each model alone")
    ap.add_argument("--check", type=Path, help="a sweep of the seated council")
    ap.add_argument(
        "--models", default="", help="the council's models, one per lab (default: all measured)"
    )
    args = ap.parse_args()
    print(f"CPU: {cpu_model()}")
    table = seat_table(args.singles)
    first = runs_of(args.singles[0])[0]
    spec = RunSpec.from_dict(json.loads((first / "run.json").read_text()))
    creatures = [c.name for c in spec.load_scenario().creatures]  # the seating's order
    models = sorted({m for m, _ in table})
    print(f"\n{'creature':<10}" + "".join(f"{m:>26}" for m in models))
    for c in creatures:
        row = f"{c:<10}"
        for m in models:
            cell = table.get((m, c))
            row += (
                f"{cell['valid']:>8.1%} of {cell['n']:<4} {cell['ms']:>7.0f} ms"
                if cell
                else f"{'-':>26}"
            )
        print(row)
    council = args.models.split(",") if args.models else models
    ranked = seatings(table, creatures, council)
    good = [s for s in ranked if s[1]]
    print(
        f"\n{len(ranked)} seatings of {', '.join(council)}, each seated; "
        f"{len(good)} at {VALID:.0%} valid or more"
    )
    for ms, _, combo in (good or ranked)[:5]:
        print(
            f"  {ms:>7.0f} ms a turn  "
            + ", ".join(f"{c}: {m}" for c, m in zip(creatures, combo, strict=True))
        )
    if args.check:
        seen = seat_table([args.check])
        print(f"\nin the council itself ({args.check}):")
        for (m, c), cell in sorted(seen.items(), key=lambda kv: creatures.index(kv[0][1])):
            flag = "" if cell["valid"] >= VALID else "  below"
            print(f"  {c:<10} {m:<14} {cell['valid']:>7.1%} of {cell['n']:<4}{flag}")


if __name__ == "__main__":
    main()
