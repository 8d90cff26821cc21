"""The PettingZoo wrapper's cost: environment steps per second against the bare wood's turns.

    .venv/bin/python benchmarks/env.py [--turns N] [--repeats R] [SCENARIO ...]

For every bundled scenario (or the scenarios named), three loops play the same stand-in economy:

- bare: `Wood.step()` with every creature on the stand-in;
- all external: `parallel_env` with every creature an agent, each agent
  deciding exactly as the stand-in would (the same policy on the same
  random stream) and sending its decision encoded in the action space;
- one external: the first creature an agent (likewise), the rest stand-ins.

So the market, the decisions and the trace are the same in all three, and
the difference is the wrapper: encoding and decoding actions, checking
them, building observations, rewards and infos. Whole episodes are timed,
building the wood (bare) or resetting the environment included. Each figure is printed as
a ratio to the bare wood's turns per second measured in the same run
(interleaved, best of R), so it means the same on a fast and a slow
machine. Times are this process's CPU time, so other work on a shared
machine disturbs them less. The aim: the wrapper adds at most 30% to a
turn (ratio >= 0.77).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from woodmarket.env import WoodEnv, parallel_env
from woodmarket.policies.standin import StandinPolicy
from woodmarket.provenance import cpu_model
from woodmarket.scenario import bundled_scenarios, load_scenario
from woodmarket.wood import Wood

AIM = 1 / 1.3


def bare(key: str, turns: int) -> float:
    """Seconds for `turns` turns of the stand-in wood: whole episodes, building each wood."""
    sc = load_scenario(key)
    done, seed = 0, 0
    start = time.process_time()
    while done < turns:
        wood = Wood(sc, seed)
        for _ in range(min(sc.turns, turns - done)):
            wood.step()
            done += 1
        wood.close()
        seed += 1
    return time.process_time() - start


def wrapped(e: WoodEnv, turns: int) -> float:
    """Seconds for `turns` environment steps, agents deciding as the stand-in; resets counted."""
    done, seed = 0, 0
    start = time.process_time()
    while done < turns:
        e.reset(seed=seed)
        assert e.wood is not None
        agents = {a: StandinPolicy(e.wood.rng("policy", a)) for a in e.agents}
        while e.agents and done < turns:
            actions = {
                a: e.encode(a, p.decide(e.creature_observation(a))) for a, p in agents.items()
            }
            e.step(actions)
            done += 1
        seed += 1
    elapsed = time.process_time() - start
    e.close()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--turns", type=int, default=3000, help="turns per loop (default 3000)")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved repeats; best kept")
    ap.add_argument("scenarios", nargs="*", help="keys or paths (default: every bundled one)")
    args = ap.parse_args()
    print(f"CPU: {cpu_model()}")
    cols = ("scenario", "loop", "steps/s", "x bare", "overhead")
    print("  ".join(f"{c:>{w}}" for c, w in zip(cols, (10, 14, 9, 7, 9), strict=True)))
    worst = float("inf")
    for key in args.scenarios or bundled_scenarios():
        sc = load_scenario(key)
        first = sc.creatures[0].name
        loops = {
            "bare wood": lambda key=key: bare(key, args.turns),
            "all external": lambda key=key: wrapped(parallel_env(key), args.turns),
            "one external": lambda key=key, first=first: wrapped(
                parallel_env(key, agents=[first]), args.turns
            ),
        }
        best = dict.fromkeys(loops, float("inf"))
        for _ in range(args.repeats):
            for name, loop in loops.items():
                best[name] = min(best[name], loop())
        base = args.turns / best["bare wood"]
        for name in loops:
            rate = args.turns / best[name]
            ratio = rate / base
            if name != "bare wood":
                worst = min(worst, ratio)
            over = f"{(1 / ratio - 1) * 100:+.0f}%"
            print(f"{Path(key).stem:>10}  {name:>14}  {rate:>9.0f}  {ratio:>7.2f}  {over:>9}")
    verdict = "met" if worst >= AIM else "missed"
    print(f"aim (wrapper adds at most 30% to a turn, x bare >= {AIM:.2f}): {verdict}")


if __name__ == "__main__":
    main()
