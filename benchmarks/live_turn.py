"""Live turn speed on the bundled models: where a five-creature turn's time goes.

    .venv/bin/python benchmarks/live_turn.py [--turns N] [--casts CAST,CAST,...]

For each cast it runs one cold turn (the static prompt prefixes enter each
slot's cache) and then N warm turns, and prints for the warm turns: median
and p90 turn latency, decisions per second, new (uncached) and cached
prompt tokens per creature-turn, generated tokens per creature-turn, the
share of valid actions, and the share of turn time spent inside llama.cpp
(the union of the intervals in which any model call was running) versus
our own code (everything else: observations, prompts, grammar, parsing,
the market and living).

Measured on a quiet 2-core machine (`--turns 6`, seed 1):

               cast  median s   p90 s   dec/s  new tok  cached  gen tok   valid  llama.cpp
     single:smollm2      1.36    1.44     3.7       41     239     14.6    100%       100%
      single:gemma3      1.87    2.19     2.5       41     229     14.6    100%       100%
            council      1.44    1.51     3.4       41     236     14.8    100%       100%

Where a warm council turn goes (llama.cpp's own `timings`): both servers
run at once on the two cores, so the turn ends when SmolLM2's three slots
are done. Their prompts take most of it (about 7 ms a new token while
Gemma also runs: its Q4_1 weights have no repacked CPU kernels, Gemma's
Q4_K_M do), then about 15 generation steps of some 35 ms; Gemma's two
slots spend about 0.3 s on prompts and 0.9 s generating (its 262k-token
vocabulary makes each step dear). Total CPU work is the limit: splitting
threads between the servers, polling, flash attention, a unified KV cache
and n-gram speculative decoding did not shorten a turn.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

from woodmarket.backends.embedded import close_all
from woodmarket.runner import build_wood
from woodmarket.scenario import load_scenario
from woodmarket.types import Completion, CompletionRequest


class Timed:
    """Wraps a backend and records when each call ran."""

    def __init__(self, inner, log: list[tuple[float, float]]) -> None:
        self.inner, self.log, self.lock = inner, log, threading.Lock()

    def complete(self, request: CompletionRequest) -> Completion:
        start = time.perf_counter()
        try:
            return self.inner.complete(request)
        finally:
            with self.lock:
                self.log.append((start, time.perf_counter()))


def union(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for a, b in sorted(intervals):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


def p90(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.9 * (len(xs) - 1)))]


def bench(cast: str, turns: int, seed: int) -> dict[str, float]:
    wood = build_wood(load_scenario("oona"), seed, None, {"cast": cast})
    log: list[tuple[float, float]] = []
    for p in wood.policies.values():
        if hasattr(p, "backend"):
            p.backend = Timed(p.backend, log)
    wood.step()  # cold: prefixes enter the slots' caches
    walls, inside = [], []
    new = cached = gen = valid = calls = 0
    for _ in range(turns):
        log.clear()
        start = time.perf_counter()
        t = wood.step()
        walls.append(time.perf_counter() - start)
        inside.append(union(log))
        for a in t.actions.values():
            valid += a.valid
            if a.call is not None:
                calls += 1
                new += a.call.prompt_tokens - a.call.cached_tokens
                cached += a.call.cached_tokens
                gen += a.call.generated_tokens
    close_all()
    n = len(wood.names) * turns
    return {
        "median_s": statistics.median(walls),
        "p90_s": p90(walls),
        "decisions_per_s": n / sum(walls),
        "new_tokens": new / max(calls, 1),
        "cached_tokens": cached / max(calls, 1),
        "generated_tokens": gen / max(calls, 1),
        "valid": valid / n,
        "llama_share": sum(inside) / sum(walls),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=6)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--casts", default="single:smollm2,single:gemma3,council")
    args = ap.parse_args()
    cols = ("cast", "median s", "p90 s", "dec/s", "new tok", "cached", "gen tok", "valid")
    cols += ("llama.cpp",)
    widths = (15, 8, 6, 6, 7, 6, 7, 6, 9)
    print("  ".join(f"{c:>{w}}" for c, w in zip(cols, widths, strict=True)))
    for cast in args.casts.split(","):
        r = bench(cast, args.turns, args.seed)
        row = (
            cast,
            f"{r['median_s']:.2f}",
            f"{r['p90_s']:.2f}",
            f"{r['decisions_per_s']:.1f}",
            f"{r['new_tokens']:.0f}",
            f"{r['cached_tokens']:.0f}",
            f"{r['generated_tokens']:.1f}",
            f"{r['valid']:.0%}",
            f"{r['llama_share']:.0%}",
        )
        print("  ".join(f"{c:>{w}}" for c, w in zip(row, widths, strict=True)), flush=True)


if __name__ == "__main__":
    main()
