"""One run of a sweep: a task, run in whichever process, and landed in the sweep's folder.

A `Task` is one (world, seed) of a sweep: its spec (the world's cast,
mechanism, sampling and, for a resized short or a move arm, its moves),
world, gambit and run folder (relative to the sweep). `run_task` runs it
(in this process, a pool worker, or a Ray worker) into an ordinary run
folder plus timings.jsonl and outcome.json (record.py), written last; a
worker on another machine ships the files back in its result and `land`
writes them. The wood is the one builder's (`build.build`), its model
slots started afresh (`build.reset_slots`) so a run does not depend on
which worker ran it.

A forked sweep's arm is a task with a `trunk` (the folder of the run of
turns 1 to K-1 it shares) and `fork_at` K: `run_task` forks the trunk at
K (`fork.plan_fork`, `fork.open_fork`: the prefix rebuilt from the
trunk's record without a model and proved, model slots started afresh)
with what the arm's own spec changes from K (its mechanism, its moves),
and runs it on. A worker without the sweep's folder gets the trunk's
files in the task (`with_trunk`) and lays them out as the sweep does, so
the fork's run.json names its trunk by the same relative path.

The pool (pool.py), Ray (ray.py) and the cost calibration (cost.py)
call this room; the sweep (sweep.py) plans the tasks and collects their
outcomes.

This room writes only inside the task's run folder (and, in a worker
without the sweep's folder, a temporary copy of it).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from woodmarket.backends.embedded import get_embedded
from woodmarket.build import build, reset_slots
from woodmarket.experiments.record import OUTCOME, Outcome
from woodmarket.experiments.worlds import Trunk, World
from woodmarket.fork import open_fork, plan_fork
from woodmarket.metrics import Tracker
from woodmarket.runner import run
from woodmarket.spec import RunSpec
from woodmarket.state import TurnState
from woodmarket.traces import RunFolder, Timings, write_whole
from woodmarket.wood import Wood


@dataclass(frozen=True, slots=True)
class Task:
    """One (world, seed): the spec to run and where its folder goes, relative to the sweep.

    A forked arm also names its `trunk` folder and `fork_at`; its `spec` is
    the arm run whole, which the fork equals from turn K on. `role` is
    "trunk" or "fresh" for the runs a forked sweep makes beside its arms.
    """

    spec: RunSpec
    world: World | Trunk
    gambit: str
    folder: str
    # Embedded models the whole sweep uses, with the most slots any cast needs:
    # loaded so before the first run, every run of a worker finds the same servers.
    models: tuple[tuple[str, int], ...] = ()
    trunk: str = ""
    fork_at: int = 0
    role: str = ""
    trunk_files: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)

    @property
    def turns_asked(self) -> int:
        """The turns whose decisions are made live (a fork's prefix is rebuilt)."""
        return self.spec.turns - max(0, self.fork_at - 1)

    def head(self) -> dict[str, Any]:
        """What names the run in its outcome: world, seed, folder (and role)."""
        out: dict[str, Any] = {"world": self.world.label, "seed": self.spec.seed}
        out["folder"] = self.folder
        return out | ({"role": self.role} if self.role else {})


def with_trunk(root: Path, task: Task) -> Task:
    """The task carrying its trunk's files, for a worker that may not see `root` (Ray)."""
    if not task.trunk:
        return task
    folder = root / task.trunk
    files = tuple((p.name, p.read_bytes()) for p in sorted(folder.iterdir()) if p.is_file())
    return replace(task, trunk_files=files)


def run_task(task: Task, root: str | None) -> dict[str, Any]:
    """Run one task into `root`/task.folder, or (root None) into a temporary folder whose
    files come back in the result (a Ray worker on another machine).

    Never raises for a run that fails: the result carries the error.
    """
    start = time.perf_counter()
    tmp = None
    if root is None:
        tmp = tempfile.mkdtemp(prefix="woodmarket-run-")
        base = Path(tmp)
        _lay_out(base, task)
    else:
        base = Path(root)
    out = base / task.folder
    head = task.head()
    try:
        if task.models:
            for model, slots in task.models:
                get_embedded(model, slots)
        began = _begin(task, out, base)
        wood = began.wood
        acc = Outcome(task.spec.but(gambit=task.gambit).the_gambit(wood.scenario), task.fork_at)
        for r in began.made:
            acc.feed(r)
        live = task.spec.cast != "standin" and any(
            getattr(p, "label", "") == "llm" for p in wood.policies.values()
        )
        # The clock readings are kept in timings.jsonl, apart from the trace (`apart`);
        # a fork keeps them so already (its prefix's are its trunk's).
        timings = began.timings or Timings(out, buffered=not live)
        wood.listeners[:0] = [acc] if began.timings else [acc, timings]
        try:
            result = run(
                began.spec,
                out,
                wood=wood,
                apart=True,
                folder=began.folder,
                tracker=began.tracker,
                on_turn=began.check,
            )
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


@dataclass
class _Begun:
    """A run ready to go: its spec and wood, and for a fork what its prefix made (the
    records, the folder they are written to, the tracker that saw them, the check of its
    changed moves)."""

    spec: RunSpec
    wood: Wood
    made: list[dict[str, Any]]
    folder: RunFolder | None = None
    tracker: Tracker | None = None
    check: Callable[[TurnState], None] | None = None
    timings: Timings | None = None


def _begin(task: Task, out: Path, base: Path) -> _Begun:
    """A run from turn 1 (built, slots started afresh), or an arm forked from its trunk."""
    if not task.trunk:
        wood = build(task.spec)
        try:
            reset_slots(wood)
        except BaseException:
            wood.close()
            raise
        return _Begun(task.spec, wood, [{"kind": "start", "prices": dict(wood.prices)}])
    spec, parent = plan_fork(base / task.trunk, task.fork_at, out=out, **fork_changes(task))
    forked = open_fork(spec, out, parent, apart=True)
    made = [r for r in parent.records if r["turn"] < task.fork_at]
    return _Begun(
        spec, forked.wood, made, forked.folder, forked.tracker, forked.check, forked.timings
    )


def fork_changes(task: Task) -> dict[str, Any]:
    """What an arm changes from its trunk at K, read off the arm's whole spec: its length
    and mechanism; and, when its moves are typed (a move arm, a resized short), its moves
    from K in place of the trunk's."""
    spec, at = task.spec, task.fork_at
    changes: dict[str, Any] = {"turns": spec.turns, "mechanism": spec.mechanism}
    if spec.gambit is None:
        changes["moves"] = {t: list(cmds) for t, cmds in spec.moves if t >= at}
        changes["keep_moves"] = False
    return changes


def _lay_out(base: Path, task: Task) -> None:
    """A fork's trunk, from the files the task carries, where the sweep keeps it."""
    if not task.trunk_files:
        return
    folder = base / task.trunk
    folder.mkdir(parents=True)
    for name, data in task.trunk_files:
        (folder / name).write_bytes(data)


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
