"""One run of a sweep: a task, run in whichever process, and landed in the sweep's folder.

A `Task` is one (world, seed) of a sweep: its spec (the world's cast,
mechanism, sampling and, for a resized short, its moves), world, gambit
and run folder (relative to the sweep). `run_task` runs it (in this
process, a pool worker, or a Ray worker) into an ordinary run folder plus
timings.jsonl and outcome.json (record.py), written last; a worker on
another machine ships the files back in its result and `land` writes them.
The wood is the one builder's (`build.build`), its model slots started
afresh (`build.reset_slots`) so a run does not depend on which worker ran
it. The pool (pool.py), Ray (ray.py) and the cost calibration (cost.py)
call this room; the sweep (sweep.py) plans the tasks and collects their
outcomes.

This room writes only inside the task's run folder.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from woodmarket.backends.embedded import get_embedded
from woodmarket.build import build, reset_slots
from woodmarket.experiments.record import OUTCOME, Outcome
from woodmarket.experiments.worlds import World
from woodmarket.runner import run
from woodmarket.spec import RunSpec
from woodmarket.traces import Timings, write_whole


@dataclass(frozen=True, slots=True)
class Task:
    """One (world, seed): the spec to run and where its folder goes, relative to the sweep."""

    spec: RunSpec
    world: World
    gambit: str
    folder: str
    # Embedded models the whole sweep uses, with the most slots any cast needs:
    # loaded so before the first run, every run of a worker finds the same servers.
    models: tuple[tuple[str, int], ...] = ()


def run_task(task: Task, root: str | None) -> dict[str, Any]:
    """Run one task into `root`/task.folder, or (root None) into a temporary folder whose
    files come back in the result (a Ray worker on another machine).

    Never raises for a run that fails: the result carries the error.
    """
    start = time.perf_counter()
    tmp = None
    if root is None:
        tmp = tempfile.mkdtemp(prefix="woodmarket-run-")
        out = Path(tmp) / "run"
    else:
        out = Path(root) / task.folder
    head = {"world": task.world.label, "seed": task.spec.seed, "folder": task.folder}
    try:
        if task.models:
            for model, slots in task.models:
                get_embedded(model, slots)
        wood = build(task.spec)
        reset_slots(wood)
        acc = Outcome(task.spec.but(gambit=task.gambit).the_gambit(wood.scenario))
        acc.feed({"kind": "start", "prices": dict(wood.prices)})
        live = task.spec.cast != "standin" and any(
            getattr(p, "label", "") == "llm" for p in wood.policies.values()
        )
        # The clock readings are kept in timings.jsonl, apart from the trace (`apart`).
        timings = Timings(out, buffered=not live)
        wood.listeners[:0] = [acc, timings]
        try:
            result = run(task.spec, out, wood=wood, apart=True)
        finally:
            wall = round((time.perf_counter() - start) * 1e3, 3)
            timings.close({"kind": "run", "wall_ms": wall})
            wood.close()
        outcome = {**head, **acc.result(wall, result.complete)}
        if tmp is None:
            write_outcome(out, outcome)
            return outcome
        files = {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}
        return {**outcome, "_files": files}
    except Exception as exc:  # one failed run must not stop the sweep; it is reported
        return {**head, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def write_outcome(folder: Path, outcome: dict[str, Any]) -> None:
    """outcome.json, atomically: a finished run is one whose outcome.json is whole."""
    write_whole(folder / OUTCOME, json.dumps(outcome, indent=1, sort_keys=True) + "\n")


def land(root: Path, result: dict[str, Any]) -> dict[str, Any]:
    """Write a shipped result's files into the sweep folder (outcome.json last)."""
    files = result.pop("_files", None)
    if files is None:
        return result
    folder = root / result["folder"]
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    write_outcome(folder, result)
    return result
