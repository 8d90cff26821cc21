"""Sweep speed: the stand-in table, serially, with the local pool and on local Ray.

    .venv/bin/python benchmarks/sweep.py [--seeds 200] [--turns 12] [--workers 2] [--no-ray]
    .venv/bin/python benchmarks/sweep.py --live [--live-seeds 5] [--live-turns 6]

The stand-in table: 4 mechanisms (`none` included) x 2 short sizes (the
gambit's own 8, and 16) = 8 worlds, x 200 seeds x 12 turns = 19,200 turns,
every run's folder and trace written. Machines differ by 3x, so the same
process first measures the bare engine: the same worlds' woods built and
stepped with every turn's trace records serialised, in memory, no files
and no processes. The ideal sweep is those 19,200 turns at that rate,
divided by the workers; each sweep's wall time is printed as a ratio to it
(1.00 = no overhead at all; the aim is within 1.25 with the pool on 2 cores).

--live times a live sweep of the article's worlds (5 seeds x 6 turns by
default; minutes on 2 cores; `--worlds` names others, e.g. the two-lab
council's: `council2:rumor,...`), then its `--replay` (report and plots
from the recorded runs, no model loaded).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from woodmarket.build import build
from woodmarket.experiments import Plan, execute, expand, recorded, write_report
from woodmarket.experiments.worlds import shorts
from woodmarket.provenance import cpu_model
from woodmarket.traces import dumps


def stand_in_plan(seeds: int, turns: int) -> Plan:
    worlds = shorts(expand(["standin"]), [8, 16])
    return Plan.make("oona", gambit="showcase", worlds=worlds, seeds=range(seeds), turns=turns)


def bare_rate(plan: Plan, runs: int) -> float:
    """Traced turns per second of the engine alone, over the plan's first `runs` tasks."""
    tasks = plan.tasks()[:runs]
    sink: list[str] = []
    start = time.perf_counter()
    turns = 0
    for task in tasks:
        wood = build(task.spec)
        wood.listeners.append(lambda t: sink.append("".join(dumps(r) + "\n" for r in t.records)))
        for _ in range(task.spec.turns):
            wood.step()
        turns += task.spec.turns
        sink.clear()
        wood.close()
    return turns / (time.perf_counter() - start)


def timed(
    plan: Plan, workers: int, ray: bool = False, where: str | None = None
) -> tuple[float, int]:
    out = Path(tempfile.mkdtemp(prefix="woodmarket-bench-", dir=where))
    try:
        start = time.perf_counter()
        result = execute(plan, out / "sweep", workers=workers, ray=ray, progress=False)
        wall = time.perf_counter() - start
        traces = len(list((out / "sweep").glob("runs/*/*/trace.jsonl")))
        assert not result.errors, result.errors[:1]
        return wall, traces
    finally:
        shutil.rmtree(out, ignore_errors=True)


def stand_in(args: argparse.Namespace) -> None:
    plan = stand_in_plan(args.seeds, args.turns)
    runs = len(plan.tasks())
    turns = runs * args.turns
    where = args.dir or tempfile.gettempdir()
    print(f"CPU: {cpu_model()}; {len(plan.worlds)} worlds x {args.seeds} seeds x {args.turns} "
          f"turns = {runs} runs, {turns} turns; folders under {where}")  # fmt: skip
    rate = bare_rate(plan, min(runs, 200))
    print(f"bare engine: {rate:,.0f} traced turns/s (build + step + serialise, in memory)")
    rows = [("serial (1 process)", 1, False)]
    rows.append((f"pool ({args.workers} workers)", args.workers, False))
    if not args.no_ray:
        rows.append((f"Ray local ({args.workers} workers)", args.workers, True))
    base = None
    print(f"{'executor':<24} {'wall s':>8} {'runs/s':>8} {'speed-up':>9} {'x ideal':>8} traces")
    for label, workers, ray in rows:
        wall, traces = timed(plan, workers, ray, args.dir)
        base = base or wall
        ideal = turns / rate / workers
        print(
            f"{label:<24} {wall:>8.2f} {runs / wall:>8.1f} {base / wall:>9.2f} "
            f"{wall / ideal:>8.2f} {traces}/{runs}"
        )


def live(args: argparse.Namespace) -> None:
    plan = Plan.make(
        "oona",
        gambit="showcase",
        worlds=expand(args.worlds.split(",")),
        seeds=range(args.live_seeds),
        turns=args.live_turns,
    )
    out = Path(args.live_out or tempfile.mkdtemp(prefix="woodmarket-live-")) / "sweep"
    print(f"CPU: {cpu_model()}; live sweep: {len(plan.worlds)} worlds x {args.live_seeds} seeds "
          f"x {args.live_turns} turns -> {out}")  # fmt: skip
    start = time.perf_counter()
    result = execute(plan, out, workers=args.workers, progress=True)
    wall = time.perf_counter() - start
    write_report(plan, result.outcomes, out)
    print(f"live sweep: {wall:.0f} s for {result.ran} runs ({result.skipped} already done)")
    start = time.perf_counter()
    plan2, outcomes = recorded(out)
    write_report(plan2, outcomes, out)
    print(f"--replay (report and plots from the records): {time.perf_counter() - start:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--turns", type=int, default=12)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-ray", action="store_true")
    ap.add_argument("--dir", default=None, help="write the sweeps under DIR (default: $TMPDIR)")
    ap.add_argument("--live", action="store_true", help="time a live article sweep instead")
    ap.add_argument("--live-seeds", type=int, default=5)
    ap.add_argument("--live-turns", type=int, default=6)
    ap.add_argument("--live-out", default=None, help="keep the live sweep here")
    ap.add_argument(
        "--worlds",
        default="article",
        help="with --live: the worlds, comma-separated (default: the article's table)",
    )
    args = ap.parse_args()
    live(args) if args.live else stand_in(args)


if __name__ == "__main__":
    main()
