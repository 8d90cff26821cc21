"""Live turn speed on the bundled models, as a ratio to a reference turn timed in the same run.

    .venv/bin/python benchmarks/live_turn.py [--turns N] [--casts CAST,CAST,...]

These machines differ widely (one council turn took 1.44 s on one CPU and
3.66 s on an older AVX2-only one), and prompt processing is compute-bound,
so every turn is also measured against a **reference turn** run on the
same slots in the same run: each creature's bare completion, all at once,
with its own (cached) system prompt, a fixed user text of about 40 new
tokens and 15 generated (no grammar, greedy): the token counts of a
quiet turn before whole messages. A ratio near 1 is a turn that costs
what such a turn costs; the ratio, not the seconds, compares code.

For each cast it runs two woods, each slot primed first with its static
system prompt (what any earlier turn leaves in the cache):
- quiet: no gambit, N turns with no whisper or news (gossip as usual);
- news: the showcase gambit, N turns: turn 1 whispers the tip to Oona,
  turn 2 springs the legend, whose rumour stays in the news a second
  turn; the later turns carry what was passed on.
Each turn is followed by a reference turn. A turn counts as a news turn
when any creature's prompt holds a whisper or the news, else as quiet.
Printed per cast and kind: median turn seconds, median reference seconds,
their ratio (median of per-turn ratios), new (uncached) prompt tokens and
generated tokens per creature-turn, the share of valid actions, the
share of turn time inside llama.cpp; and the CPU model.

Only the public API is used (the builder, observation, system_prompt),
and a wood is built from a run spec by the checkout's own builder
(`build.build`, or before it `runner.build_wood`), so the same script
times an older checkout of the code.

Measured with `--turns 10`, seed 1, on an AMD EPYC (family 26 model 2,
AVX-512, 2 cores) shared with other work, so the seconds wander (a
reference turn took 3.0 to 4.2 s) while the ratios hold; talk cut to 40
characters (before) and whole (now), run back to back, twice:

                       quiet ratio   news ratio   new tok quiet/news   gen tok news
    before (pair 1, 2)  1.25  1.25    3.09  2.51        45 / 51            28.3
    whole  (pair 1, 2)  1.08  1.34    1.95  1.46        46 / 71            15.1

and a third pair with `--turns 6` after run specs came in: before 1.26
quiet, 3.01 news; whole 1.32 quiet, 1.74 news.

(reference turn: 40 new prompt tokens, 15 generated, per creature.)
Quiet turns cost what they did. News turns carry about 20 more prompt
tokens a creature (the whisper or rumour whole) but cost less than
before: passing a rumour on is `say all: 1`, about 4 generated tokens,
where a 40-character phrase spelled out took about 14.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from woodmarket.backends.embedded import close_all
from woodmarket.policies.llm import system_prompt
from woodmarket.turn import observation
from woodmarket.types import Completion, CompletionRequest

# The reference turn's user text: a quiet turn's facts in the layout of
# the prompts before whole messages, about 40 tokens on the bundled
# tokenizers; "Turn N" first so no two are alike in the cache.
REFERENCE_USER = (
    "Turn {n}\n40 pebbles\nShort 1 berries 5, 2 mushrooms 6\nSpare 10 honey 8, 1 firewood 6"
)
REFERENCE_TOKENS = 15


class Timed:
    """Wraps a backend and records when each call ran."""

    def __init__(self, inner: Any, log: list[tuple[float, float]]) -> None:
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


def cpu_model() -> str:
    """The CPU's model name, family and model numbers, and its widest vector extension."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                if not line.strip():
                    break  # the first processor is enough
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    name = fields.get("model name", "")
    if not name:
        try:
            out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
            name = next(
                (
                    x.split(":", 1)[1].strip()
                    for x in out.splitlines()
                    if x.startswith("Model name")
                ),
                "",
            )
        except (OSError, subprocess.CalledProcessError):
            pass
    flags = fields.get("flags", "").split()
    vector = next((v for v in ("avx512f", "avx2", "avx") if v in flags), "")
    detail = ", ".join(
        x
        for x in (
            f"family {fields['cpu family']} model {fields['model']}" if "model" in fields else "",
            vector.upper().replace("AVX512F", "AVX-512"),
            f"{os.cpu_count()} cores",
        )
        if x
    )
    return f"{name or 'unknown CPU'} ({detail})"


def _wood(cast: str, seed: int, gambit: str | None, thoughts: bool = False) -> Any:
    """The Oona wood of `cast`, from a run spec, by the checkout's own builder."""
    from woodmarket.spec import RunSpec

    try:
        from woodmarket.build import build
    except ImportError:  # a checkout before the one builder: the runner's
        from woodmarket.runner import build_wood as build  # type: ignore[no-redef]
    # (`thoughts` only when asked: older checkouts know no such field)
    extra = {"thoughts": True} if thoughts else {}
    return build(RunSpec.make("oona", cast=cast, seed=seed, gambit=gambit, **extra))


class Bench:
    """One wood of a cast, its slots primed, with turns and reference turns timed in turn."""

    def __init__(self, cast: str, seed: int, gambit: str | None, thoughts: bool = False) -> None:
        self.wood = _wood(cast, seed, gambit, thoughts)
        self.log: list[tuple[float, float]] = []
        self.models = {n: p for n, p in self.wood.policies.items() if hasattr(p, "backend")}
        self.raw = {n: p.backend for n, p in self.models.items()}
        for p in self.models.values():
            p.backend = Timed(p.backend, self.log)
        self.refs = 0
        self.pool = ThreadPoolExecutor(max(1, len(self.models)))

    def _all(self, requests: dict[str, CompletionRequest]) -> list[Completion]:
        futures = [self.pool.submit(self.raw[n].complete, r) for n, r in requests.items()]
        return [f.result() for f in futures]

    def prime(self) -> None:
        """Each slot holds its creature's static prompt, as after any earlier turn."""
        turn = self.wood.turn + 1 if hasattr(self.wood, "turn") else 1
        self._all(
            {
                n: CompletionRequest(
                    system_prompt(observation(self.wood, n, turn), thoughts=p.thoughts),
                    "-",
                    max_tokens=1,
                    slot=p.slot,
                )
                for n, p in self.models.items()
            }
        )

    def reference(self) -> tuple[float, float, float]:
        """One reference turn: seconds, new prompt tokens and generated tokens per creature."""
        self.refs += 1
        turn = self.wood.turn + 1 if hasattr(self.wood, "turn") else 1
        requests = {
            n: CompletionRequest(
                system_prompt(observation(self.wood, n, turn), thoughts=p.thoughts),
                REFERENCE_USER.format(n=self.refs),
                max_tokens=REFERENCE_TOKENS,  # greedy, by default
                slot=p.slot,
            )
            for n, p in self.models.items()
        }
        start = time.perf_counter()
        done = self._all(requests)
        wall = time.perf_counter() - start
        new = statistics.mean(c.prompt_tokens - c.cached_tokens for c in done)
        return wall, new, statistics.mean(c.generated_tokens for c in done)

    def turn(self) -> dict[str, Any]:
        self.log.clear()
        start = time.perf_counter()
        t = self.wood.step()
        wall = time.perf_counter() - start
        calls = [a.call for a in t.actions.values() if a.call is not None]
        loud = any(o.news or o.whispers for o in t.observations.values())
        ref, ref_new, ref_gen = self.reference()
        return {
            "kind": "news" if loud else "quiet",
            "wall": wall,
            "ref": ref,
            "ref_new": ref_new,
            "ref_gen": ref_gen,
            "inside": union(self.log),
            "new": [c.prompt_tokens - c.cached_tokens for c in calls],
            "gen": [c.generated_tokens for c in calls],
            "valid": [a.valid for a in t.actions.values()],
        }

    def close(self) -> None:
        self.pool.shutdown()


def summarise(turns: list[dict[str, Any]]) -> dict[str, float]:
    new = [x for t in turns for x in t["new"]]
    gen = [x for t in turns for x in t["gen"]]
    valid = [x for t in turns for x in t["valid"]]
    return {
        "turns": len(turns),
        "median_s": statistics.median(t["wall"] for t in turns),
        "ref_s": statistics.median(t["ref"] for t in turns),
        "ratio": statistics.median(t["wall"] / t["ref"] for t in turns),
        "new_tokens": statistics.mean(new) if new else 0.0,
        "generated_tokens": statistics.mean(gen) if gen else 0.0,
        "ref_new": statistics.mean(t["ref_new"] for t in turns),
        "ref_gen": statistics.mean(t["ref_gen"] for t in turns),
        "valid": sum(valid) / max(1, len(valid)),
        "llama_share": sum(t["inside"] for t in turns) / sum(t["wall"] for t in turns),
    }


def bench(
    cast: str, turns: int, seed: int, thoughts: bool = False
) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {"quiet": [], "news": []}
    for gambit in (None, "showcase"):
        b = Bench(cast, seed, gambit, thoughts)
        b.prime()
        for _ in range(turns):
            t = b.turn()
            out[t["kind"]].append(t)
        b.close()
    close_all()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=6)
    ap.add_argument("--seed", type=int, default=1)
    # The game's council (two labs); older checkouts call the same council `council`.
    ap.add_argument("--casts", default="council2")
    ap.add_argument(
        "--thoughts", action="store_true", help="the creatures think aloud (a line of why)"
    )
    args = ap.parse_args()
    print(f"CPU: {cpu_model()}")
    cols = ("cast", "turns", "n", "median s", "ref s", "ratio", "new tok", "gen tok")
    cols += ("ref new", "ref gen", "valid", "llama.cpp")
    widths = (15, 5, 2, 8, 6, 5, 7, 7, 7, 7, 5, 9)
    print("  ".join(f"{c:>{w}}" for c, w in zip(cols, widths, strict=True)))
    for cast in args.casts.split(","):
        for kind, turns in bench(cast, args.turns, args.seed, args.thoughts).items():
            if not turns:
                continue
            r = summarise(turns)
            row = (
                cast,
                kind,
                str(r["turns"]),
                f"{r['median_s']:.2f}",
                f"{r['ref_s']:.2f}",
                f"{r['ratio']:.2f}",
                f"{r['new_tokens']:.0f}",
                f"{r['generated_tokens']:.1f}",
                f"{r['ref_new']:.0f}",
                f"{r['ref_gen']:.1f}",
                f"{r['valid']:.0%}",
                f"{r['llama_share']:.0%}",
            )
            print("  ".join(f"{c:>{w}}" for c, w in zip(row, widths, strict=True)), flush=True)


if __name__ == "__main__":
    main()
