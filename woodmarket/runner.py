"""The runner: build a wood for a run, run it into a folder, summarise.

Shared by the CLI, the Python API and replay, so that a recorded run and
its replay are configured by exactly the same code from the same meta.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from woodmarket.casts import apply_cast, parse_cast
from woodmarket.metrics import Tracker
from woodmarket.scenario import Scenario
from woodmarket.traces import RunFolder
from woodmarket.turn import TurnState
from woodmarket.types import Policy
from woodmarket.wood import Wood


def build_wood(
    scenario: Scenario, seed: int, policies: Mapping[str, Policy] | None, meta: dict[str, Any]
) -> Wood:
    """A wood configured from a run's meta (the part of run.json that shapes play).

    `policies` given (a replay) win over the meta's `cast`; otherwise the
    cast spec in the meta picks each creature's policy (default: stand-in).
    """
    wood = Wood(scenario, seed, policies)
    cast = meta.get("cast", "standin")
    if policies is None and cast != "standin":
        apply_cast(wood, parse_cast(cast, wood.names))
    # The financier (a gambit's script, a played run) is configured from meta too.
    from woodmarket.financier import configure

    configure(wood, meta)
    return wood


def run(
    wood: Wood,
    turns: int,
    out: str | Path | None = None,
    meta: dict[str, Any] | None = None,
    on_turn: Callable[[TurnState], None] | None = None,
) -> dict[str, Any]:
    """Run `turns` turns; with `out`, write the run folder. Returns the summary."""
    tracker = Tracker(wood)
    wood.listeners.append(tracker)
    folder = RunFolder.create(out, wood, {"turns": turns, **(meta or {})}) if out else None
    try:
        for _ in range(turns):
            state = wood.step()
            if on_turn is not None:
                on_turn(state)
    finally:
        # Even on a crash the finished turns are on disk; the summary says how far it got.
        summary = tracker.summary()
        if folder is not None:
            folder.finish(summary)
    return summary
