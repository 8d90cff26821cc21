"""What a sweep keeps of each run, beside the ordinary run folder.

    DIR/timings.jsonl   one line per model call (turn, creature, latency_ms), one
                        per turn (turn, kind "turn", wall_ms) and one for the whole
                        run, building included (kind "run", wall_ms): the clock readings
    DIR/outcome.json    the run's outcome for the report, written last: its
                        presence marks a finished run

`Timings` is a listener put ahead of the trace writer: it moves each model
call's `latency_ms` out of the turn's `decision` records into
timings.jsonl before the trace is written, so the same spec on the same
machine (serial sampling) gives a byte-identical trace.jsonl.

`outcome_of(folder, gambit)` computes an outcome from the recorded trace
alone (no model loaded): the report of a sweep and of its `--replay` come
from the same function. This room reads run folders and writes only the
two files above.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from woodmarket.traces import dumps, read_trace

if TYPE_CHECKING:
    from woodmarket.state import TurnState

TIMINGS = "timings.jsonl"
OUTCOME = "outcome.json"


class Timings:
    """A listener that takes clock readings out of the turn's records into timings.jsonl.

    Add it to `wood.listeners` before the run starts (ahead of the trace
    writer). The file is opened on the first turn, once the run folder exists.
    """

    def __init__(self, folder: str | Path, *, append: bool = False) -> None:
        self.path = Path(folder) / TIMINGS
        self.append = append
        self.file: Any = None
        self.last = time.perf_counter()

    def __call__(self, t: TurnState) -> None:
        now = time.perf_counter()
        lines = []
        for r in t.records:
            call = r.get("call") if r["kind"] == "decision" else None
            if isinstance(call, dict) and "latency_ms" in call:
                latency = call.pop("latency_ms")
                lines.append({"turn": t.turn, "creature": r["creature"], "latency_ms": latency})
        lines.append({"turn": t.turn, "kind": "turn", "wall_ms": round((now - self.last) * 1e3, 3)})
        self.last = now
        if self.file is None:
            self.file = self.path.open("a" if self.append else "w", encoding="utf-8")
        self.file.write("".join(dumps(x) + "\n" for x in lines))
        self.file.flush()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def read_timings(folder: str | Path) -> list[dict[str, Any]]:
    path = Path(folder) / TIMINGS
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            break  # a torn last line
    return out


def complete(folder: str | Path) -> bool:
    """A run that wrote its summary after all its turns (not stopped)."""
    try:
        summary = json.loads((Path(folder) / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return "stopped" not in summary and summary.get("turns") == summary.get("turns_requested")


def outcome_of(folder: str | Path, gambit: Any) -> dict[str, Any]:
    """A finished run's outcome, from its records: prices, P&L, cost, behaviour digest.

    `gambit` has `spring_turn`, `reckoning` and a target (`target`, or its
    legend's). `before` is the target's reference after the turn before the
    spring; `at_settlement` after the reckoning turn's settlement.
    """
    folder = Path(folder)
    target = getattr(gambit, "target", "") or gambit.the_legend().target
    path: list[int] = []
    pnl: int | None = None
    calls = prompt = cached = generated = 0
    digest = hashlib.sha256()
    for r in read_trace(folder):
        kind = r["kind"]
        if kind == "start":
            path.append(r["prices"][target])
        elif kind == "price" and r["good"] == target:
            path.append(r["reference"])
        elif kind == "book":
            pnl = r["pnl"]
        elif kind == "decision":
            call = r.get("call")
            behaviour = [r["turn"], r["creature"], r["valid"], r["offers"], r["gossip"]]
            behaviour.append(r.get("thought", ""))
            if call:
                calls += 1
                prompt += int(call.get("prompt_tokens") or 0)
                cached += int(call.get("cached_tokens") or 0)
                generated += int(call.get("generated_tokens") or 0)
                behaviour.append(call.get("response", ""))
            digest.update(dumps({"d": behaviour}).encode())
    timings = read_timings(folder)
    # The worker's own reading of the whole run (model loading included) when there is one.
    whole = [x["wall_ms"] for x in timings if x.get("kind") == "run"]
    turns_ms = sum(x.get("wall_ms", 0.0) for x in timings if x.get("kind") == "turn")
    wall_ms = whole[-1] if whole else turns_ms
    spring, reckoning = gambit.spring_turn, gambit.reckoning
    reached = len(path) > reckoning
    return {
        "target": target,
        "path": path,
        "before": path[spring - 1] if len(path) >= spring else None,
        "at_settlement": path[reckoning] if reached else None,
        "pnl": pnl,
        "turns": len(path) - 1,
        "complete": complete(folder),
        "calls": calls,
        "prompt_tokens": prompt,
        "cached_tokens": cached,
        "generated_tokens": generated,
        "wall_s": round(wall_ms / 1e3, 3),
        "behaviour": digest.hexdigest()[:16],
    }
