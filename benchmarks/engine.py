"""Engine speed with the stand-in: turns per second and cost per creature-turn, by size.

    .venv/bin/python benchmarks/engine.py [--turns N] [--scenarios KEY,KEY]

For each bundled scenario, woods of its own size and of 100 and 1,000
creatures (its creatures cloned, names suffixed, so the economy keeps its
shape) run a warm-up, then a timed stretch of turns, with the trace off
and on (on: every record serialised as the run folder's trace.jsonl line
would be). Each figure is printed with its ratio to the scenario's own
size measured in the same process, so growth with size reads the same on
a fast machine and a slow one; the CPU model is printed too. To compare
two versions of the code, run this script from each checkout, back to
back, on the same machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from woodmarket.provenance import cpu_model
from woodmarket.scenario import Scenario, bundled_scenarios, load_scenario
from woodmarket.traces import dumps
from woodmarket.wood import Wood


def scaled(key: str, n: int) -> Scenario:
    base = load_scenario(key)
    k = len(base.creatures)
    creatures = []
    for i in range(n):
        spec = base.creatures[i % k]
        name = spec.name if i < k else f"{spec.name}-{i // k}"
        creatures.append(dataclasses.replace(spec, name=name))
    return dataclasses.replace(base, creatures=tuple(creatures))


def measure(scenario: Scenario, turns: int, trace: bool) -> tuple[float, float]:
    """(turns per second, seconds per creature-turn) over `turns` warm turns."""
    wood = Wood(scenario, seed=1)
    if trace:
        wood.listeners.append(lambda t: "".join(dumps(r) + "\n" for r in t.records))
    for _ in range(3):
        wood.step()
    start = time.perf_counter()
    for _ in range(turns):
        wood.step()
    elapsed = time.perf_counter() - start
    return turns / elapsed, elapsed / (turns * len(scenario.creatures))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=0, help="turns per size (default: scaled)")
    ap.add_argument("--scenarios", default=",".join(bundled_scenarios()))
    args = ap.parse_args()
    print(f"CPU: {cpu_model()}")
    cols = ("scenario", "trace", "creatures", "turns/s", "us/creature-turn", "x own size")
    widths = (9, 5, 9, 9, 16, 10)
    print("  ".join(f"{c:>{w}}" for c, w in zip(cols, widths, strict=True)))
    for key in args.scenarios.split(","):
        own = len(load_scenario(key).creatures)
        for trace in (False, True):
            base = None
            for n in (own, 100, 1000):
                turns = args.turns or max(20, 20000 // n)
                rate, per = measure(scaled(key, n), turns, trace)
                base = base or per
                print(
                    f"{key:>9}  {'on' if trace else 'off':>5}  {n:>9}  {rate:>9.0f}  "
                    f"{per * 1e6:>16.1f}  {per / base:>10.2f}"
                )


if __name__ == "__main__":
    main()
