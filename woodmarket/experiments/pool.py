"""The local executor: a process pool of long-lived workers (one run in the caller if 1).

Each worker process lives for the whole sweep, so the bundled models load
once per worker and each creature's slot keeps its cached prompt prefix
from run to run (the embedded servers are shared per process). With as
many workers as cores, each worker is pinned to a core of its own: the
model server then runs one thread per worker instead of every worker
running a thread per core on the same cores.

Runs are handed out a few at a time, so a sweep that stops (a token
budget, Ctrl-C) leaves no queue of runs behind it. Results arrive in
completion order; the report sorts them.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from woodmarket.experiments.task import Task, run_task


def _pin(counter: Any, cores: Sequence[int], pin: bool) -> None:
    """Pool initializer: pin this worker to the next core (round robin)."""
    if not pin:
        return
    with counter.get_lock():
        i = counter.value
        counter.value += 1
    # Not on Linux, or not allowed: the workers share the cores.
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {cores[i % len(cores)]})


def cores() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:
        return list(range(os.cpu_count() or 1))


class PoolExecutor:
    """`executor(tasks)` yields each task's result as it finishes."""

    def __init__(self, workers: int, root: str, window: int = 4) -> None:
        self.workers = max(1, workers)
        self.root = root
        self.window = window
        self.pool: ProcessPoolExecutor | None = None
        self.cores = cores()
        # Pinned to a core each when there are no more workers than cores.
        self.pinned = self.workers <= len(self.cores)
        # The threads each run's models get (what run.json records): one on a
        # pinned worker; every core for a lone worker (the caller) or an unpinned one.
        self.threads = 1 if self.pinned and self.workers > 1 else len(self.cores)

    def _start(self) -> ProcessPoolExecutor:
        if self.pool is None:
            ctx = mp.get_context("forkserver" if os.name == "posix" else "spawn")
            counter = ctx.Value("i", 0)
            self.pool = ProcessPoolExecutor(
                self.workers,
                mp_context=ctx,
                initializer=_pin,
                initargs=(counter, self.cores, self.pinned),
            )
        return self.pool

    def __call__(self, tasks: Sequence[Task]) -> Iterator[dict[str, Any]]:
        if self.workers == 1:
            for t in tasks:
                yield run_task(t, self.root)
            return
        pool = self._start()
        pending = iter(tasks)
        running: set[Future[dict[str, Any]]] = set()
        limit = self.workers * self.window

        def fill() -> None:
            while len(running) < limit:
                t = next(pending, None)
                if t is None:
                    return
                running.add(pool.submit(run_task, t, self.root))

        fill()
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for f in finished:
                running.discard(f)
                yield f.result()
            fill()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
