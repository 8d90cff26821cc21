"""SmolLM2 Q4_0 (made here) against the bundled Q4_1 on a creature's real requests, A/B in one run.

    .venv/bin/python benchmarks/requant.py [--reps 3] [--turns 3] [--scenario oona]
    .venv/bin/python benchmarks/requant.py --models smollm2 gemma3   # any two registry keys

The requests are what the llm policy sends: every creature's prompt,
grammar and greedy sampling, built from the observations of a short
stand-in run of the scenario (`probe.creature_requests`), the same
requests for both models. Each model gets its own in-process server (one
slot per creature, the game's context, this process's threads), both
loaded at once; every request goes to one model and then straight away
to the other (the order swapped each repetition), so whatever else runs
on the cores burdens both alike. Two ways:

- cold: nothing cached (`cache_prompt` off), the whole prompt is read:
  prompt speed, from llama.cpp's own timings;
- warm: as in the game, each creature pinned to its slot, turn after
  turn, so only what is new since its last turn is read (the first
  turn's requests fill the slots and are not counted).

Printed per model and way: median prompt tokens read, prompt tok/s,
generated tokens, generation tok/s (under the grammar), and ms per
request; then B against A as the median of the per-request ratios (each
pair ran back to back), with the CPU model. It writes nothing.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace
from typing import Any

from woodmarket.backends._chat import chat_body
from woodmarket.backends.embedded import DEFAULT_N_CTX, EmbeddedBackend, default_threads
from woodmarket.models import MODELS
from woodmarket.probe import creature_requests
from woodmarket.provenance import cpu_model
from woodmarket.scenario import load_scenario
from woodmarket.types import CompletionRequest

WAYS = ("cold", "warm")


def call(backend: EmbeddedBackend, request: CompletionRequest, way: str) -> dict[str, float]:
    body = chat_body(request, model=backend.name, cache_prompt=way == "warm")
    payload = backend.chat(body)
    if "error" in payload:
        raise SystemExit(f"{backend.name}: {payload['error']}")
    t = payload["timings"]
    return {
        "prompt_n": t["prompt_n"],
        "prompt_tps": t["prompt_n"] / t["prompt_ms"] * 1000,
        "gen_n": t["predicted_n"],
        "gen_tps": t["predicted_n"] / t["predicted_ms"] * 1000 if t["predicted_ms"] else 0.0,
        "ms": t["prompt_ms"] + t["predicted_ms"],
        "text": payload["choices"][0]["message"]["content"],
    }


def bench(
    keys: list[str], requests: list[CompletionRequest], creatures: int, reps: int, threads: int
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """{(model, way): one result per request and repetition, in the order asked}."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = {(k, w): [] for k in keys for w in WAYS}
    backends = {
        k: EmbeddedBackend(k, creatures, n_ctx=DEFAULT_N_CTX, threads=threads) for k in keys
    }
    try:
        for rep in range(reps):
            order = keys if rep % 2 == 0 else keys[::-1]
            for way in WAYS:
                for i, request in enumerate(requests):
                    for key in order:
                        done = call(backends[key], request, way)
                        # Warm: the first turn only fills each creature's slot.
                        if way == "cold" or i >= creatures:
                            out[key, way].append(done)
    finally:
        for b in backends.values():
            b.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs=2, default=["smollm2", "smollm2-q4_0"], choices=list(MODELS))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--turns", type=int, default=3, help="stand-in turns whose requests are sent")
    ap.add_argument("--scenario", default="oona")
    ap.add_argument("--threads", type=int, default=default_threads())
    args = ap.parse_args()
    base, other = args.models
    creatures = len(load_scenario(args.scenario).creatures)
    # One request per creature and turn, each creature on its own slot (as the game pins it).
    requests = [
        replace(r, slot=i % creatures)
        for i, r in enumerate(
            creature_requests(base, creatures * args.turns, scenario=args.scenario)
        )
    ]
    print(f"CPU: {cpu_model()}, {args.threads} threads")
    print(
        f"{len(requests)} requests of {args.scenario} ({creatures} creatures x {args.turns} "
        f"turns), {args.reps} repetitions, {base} and {other} alternating"
    )
    results = bench([base, other], requests, creatures, args.reps, args.threads)
    cols = ("model", "way", "prompt tok", "prompt tok/s", "gen tok", "gen tok/s", "ms/request")
    widths = (12, 4, 10, 12, 7, 9, 10)
    print("  ".join(f"{c:>{w}}" for c, w in zip(cols, widths, strict=True)))
    for way in WAYS:
        for key in (base, other):
            rs = results[key, way]
            row = (
                key,
                way,
                f"{statistics.median(r['prompt_n'] for r in rs):.0f}",
                f"{statistics.median(r['prompt_tps'] for r in rs):.0f}",
                f"{statistics.median(r['gen_n'] for r in rs):.0f}",
                f"{statistics.median(r['gen_tps'] for r in rs):.0f}",
                f"{statistics.median(r['ms'] for r in rs):.0f}",
            )
            print("  ".join(f"{c:>{w}}" for c, w in zip(row, widths, strict=True)))
    print(f"\n{other} / {base}, median of per-request ratios (higher speed, lower ms is better):")
    for way in WAYS:
        pairs = list(zip(results[base, way], results[other, way], strict=True))
        ratio = {
            f: statistics.median(b[f] / a[f] for a, b in pairs if a[f] and b[f])
            for f in ("prompt_tps", "gen_tps", "ms")
        }
        same = sum(a["text"] == b["text"] for a, b in pairs)
        print(
            f"  {way}: prompt speed {ratio['prompt_tps']:.2f}x, generation speed "
            f"{ratio['gen_tps']:.2f}x, time per request {ratio['ms']:.2f}x; "
            f"same answer text {same}/{len(pairs)}"
        )


if __name__ == "__main__":
    main()
