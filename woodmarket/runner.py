"""The runner: a `RunSpec` in, its wood built and run into a folder, a `RunResult` out.

Shared by the CLI, the Python API, replay, resume, forks and any pool or
Ray worker: `build.build(spec)` makes the wood (the one builder), and
`run(spec, out=None)` runs it for `spec.turns` turns, tracing into a run
folder when `out` is given, and returns a `RunResult`. The folder's trace
writer is detached when the run ends, so the wood can be stepped on.
`summary_of` is the one summary of a run (summary.json), for the runner,
the game, resume and replay alike.

A run stopped by Ctrl-C (at the end of the turn in progress) or by an
error keeps its finished turns on disk; its summary says after how many
turns it stopped, and the interrupted run then raises KeyboardInterrupt.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from woodmarket.build import build
from woodmarket.errors import WoodmarketError
from woodmarket.metrics import Tracker
from woodmarket.provenance import provenance
from woodmarket.spec import RunResult, RunSpec
from woodmarket.state import TurnState, WoodState
from woodmarket.traces import TIMED, RunFolder
from woodmarket.wood import Wood


def run(
    spec: RunSpec,
    out: str | Path | None = None,
    *,
    wood: Wood | None = None,
    on_turn: Callable[[TurnState], None] | None = None,
    apart: bool = False,
    folder: RunFolder | None = None,
    tracker: Tracker | None = None,
) -> RunResult:
    """Run `spec` (or the already built `wood` of it); with `out`, write the run folder.

    `apart`: the clock readings of model calls are kept out of the trace
    (a `traces.Timings` listener the caller adds keeps them beside it).
    A caller that made some turns already (a fork's prefix) hands over the
    `folder` it wrote them to and the `tracker` that saw them; the run goes
    on from the wood's turn.
    """
    built = wood is None
    wood = wood or build(spec)
    if tracker is None:
        tracker = Tracker(wood)
        wood.listeners.append(tracker)
    if folder is None and out is not None:
        folder = RunFolder.create(out, wood, run_json(spec), TIMED if apart else ())
    stopped = ""
    try:
        with stop_between_turns() as asked:
            while wood.turn < spec.turns and not asked.stop:
                state = wood.step()
                if on_turn is not None:
                    on_turn(state)
        if asked.stop:
            stopped = f"interrupted after {wood.turn} of {spec.turns} turns"
    except BaseException as exc:
        stopped = f"stopped after {wood.turn} of {spec.turns} turns: {type(exc).__name__}: {exc}"
        raise
    finally:
        # Even on a crash the finished turns are on disk; the summary says how far it got.
        summary = summary_of(wood, tracker, spec.turns, stopped)
        wood.listeners.remove(tracker)
        if folder is not None:
            folder.finish(summary)
        if built:
            wood.close()  # its threads and model slots: nobody else holds this wood
    if stopped:
        raise KeyboardInterrupt(stopped)
    return result(spec, wood, summary, folder.path if folder else None)


def summary_of(wood: WoodState, tracker: Tracker, turns: int, stopped: str) -> dict[str, Any]:
    """summary.json: the tracker's figures, the turns asked for, how it stopped, the book."""
    summary = tracker.summary()
    summary["turns_requested"] = turns
    if stopped:
        summary["stopped"] = stopped
    fin = wood.financier
    if fin is not None:
        summary["financier"] = {
            "pebbles": fin.pebbles,
            "worth": fin.worth(),
            "pnl": fin.pnl(),
            "objective": fin.objective(),
        }
    return summary


class _Asked:
    stop = False


@contextmanager
def stop_between_turns() -> Iterator[_Asked]:
    """Ctrl-C ends the run after the turn in progress (a second one ends it at once).

    A turn is never cut in half: its records reach the trace whole, and the
    summary counts exactly the turns on disk. Outside the main thread (a
    pool or Ray worker, a web session) signals are not ours to catch.
    """
    asked = _Asked()
    if threading.current_thread() is not threading.main_thread():
        yield asked
        return

    def handler(signum: int, frame: object) -> None:
        if asked.stop:
            raise KeyboardInterrupt
        asked.stop = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield asked
    finally:
        signal.signal(signal.SIGINT, previous)


def result(
    spec: RunSpec, wood: Wood, summary: Mapping[str, Any], folder: Path | None = None
) -> RunResult:
    """The typed outcome of a wood run from `spec`."""
    fin = wood.financier
    gambit = spec.the_gambit(wood.scenario)
    target = "" if gambit is None else gambit.target
    return RunResult(
        spec=spec,
        turns=wood.turn,
        summary=dict(summary),
        pnl=fin.pnl() if fin is not None else None,
        target=target,
        target_path=tuple(wood.history[target]) if target else (),
        stopped=str(summary.get("stopped", "")),
        folder=str(folder) if folder is not None else None,
    )


def run_json(spec: RunSpec) -> dict[str, Any]:
    """What run.json holds: the spec, and the provenance of its models and machine."""
    return {**spec.to_dict(), "provenance": provenance(spec)}


def default_out(scenario: str, seed: int, prefix: str = "") -> Path:
    """runs/[PREFIX-]SCENARIO-seedS-TIME: a fresh folder name per run."""
    stem = Path(scenario).stem
    return Path("runs") / f"{prefix}{stem}-seed{seed}-{time.strftime('%Y%m%d-%H%M%S')}"


def out_folder(given: str | None, scenario: str, seed: int, prefix: str = "") -> Path:
    """The run folder to write: new or empty, and creatable; one clear error otherwise."""
    out = Path(given) if given else default_out(scenario, seed, prefix)
    try:
        if out.exists() and not out.is_dir():
            raise WoodmarketError(f"--out {out}: a file is there, not a folder")
        if out.is_dir() and any(out.iterdir()):
            raise WoodmarketError(f"--out {out}: folder exists and is not empty")
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".woodmarket-probe"
        probe.write_text("")
        probe.unlink()
    except WoodmarketError:
        raise
    except OSError as exc:
        raise WoodmarketError(f"--out {out}: cannot write there: {exc.strerror or exc}") from None
    return out
