"""Benchmark of the embedded backend: one creature's call, cold and warm, per bundled model.

Produced by:

    .venv/bin/python benchmarks/backend.py            # both models, 7 repetitions
    .venv/bin/python benchmarks/backend.py --reps 3 --models smollm2

For each model: median latency of a ~120-token prompt plus exactly 16
generated tokens, *cold* (nothing of the prompt cached in the slot) and
*warm* (the static system prefix cached in the slot from the previous
request, as for a creature pinned to its slot turn after turn); prompt and
generation speed from llama.cpp's own timings; and the wall time of one
warm five-creature turn (five slots, five threads, like the engine). This
script only reads the models and prints; it writes nothing.

Measured on the 2-core development machine with nothing else running
(two runs agreed within about 15%):

    model    prompt cached  cold ms  warm ms prompt tok/s gen tok/s 5-creature turn ms
    smollm2     138    103      618      262          310       115               1103
    gemma3      131     98      463      272          514        83               1176

Other processes on the cores distort this badly (llama.cpp's threads wait on
each other at every step): close them, or the figures mean nothing.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import uuid
from typing import Any

from woodmarket.backends._chat import chat_body
from woodmarket.backends.embedded import EmbeddedBackend, default_threads
from woodmarket.models import MODELS
from woodmarket.types import CompletionRequest

GENERATED = 16
CREATURES = 5
# About 100 tokens of static prefix; with the turn line, about 120 in all.
SYSTEM = (
    "You are Oona, an old owl who keeps the honey of the wood. You live among five "
    "creatures who trade acorns, berries, mushrooms, honey and firewood for pebbles. "
    "You produce honey, so you never buy it. Each turn you may place up to two orders. "
    "Write one action per line: buy GOOD QTY PRICE, sell GOOD QTY PRICE, or hold. "
    "Example: sell honey 2 9. Keep enough firewood for winter."
)


def turn_text(i: int) -> str:
    return f"Turn {i}. You have 40 pebbles, 6 honey, 1 acorn. Acorns 4, berries 5. Act."


def call(backend: EmbeddedBackend, system: str, user: str, slot: int) -> dict[str, Any]:
    body = chat_body(
        CompletionRequest(system=system, user=user, max_tokens=GENERATED, slot=slot),
        model=backend.name,
    )
    body["ignore_eos"] = True  # always exactly GENERATED tokens, so runs compare
    start = time.perf_counter()
    payload = backend.chat(body)
    payload["wall_ms"] = (time.perf_counter() - start) * 1000
    if "error" in payload:
        raise SystemExit(f"{backend.name}: {payload['error']}")
    return payload


def bench(key: str, reps: int, threads: int) -> dict[str, float]:
    backend = EmbeddedBackend(key, CREATURES, n_ctx=1024, threads=threads)
    try:
        call(backend, SYSTEM, turn_text(0), slot=0)  # warm-up: first-call allocations
        cold, warm, prompt_tps, gen_tps, cached = [], [], [], [], []
        for i in range(reps):
            # A unique first line: no prefix of this prompt is in any cache.
            r = call(backend, f"Wood {uuid.uuid4().hex[:8]}.\n{SYSTEM}", turn_text(i), slot=1)
            cold.append(r["wall_ms"])
            t = r["timings"]
            prompt_tps.append(t["prompt_n"] / t["prompt_ms"] * 1000)
            gen_tps.append(t["predicted_n"] / t["predicted_ms"] * 1000)
        call(backend, SYSTEM, turn_text(0), slot=2)  # the creature's first turn
        for i in range(1, reps + 1):
            r = call(backend, SYSTEM, turn_text(i), slot=2)
            warm.append(r["wall_ms"])
            cached.append(r["usage"]["prompt_tokens_details"]["cached_tokens"])
        prompt_tokens = r["usage"]["prompt_tokens"]

        turns = []
        for i in range(reps):
            start = time.perf_counter()
            workers = [
                threading.Thread(target=call, args=(backend, SYSTEM, turn_text(i + s), s))
                for s in range(CREATURES)
            ]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            turns.append((time.perf_counter() - start) * 1000)
    finally:
        backend.close()
    return {
        "prompt": prompt_tokens,
        "cached": statistics.median(cached),
        "cold": statistics.median(cold),
        "warm": statistics.median(warm),
        "prompt_tps": statistics.median(prompt_tps),
        "gen_tps": statistics.median(gen_tps),
        "turn": statistics.median(turns),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--threads", type=int, default=default_threads())
    args = parser.parse_args()
    print(
        f"embedded llama.cpp, {args.threads} threads, {GENERATED} generated tokens, "
        f"median of {args.reps}"
    )
    header = (
        f"{'model':<8} {'prompt':>6} {'cached':>6} {'cold ms':>8} {'warm ms':>8} "
        f"{'prompt tok/s':>12} {'gen tok/s':>9} {'5-creature turn ms':>18}"
    )
    print(header)
    print("-" * len(header))
    for key in args.models:
        r = bench(key, args.reps, args.threads)
        print(
            f"{key:<8} {r['prompt']:>6} {r['cached']:>6.0f} {r['cold']:>8.0f} {r['warm']:>8.0f} "
            f"{r['prompt_tps']:>12.0f} {r['gen_tps']:>9.0f} {r['turn']:>18.0f}"
        )


if __name__ == "__main__":
    main()
