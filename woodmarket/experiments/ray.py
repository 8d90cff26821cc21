"""The Ray executor: the same runs on a Ray cluster (`--ray-address`) or a local Ray (`--ray`).

Each worker is a Ray actor that lives for the whole sweep (one process:
the bundled models load once in it and keep their slots' cached prompt
prefixes from run to run). An actor runs a task into a temporary folder
and sends the folder's files back, so the cluster's machines need not
share a filesystem with the caller; the caller writes them into the sweep
folder, outcome.json last; a forked arm is sent its trunk's files with it
(`task.with_trunk`). The same `run_task` as the local pool, so Ray
and the pool give the same runs, run for run. Stand-in runs go to the
actors in chunks (a Ray call costs about as much as a short run).

Ray is an optional extra: `pip install 'woodmarket[experiments]'`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from typing import Any

from woodmarket.errors import WoodmarketError
from woodmarket.experiments.task import Task, run_task


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise WoodmarketError("--ray needs Ray: pip install 'woodmarket[experiments]'") from None
    return ray


class _Worker:
    """One long-lived process of the sweep (a Ray actor)."""

    def __init__(self, index: int, pin: bool) -> None:
        # Ray starts its workers at niceness 15: on a busy machine they then
        # starve behind everything else (measured: a 30 ms stand-in run took
        # 0.5 s). Back to the caller's priority where the system allows it.
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, 0, 0)
        if pin:
            with contextlib.suppress(AttributeError, OSError):
                cores = sorted(os.sched_getaffinity(0))
                os.sched_setaffinity(0, {cores[index % len(cores)]})

    def run(self, tasks: list[Task]) -> list[dict[str, Any]]:
        return [run_task(t, None) for t in tasks]


def chunk_size(tasks: Sequence[Task], workers: int) -> int:
    """Runs per Ray call: one for model runs (seconds each), more for stand-in runs
    (milliseconds each, where a call's own cost would dominate)."""
    if any(t.models for t in tasks):
        return 1
    return max(1, min(32, len(tasks) // (workers * 8)))


class RayExecutor:
    """`executor(tasks)` yields each task's result as it finishes, from Ray actors."""

    def __init__(self, workers: int, address: str | None = None, window: int = 2) -> None:
        self.workers = max(1, workers)
        self.address = address
        self.window = window
        self.started = False
        self.actors: list[Any] = []
        # A local actor is pinned to a core (one thread); a cluster's machines are unknown here.
        self.threads: int | None = None if address else 1

    def _start(self) -> Any:
        """Ray, and the actors: started on the first call, kept for the next (a forked
        sweep calls once for its trunks, then for its arms)."""
        ray = import_ray()
        if self.actors:
            return ray
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "configure_logging": False,
            }
            if self.address:
                kwargs["address"] = self.address
            else:
                kwargs["num_cpus"] = self.workers
            try:
                ray.init(**kwargs)
            except Exception as exc:  # a bad address, a cluster that is down
                raise WoodmarketError(f"cannot start Ray: {type(exc).__name__}: {exc}") from None
            self.started = True
        local = not self.address
        actor = ray.remote(num_cpus=1)(_Worker)
        self.actors = [actor.remote(i, local) for i in range(self.workers)]
        return ray

    def __call__(self, tasks: Sequence[Task]) -> Iterator[dict[str, Any]]:
        ray = self._start()
        size = chunk_size(tasks, self.workers)
        chunks = iter([list(tasks[i : i + size]) for i in range(0, len(tasks), size)])
        running: dict[Any, Any] = {}  # object ref -> actor
        idle = [a for a in self.actors for _ in range(self.window)]

        def fill() -> None:
            while idle:
                chunk = next(chunks, None)
                if chunk is None:
                    return
                actor = idle.pop()
                running[actor.run.remote(chunk)] = actor

        fill()
        while running:
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                idle.append(running.pop(ref))
                yield from ray.get(ref)
            fill()

    def close(self) -> None:
        if not self.actors:
            return
        ray = import_ray()
        for a in self.actors:
            ray.kill(a)
        self.actors = []
        if self.started:
            ray.shutdown()
            self.started = False
