"""One run of a sweep: a task, run in whichever process, and landed in the sweep's folder.

A `Task` is one (world, seed) of a sweep: its spec, world, gambit and run
folder (relative to the sweep). `run_task` runs it (in this process, a
pool worker, or a Ray worker) into an ordinary run folder plus
timings.jsonl and outcome.json (record.py), written last; a worker on
another machine ships the files back in its result and `land` writes them.
`build` and `reset_slots` are the run's two preparations: the wood with
the world's sized moves, and model slots started afresh so a run does not
depend on which worker ran it. The pool (pool.py), Ray (ray.py) and the
cost calibration (cost.py) call this room; the sweep (sweep.py) plans the
tasks and collects their outcomes.

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

from woodmarket.experiments.record import OUTCOME, Outcome, Timings
from woodmarket.experiments.worlds import World, sized_script
from woodmarket.spec import RunSpec
from woodmarket.traces import write_whole


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


def build(task: Task) -> Any:
    """The wood of one task: `runner.build_wood`, plus a resized short as typed moves."""
    from woodmarket.runner import build_wood

    wood = build_wood(task.spec)
    if task.spec.gambit is None and task.spec.financier:
        gambit = task.spec.but(gambit=task.gambit).gambit_of(wood.scenario)
        moves = sized_script(gambit.script(task.world.mechanism), task.world.short)
        # Typed moves (source "player") are recorded, so `replay` makes them again.
        wood.extensions["financier"].add_script(moves, "player")
    return wood


def drive(spec: RunSpec, out: Path, wood: Any) -> Any:
    """The run of a task: `runner.run`, the same folder as any run's, byte for byte."""
    from woodmarket.runner import run

    return run(spec, out, wood=wood)


def reset_slots(wood: Any) -> int:
    """Start every embedded model creature's slot afresh: its static prompt computed anew.

    llama.cpp's numbers depend on how a prompt was split between cached and
    new tokens (measured: a warm worker's rerun of a spec sampled other
    tokens than its cold run, at turn 1), so a run that began on whatever an
    earlier run left in a slot would depend on which worker ran it before.
    Each creature's system prompt is sent with `cache_prompt` off (and one
    token generated); the run's first turn then finds exactly that in its
    slot, in any worker. A warm worker still saves loading the models.
    Servers behind the `openai` backend are left as they are. Returns the
    slots reset.
    """
    import dataclasses

    from woodmarket.backends._chat import chat_body

    reset = 0
    for name, policy in wood.policies.items():
        backend: Any = getattr(policy, "backend", None)
        if getattr(policy, "label", "") != "llm" or not hasattr(backend, "chat"):
            continue
        if not hasattr(policy, "request"):
            continue
        request = dataclasses.replace(
            policy.request(wood.observe(name)),
            user="",
            grammar=None,
            max_tokens=1,
            temperature=0.0,
            logit_bias=(),
        )
        backend.chat(chat_body(request, model=backend.name, cache_prompt=False))
        reset += 1
    return reset


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
            from woodmarket.backends.embedded import get_embedded

            for model, slots in task.models:
                get_embedded(model, slots)
        wood = build(task)
        reset_slots(wood)
        acc = Outcome(task.spec.but(gambit=task.gambit).the_gambit(wood.scenario))
        acc.feed({"kind": "start", "prices": dict(wood.prices)})
        live = task.spec.cast != "standin" and any(
            getattr(p, "label", "") == "llm" for p in wood.policies.values()
        )
        # The outcome sees every record whole; then the clock readings leave for
        # timings.jsonl; then (`drive`) the trace is written.
        timings = Timings(out, buffered=not live)
        wood.listeners[:0] = [acc, timings]
        try:
            result = drive(task.spec, out, wood)
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
