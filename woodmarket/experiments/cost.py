"""Cost: what a live sweep will take, estimated before it starts, and what it spent.

Tokens *spent* are the tokens the models processed: prompt tokens not
served from a slot's cache, plus generated tokens. `--budget-tokens`
counts these.

The estimate scales per-call figures by the sweep's pending model calls
(creatures on a model x turns x runs):
- from recorded runs, when the sweep folder already holds finished live
  runs (a re-run, or a sweep resumed after a budget stop); else
- from a calibration: one short run (two turns) of the first live world,
  made by the sweep's own executor (so it also warms a worker). Its first
  turn pays for loading the models and for every creature's static system
  prompt; its second is a warm news-free turn, the shape of most turns.

Wall time = warm seconds per call x calls / workers + one cold start per
worker. It is an estimate: turns with news are longer, and other
processes on the machine slow everything.

This room reads outcomes and timings; it runs nothing itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from woodmarket.experiments.record import read_timings

NO_FIGURES = "no figures"


def spent(o: Mapping[str, Any]) -> int:
    """Tokens a run's models processed: uncached prompt tokens plus generated ones."""
    return (
        int(o.get("prompt_tokens", 0))
        - int(o.get("cached_tokens", 0))
        + int(o.get("generated_tokens", 0))
    )


@dataclass(frozen=True, slots=True)
class Figures:
    """Per model call, from recorded runs or a calibration."""

    prompt: float  # prompt tokens per call
    uncached: float  # of which not cached
    generated: float
    seconds: float  # warm wall seconds per call
    cold_s: float  # a worker's first run: loading and the static prompts
    source: str


@dataclass(frozen=True, slots=True)
class Estimate:
    runs: int
    calls: int
    prompt_tokens: int
    spent_tokens: int
    generated_tokens: int
    seconds: float
    source: str

    def text(self, workers: int) -> str:
        if not self.calls:
            return f"estimate: {self.runs} runs, no model calls (stand-in worlds only)"
        if self.source == NO_FIGURES:
            return (
                f"estimate: {self.runs} runs, {self.calls} model calls; tokens and time "
                "unknown (no recorded live runs here, and no calibration run)"
            )
        return (
            f"estimate ({self.source}): {self.runs} runs, {self.calls} model calls, "
            f"~{self.prompt_tokens:,} prompt tokens (~{self.spent_tokens - self.generated_tokens:,}"
            f" uncached), ~{self.generated_tokens:,} generated; about "
            f"{_duration(self.seconds)} on {workers} worker{'s' * (workers != 1)}"
        )


def _duration(s: float) -> str:
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def model_seats(cast: str, names: tuple[str, ...], cast_text: str | None = None) -> int:
    from woodmarket.casts import parse_cast

    if cast == "standin":
        return 0
    return sum(s.policy == "llm" for s in parse_cast(cast, names, cast_text))


def from_outcomes(outcomes: Iterable[Mapping[str, Any]]) -> Figures | None:
    live = [o for o in outcomes if o.get("calls")]
    if not live:
        return None
    calls = sum(o["calls"] for o in live)
    wall = sum(o.get("wall_s", 0.0) for o in live)
    return Figures(
        prompt=sum(o.get("prompt_tokens", 0) for o in live) / calls,
        uncached=sum(o.get("prompt_tokens", 0) - o.get("cached_tokens", 0) for o in live) / calls,
        generated=sum(o.get("generated_tokens", 0) for o in live) / calls,
        seconds=wall / calls,
        cold_s=0.0,
        source=f"from {len(live)} recorded live runs",
    )


def from_calibration(folder: Path, outcome: Mapping[str, Any], seats: int) -> Figures | None:
    """Figures from a two-turn calibration run's folder (its second turn is warm)."""
    if not outcome.get("calls") or seats < 1:
        return None
    from woodmarket.traces import read_trace

    timings = read_timings(folder)
    turn_ms = {x["turn"]: x["wall_ms"] for x in timings if x.get("kind") == "turn"}
    whole = [x["wall_ms"] for x in timings if x.get("kind") == "run"]
    # A sweep's trace has no cached_tokens: they are in timings.jsonl (record.MOVED).
    moved = {(x["turn"], x["creature"]): x for x in timings if "creature" in x}
    calls = [
        {**r["call"], **moved.get((r["turn"], r["creature"]), {}), "turn": r["turn"]}
        for r in read_trace(folder)
        if r["kind"] == "decision" and r.get("call")
    ]
    warm = [c for c in calls if c["turn"] > 1] or calls
    warm_ms = turn_ms.get(2, turn_ms.get(1, 0.0))
    total_ms = whole[-1] if whole else sum(turn_ms.values())
    return Figures(
        prompt=sum(c.get("prompt_tokens", 0) for c in warm) / len(warm),
        uncached=sum(c.get("prompt_tokens", 0) - c.get("cached_tokens", 0) for c in warm)
        / len(warm),
        generated=sum(c.get("generated_tokens", 0) for c in warm) / len(warm),
        seconds=warm_ms / 1e3 / seats,
        cold_s=max(0.0, (total_ms - warm_ms) / 1e3),
        source="from a 2-turn calibration run",
    )


def estimate(
    tasks: Sequence[Any], names: tuple[str, ...], figures: Figures | None, workers: int
) -> Estimate:
    """The pending `tasks`' model calls and tokens, and the wall time on `workers`."""
    seats_of: dict[str, int] = {}
    calls = 0
    for t in tasks:
        cast = t.spec.cast
        if cast not in seats_of:
            seats_of[cast] = model_seats(cast, names, t.spec.cast_text or None)
        calls += seats_of[cast] * t.turns_asked  # (a forked arm's prefix asks no model)
    if figures is None or not calls:
        return Estimate(len(tasks), calls, 0, 0, 0, 0.0, NO_FIGURES)
    w = max(1, min(workers, len(tasks)))
    seconds = calls * figures.seconds / w + figures.cold_s
    return Estimate(
        runs=len(tasks),
        calls=calls,
        prompt_tokens=math.ceil(calls * figures.prompt),
        spent_tokens=math.ceil(calls * (figures.uncached + figures.generated)),
        generated_tokens=math.ceil(calls * figures.generated),
        seconds=seconds,
        source=figures.source,
    )


def calibrate(
    first: Any, root: Path, run: Callable[[Sequence[Any]], Iterable[dict[str, Any]]]
) -> tuple[Path, dict[str, Any]]:
    """Run a two-turn copy of task `first` through `run` into root/.calibration/."""
    from woodmarket.experiments.task import Task, land

    spec = first.spec.but(turns=min(2, first.spec.turns))  # run whole, even for a forked arm
    task = Task(spec, first.world, first.gambit, f".calibration/{first.world.slug}")
    folder = root / task.folder
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    result = land(root, next(iter(run([task]))))
    return folder, result
