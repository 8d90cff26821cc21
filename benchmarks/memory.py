"""A sweep worker's memory, run after run: llama.cpp's host prompt cache on (its default) and off.

    .venv/bin/python benchmarks/memory.py [--runs 8] [--turns 1] [--cast single:smollm2-q4_0]
        [--scenario oona]

A sweep worker lives for the whole sweep and starts every run's slots
afresh (`build.reset_slots`). With llama.cpp's host-memory prompt cache
on, each fresh start saves the slot's old prefix there (up to 8 GiB a
model); the shared servers run with it off (`SHARED_CACHE_RAM_MIB`). Each
way runs in a process of its own, the same tasks as a sweep's worker runs
them (`task.run_task`, seeds 0..runs-1), and prints the process's
resident memory after each run, then the growth after the first run, off
against on. It writes run folders under a temporary folder only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile


def resident_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def worker(way: str, cast: str, scenario: str, runs: int, turns: int) -> None:
    """One way, in this process: print the resident MiB after each run."""
    from woodmarket.backends import embedded
    from woodmarket.experiments.sweep import Plan
    from woodmarket.experiments.task import Task, run_task
    from woodmarket.experiments.worlds import World

    if way == "on":
        embedded.SHARED_CACHE_RAM_MIB = None  # llama.cpp's default
    plan = Plan.make(scenario, worlds=[World(cast, "none")], seeds=range(runs))
    sizes = []
    with tempfile.TemporaryDirectory() as out:
        for t in (t for t in plan.tasks() if t.world.mechanism == "none"):
            one = Task(t.spec.but(turns=turns), t.world, t.gambit, f"seed-{t.spec.seed}")
            result = run_task(one, out)
            if "error" in result:
                raise SystemExit(f"{way}: {result['error']}")
            sizes.append(round(resident_mib()))
    print(" ".join(map(str, sizes)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--turns", type=int, default=1)
    ap.add_argument("--cast", default="single:smollm2-q4_0")
    ap.add_argument("--scenario", default="oona")
    ap.add_argument("--worker", choices=("on", "off"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.cast, args.scenario, args.runs, args.turns)
        return
    from woodmarket.provenance import cpu_model

    print(f"CPU: {cpu_model()}; {args.cast} on {args.scenario}, {args.turns}-turn runs")
    growth = {}
    for way in ("on", "off"):
        cmd = [sys.executable, __file__, "--worker", way]
        cmd += ["--runs", str(args.runs), "--turns", str(args.turns)]
        cmd += ["--cast", args.cast, "--scenario", args.scenario]
        printed = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        sizes = [int(x) for x in printed.split()]
        growth[way] = sizes[-1] - sizes[0]
        print(f"host prompt cache {way:>3}: resident MiB after each run {sizes}")
        print(f"  grew {growth[way]} MiB over {len(sizes) - 1} runs after the first")
    per_run = max(growth["on"], 1) / (args.runs - 1)
    print(f"off against on: {growth['off']} MiB against {growth['on']} ({per_run:.0f} MiB a run)")


if __name__ == "__main__":
    main()
