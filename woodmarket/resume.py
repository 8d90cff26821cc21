"""Resume: continue a stopped or killed run folder from its last finished turn.

The folder's spec (run.json) rebuilds the wood with the one builder
(`build.build`), its moves the recorded player moves up to the last
finished turn and the spec's own after it (`build.played`); its finished
turns are made again from their records, without asking any model: a
model-driven creature plays back its recorded reply (parsed again, as
`replay` does), while a stand-in or imported policy decides again, so
that every random stream it draws from advances exactly as it did. Each
re-made turn's state records are checked against the recorded ones; then
the remaining turns run live and are appended to the trace. The trace is
first cut back to its last whole turn (a kill may leave half a turn or
half a line), and timings.jsonl (when the run has one) likewise.

A resumed run ends byte-identical to an uninterrupted one whenever its
live turns are themselves reproducible: always for the stand-in, and for
model casts asked one at a time (`Sampling.serial`) on the same machine.
For those, the finished turns' model calls are made again and checked
against the record: llama.cpp's numbers depend on all the work its slots
did before (measured: re-sending only the recorded prompts left the cache
holding the same tokens, yet the next turn sampled differently), so only
redoing that work puts the model where it was: from slots started afresh
(`build.reset_slots`, as every serial run begins), and on as many threads
as the first run had (run.json's provenance). Resuming a live run thus
saves no model time; it saves the run, and it proves it.

This room writes only inside the run folder it resumes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from woodmarket.build import build, played, reset_slots
from woodmarket.errors import ReplayError, WoodmarketError
from woodmarket.metrics import Tracker
from woodmarket.policies.replay import Prefixed, replay_policies
from woodmarket.replay import seated_as_recorded, spec_of
from woodmarket.runner import result, summary_of
from woodmarket.scenario import parse_scenario
from woodmarket.spec import RunResult, RunSpec
from woodmarket.state import TurnState
from woodmarket.traces import (
    TIMED,
    TIMINGS,
    TRACE,
    Timings,
    TraceWriter,
    dumps,
    read_run,
    write_whole,
)

# The records of the wood's state a resumed turn must reproduce before the run goes on.
STATE_KINDS = ("order", "fill", "price", "holdings")


def whole_turns(lines: list[str]) -> tuple[int, int]:
    """(last whole turn, how many lines it ends at) of a trace's lines.

    A turn is whole once its `holdings` record (the last of a turn) is in.
    """
    last, keep = 0, 0
    for i, line in enumerate(lines):
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            break
        if i == 0 and r.get("kind") == "start":
            keep = 1
        elif r.get("kind") == "holdings":
            last, keep = r["turn"], i + 1
    if keep == 0:
        raise ReplayError("the trace has no start record: nothing to resume from")
    return last, keep


def _cut(path: Path, upto: int) -> None:
    """Keep the lines of timings.jsonl that belong to turns <= upto."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            break
        if r.get("kind") != "run" and r.get("turn", 0) <= upto:
            kept.append(line)
    path.write_text("".join(kept), encoding="utf-8")


def resumable(folder: str | Path) -> tuple[int, int]:
    """(finished turns, turns wanted) of a run that can be resumed; an error otherwise."""
    folder = Path(folder)
    meta = read_run(folder)
    trace = folder / TRACE
    if not trace.exists():
        raise ReplayError(f"{trace}: no trace here (is {folder} a run folder?)")
    done, _ = whole_turns(trace.read_text(encoding="utf-8").splitlines(keepends=True))
    turns = int(meta.get("turns", 0))
    if done >= turns:
        raise WoodmarketError(f"{folder}: all {turns} turns are already done")
    return done, turns


def resume(
    folder: str | Path,
    *,
    on_turn: Callable[[TurnState], None] | None = None,
    listeners: list[Any] | None = None,
    diverged: list[str] | None = None,
) -> RunResult:
    """Continue the run in `folder` to its spec's turns; returns its result like `run`.

    `diverged` collects the re-asked model calls whose answers differ from
    the record (the run then goes on from the record, but its live turns
    cannot match an uninterrupted run byte for byte).
    """
    folder = Path(folder)
    meta = read_run(folder)
    trace = folder / TRACE
    if not trace.exists():
        raise ReplayError(f"{trace}: no trace here (is {folder} a run folder?)")
    lines = trace.read_text(encoding="utf-8").splitlines(keepends=True)
    done, keep = whole_turns(lines)
    spec: RunSpec = spec_of(meta, None) if "scenario_text" in meta else _old(meta, folder)
    seated_as_recorded(spec, meta, str(folder / "run.json"))
    if done >= spec.turns:
        raise WoodmarketError(f"{folder}: all {spec.turns} turns are already done")
    records = [json.loads(x) for x in lines[:keep]]
    # Cut back to the last whole turn (a kill may leave half a turn behind).
    if keep < len(lines) or (lines and not lines[-1].endswith("\n")):
        trace.write_text("".join(lines[:keep]), encoding="utf-8")
    timings_path = folder / TIMINGS
    _cut(timings_path, done)

    if spec.cast != "standin":
        _same_threads(meta)
    wood = build(played(spec, records, done))
    if spec.sampling.serial:
        # As the first run began: its slots started afresh, so turn 1 split its prompt
        # between cached and new tokens as it did then.
        reset_slots(wood)
    recorded = replay_policies(records, wood.names)
    reask = spec.sampling.serial
    found: list[str] = [] if diverged is None else diverged
    wood.seat({n: Prefixed(wood.policies[n], recorded[n], done, reask, found) for n in wood.names})
    tracker = Tracker(wood)
    wood.listeners.append(tracker)
    by_turn: dict[int, list[dict[str, Any]]] = {}
    for r in records:
        by_turn.setdefault(r["turn"], []).append(r)
    stopped = ""
    timings = None
    writer = None
    try:
        for t in range(1, done + 1):
            state = wood.step()
            want = [r for r in by_turn.get(t, []) if r["kind"] in STATE_KINDS]
            got = [json.loads(dumps(r)) for r in state.records if r["kind"] in STATE_KINDS]
            if want != got:
                raise ReplayError(
                    f"{folder}: turn {t} does not come out as recorded; cannot resume it"
                )
        if timings_path.exists():
            timings = Timings(folder, append=True)
            wood.listeners.insert(0, timings)
        for extra in listeners or ():
            wood.listeners.insert(0, extra)
        writer = TraceWriter(trace, TIMED if timings is not None else ())
        wood.listeners.append(writer)
        for _ in range(spec.turns - wood.turn):
            state = wood.step()
            if on_turn is not None:
                on_turn(state)
    except KeyboardInterrupt:
        stopped = f"interrupted after {wood.turn} of {spec.turns} turns"
        raise
    except BaseException as exc:
        stopped = f"stopped after {wood.turn} of {spec.turns} turns: {type(exc).__name__}: {exc}"
        raise
    finally:
        summary = summary_of(wood, tracker, spec.turns, stopped)
        if writer is not None:
            wood.listeners.remove(writer)
            writer.close()
        if timings is not None:
            timings.close()
        wood.listeners.remove(tracker)
        write_whole(folder / "summary.json", json.dumps(summary, indent=2, sort_keys=True) + "\n")
        wood.close()
    return result(spec, wood, summary, folder)


def _same_threads(meta: dict[str, Any]) -> None:
    """Run this process's models on as many threads as the first run's (run.json).

    llama.cpp's sums depend on how many threads split them: a sweep's pool
    worker runs on one core, a resumed run on all of them would sample
    differently. The process keeps the narrower core set afterwards.
    """
    want = (meta.get("provenance") or {}).get("threads")
    try:
        cores = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return
    if isinstance(want, int) and 0 < want < len(cores):
        os.sched_setaffinity(0, set(cores[:want]))


def _old(meta: dict[str, Any], folder: Path) -> RunSpec:
    text = (folder / "scenario.toml").read_text(encoding="utf-8")
    return spec_of(meta, parse_scenario(text, str(folder / "scenario.toml")))
