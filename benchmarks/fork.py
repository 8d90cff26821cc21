"""Forks in sweeps: what a fork's rebuild costs, and what forking the arms buys.

    .venv/bin/python benchmarks/fork.py [--seeds 40] [--council-seeds 4] [--no-council] [--keep DIR]
    .venv/bin/python benchmarks/fork.py --council-from DIR/council   # (a) on a kept council sweep

(a) The rebuild. A fork remakes turns 1 to K-1 of a recorded run from its
    record (`fork.plan_fork` + `fork.open_fork`: read the parent, rebuild,
    compare every record, write the prefix). Timed against making the same
    turns live (`runner.run` of a spec of K-1 turns into a folder), on the
    stand-in: the median of `--repeats` each, and their ratio. On a model
    cast the rebuild asks no model (each reply is parsed again): timed on
    the council sweep's trunks below, against the trunks' turns as their
    timings recorded them; and apart, what starting the model slots afresh
    costs, which a rebuild does as every run does at its start.
(b) The stand-in, many seeds: the mechanisms forked at the spring's turn
    (K=2), and "cover a turn early" forked after the spring (K=3), each
    with every arm also run whole on the same seeds (`--compare-fresh`):
    each paired effect's CI width forked and fresh, and what forking saved.
(c) The council asked in parallel slots (a backend that does not repeat
    itself), a few seeds: "cover a turn early" forked at K=3, with every
    arm also run whole. The CI widths, the model calls saved, the wall
    time; and how many pairs of arms run whole (an arm and its control)
    did not even share their turns before K.

The CPU model is printed first; the machine may be shared, so the wall
times are as measured, not a property of the code alone.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from woodmarket.build import build, reset_slots
from woodmarket.experiments import Plan, execute, expand, report_of
from woodmarket.experiments.render import fork_cells, fork_cost_lines
from woodmarket.experiments.worlds import arms_of, with_arms
from woodmarket.fork import open_fork, plan_fork
from woodmarket.provenance import cpu_model
from woodmarket.runner import run
from woodmarket.spec import RunSpec
from woodmarket.traces import read_timings
from woodmarket.types import Sampling

COVER_EARLY = "cover-early:3:cover honey"


def rebuild_ratio(k: int, turns: int, repeats: int, where: Path) -> None:
    spec = RunSpec.make("oona", seed=1, turns=k - 1, gambit="showcase")
    trunk = where / "trunk"  # as a sweep's: the turns before K
    run(spec, trunk)
    live, rebuilt = [], []
    for i in range(repeats):
        start = time.perf_counter()
        run(spec, where / f"live-{i}")
        live.append(time.perf_counter() - start)
        start = time.perf_counter()
        fork, p = plan_fork(trunk, k, out=where / f"fork-{i}", turns=turns)
        open_fork(fork, where / f"fork-{i}", p).wood.close()
        rebuilt.append(time.perf_counter() - start)
    a, b = statistics.median(live), statistics.median(rebuilt)
    print(
        f"(a) stand-in, turns 1 to {k - 1} of {turns}: live {a * 1e3:.1f} ms, rebuilt from the "
        f"record {b * 1e3:.1f} ms: rebuild / live = {b / a:.2f} (median of {repeats})"
    )


def sweep(label: str, plan: Plan, out: Path, workers: int) -> None:
    start = time.perf_counter()
    result = execute(plan, out, workers=workers, progress=False)
    wall = time.perf_counter() - start
    assert not result.errors, result.errors[:1]
    rep = report_of(plan, result.outcomes, result.others)
    forks = rep.forks
    assert forks is not None
    beside = {o["role"]: 0.0 for o in result.others}
    for o in result.others:
        beside[o["role"]] += o["wall_s"]
    arms_s = sum(o["wall_s"] for o in result.outcomes)
    print(
        f"\n{label}: {len(plan.seeds)} seeds, {plan.turns} turns, forked at turn {plan.fork_at}; "
        f"{wall:.1f} s wall on {workers} workers"
    )
    print(
        f"  run time: trunks {beside.get('trunk', 0):.1f} s + forked arms {arms_s:.1f} s; "
        f"the same arms run whole {beside.get('fresh', 0):.1f} s"
    )
    print(f"  {'world':<30} {'forked CI':>22} {'width':>6} {'fresh CI':>22} {'width':>6} ratio")
    for row in forks.rows:
        c = fork_cells(row)
        print(f"  {c[0]:<30} {c[2]:>22} {c[3]:>6} {c[4]:>22} {c[5]:>6} {c[6]:>5}")
    for line in fork_cost_lines(forks):
        print(f"  {line}")


def unshared(plan: Plan, root: Path) -> tuple[int, int]:
    """Pairs (an arm, its control) run whole whose turns before K are not the same lines,
    of the pairs whose forked arms share a trunk (the others differ there by design)."""
    k = plan.fork_at or 1
    differ = total = 0
    for s in plan.seeds:
        for w in plan.worlds:
            if w.control == w or plan.trunk_of(w) != plan.trunk_of(w.control):
                continue
            pair = [root / f"fresh/{x.slug}/seed-{s}/trace.jsonl" for x in (w, w.control)]
            lines = [
                [x for x in p.read_text().splitlines() if json.loads(x)["turn"] < k] for p in pair
            ]
            total += 1
            differ += lines[0] != lines[1]
    return differ, total


def council_rebuild(plan: Plan, root: Path, where: Path) -> None:
    """Each council trunk rebuilt in this process (warm: the second time), against its own
    run's wall time; and, apart, what starting its model slots afresh costs (a fork does
    it, as every sweep run does at its start)."""
    k = plan.fork_at or 1
    rows = []
    for i, task in enumerate(plan.trunk_tasks()):
        trunk = root / task.folder
        live = sum(x["wall_ms"] for x in read_timings(trunk) if x.get("kind") == "turn") / 1e3
        for attempt in range(2):
            out = where / f"council-fork-{i}-{attempt}"
            start = time.perf_counter()
            fork, p = plan_fork(trunk, k, out=out, turns=plan.turns)
            open_fork(fork, out, p, apart=True).wood.close()
            took = time.perf_counter() - start
        wood = build(task.spec)
        start = time.perf_counter()
        reset_slots(wood)
        reset = time.perf_counter() - start
        wood.close()
        rows.append((took, reset, live))
    took, reset, live = (statistics.median(r[j] for r in rows) for j in range(3))
    spread = max(r[1] for r in rows) - min(r[1] for r in rows)
    print(
        f"(a) council, turns 1 to {k - 1} of its trunks: {live:.1f} s live (the trunks' turns, "
        f"from their timings); rebuilt asking no model in {took:.2f} s: rebuild / live = "
        f"{took / live:.2f}. Of the rebuild, starting the five model slots afresh (as every "
        f"run does at its start, the trunk's too) took {reset:.2f} s measured apart (spread "
        f"{spread:.1f} s over the trunks): re-stepping the turns is within that noise "
        f"(medians of {len(rows)} trunks)"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=40)
    ap.add_argument("--turns", type=int, default=6)
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--council-seeds", type=int, default=4)
    ap.add_argument("--council-turns", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-council", action="store_true")
    ap.add_argument("--keep", default=None, help="keep the sweeps in this folder")
    ap.add_argument(
        "--council-from", default=None, help="a council sweep kept by --keep: time its rebuild only"
    )
    args = ap.parse_args()
    where = Path(args.keep or tempfile.mkdtemp(prefix="woodmarket-fork-"))
    where.mkdir(parents=True, exist_ok=True)
    print(f"CPU: {cpu_model()}; folders under {where}")
    if args.council_from:
        kept = Path(args.council_from)
        council_rebuild(Plan.load(kept), kept, where / "rebuild")
        return
    try:
        rebuild_ratio(3, args.turns, args.repeats, where / "rebuild")
        mechanisms = Plan.make(
            "oona",
            worlds=expand(["standin"]),
            seeds=range(args.seeds),
            turns=args.turns,
            fork_at=2,
            fresh=True,
        )
        sweep("(b) stand-in, the mechanisms", mechanisms, where / "standin-k2", args.workers)
        early = Plan.make(
            "oona",
            worlds=with_arms(expand(["standin:settle"]), arms_of([COVER_EARLY])),
            seeds=range(args.seeds),
            turns=args.turns,
            fork_at=3,
            fresh=True,
        )
        sweep("(b) stand-in, cover a turn early", early, where / "standin-k3", args.workers)
        if args.no_council:
            return
        council = Plan.make(
            "oona",
            worlds=with_arms(expand(["council:settle"]), arms_of([COVER_EARLY])),
            seeds=range(args.council_seeds),
            turns=args.council_turns,
            sampling=Sampling(0.7, serial=False),
            fork_at=3,
            fresh=True,
        )
        sweep("(c) council, parallel slots, cover a turn early", council, where / "council", 2)
        differ, total = unshared(council, where / "council")
        print(
            f"  pairs of arms run whole (an arm, its control) whose turns before 3 differ, "
            f"where forked ones share a trunk: {differ} of {total} (forked: 0, by construction)"
        )
        council_rebuild(council, where / "council", where / "rebuild")
    finally:
        if not args.keep:
            shutil.rmtree(where, ignore_errors=True)


if __name__ == "__main__":
    main()
