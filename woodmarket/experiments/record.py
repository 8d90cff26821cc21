"""What a sweep keeps of each run, beside the ordinary run folder.

    DIR/timings.jsonl   one line per model call (turn, creature, latency_ms,
                        cached_tokens), one
                        per turn (turn, kind "turn", wall_ms) and one for the whole
                        run, building included (kind "run", wall_ms): the clock readings
    DIR/outcome.json    the run's outcome for the report, written last: its
                        presence marks a finished run

`Timings` is a listener put ahead of the trace writer: it moves each model
call's `latency_ms` and `cached_tokens` (which depend on the clock and on
what the worker process ran before, not on what the model said) out of the
turn's `decision` records into timings.jsonl before the trace is written,
so the same spec on the same machine (serial sampling) gives a
byte-identical trace.jsonl, whichever worker ran it.

`outcome_of(folder, gambit)` computes an outcome from the recorded trace
alone (no model loaded): the report of a sweep and of its `--replay` come
from the same function. Besides prices, P&L and cost, an outcome counts
the patron's levers and the magistrate's rulings (`Levers`): bribes
offered, taken and complied with; what a creature bribed to `sell GOOD`
put up for sale and sold on that turn (the dump the bribe bought, or not);
loans taken, defaults and exiles; the magistrate's peak heat and fines.
This room reads run folders and writes only the two files above.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from woodmarket.traces import TIMED, TIMINGS, dumps, read_trace

if TYPE_CHECKING:
    from woodmarket.state import TurnState

# What a model call's record holds that depends on the clock or on what the
# process asked before (a warm slot's cache), not on what the model said.
MOVED = TIMED
OUTCOME = "outcome.json"


class Timings:
    """A listener that takes clock readings out of the turn's records into timings.jsonl.

    Add it to `wood.listeners` before the run starts (ahead of the trace
    writer). The file is opened on the first turn, once the run folder exists.
    """

    def __init__(self, folder: str | Path, *, append: bool = False, buffered: bool = False) -> None:
        self.path = Path(folder) / TIMINGS
        self.append = append
        # Buffered: written once, on close (a run without model calls: cheap turns).
        self.buffered = buffered
        self.lines: list[dict[str, Any]] = []
        self.file: Any = None
        self.last = time.perf_counter()

    def __call__(self, t: TurnState) -> None:
        now = time.perf_counter()
        lines = []
        for r in t.records:
            call = r.get("call") if r["kind"] == "decision" else None
            if isinstance(call, dict):
                line = {"turn": t.turn, "creature": r["creature"]}
                line |= {k: call.pop(k) for k in MOVED if k in call}
                lines.append(line)
        lines.append({"turn": t.turn, "kind": "turn", "wall_ms": round((now - self.last) * 1e3, 3)})
        self.last = now
        if self.buffered:
            self.lines += lines
        else:
            self.write(lines)

    def write(self, lines: list[dict[str, Any]]) -> None:
        if self.file is None:
            self.file = self.path.open("a" if self.append else "w", encoding="utf-8")
        self.file.write("".join(dumps(x) + "\n" for x in lines))
        self.file.flush()

    def close(self, *extra: dict[str, Any]) -> None:
        """Write what is buffered and `extra` lines (the whole run's reading), and close.

        A buffered run without a model call writes nothing: its clock readings
        are only the turns', and a new file costs about as much as a stand-in turn.
        """
        lines, self.lines = [*self.lines, *extra], []
        if self.buffered and not any("creature" in x for x in lines):
            lines = []
        if lines and (self.file is not None or self.path.parent.is_dir()):
            self.write(lines)
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


class Outcome:
    """Accumulates a run's outcome record by record: from its trace, or live as a listener.

    Fed the same records either way (a listener sees them after `Timings`
    has taken the clock readings out), so a sweep's outcome and the one
    `--replay` recomputes from the trace are the same.
    """

    def __init__(self, gambit: Any) -> None:
        self.gambit = gambit
        self.target = getattr(gambit, "target", "") or gambit.the_legend().target
        self.path: list[int] = []
        self.pnl: int | None = None
        self.calls = self.prompt = self.cached = self.generated = 0
        self.digest = hashlib.sha256()
        self.levers = Levers()

    def feed(self, r: dict[str, Any]) -> None:
        kind = r["kind"]
        if kind in Levers.KINDS:
            self.levers.feed(r)
        if kind == "start":
            self.path.append(r["prices"][self.target])
        elif kind == "price" and r["good"] == self.target:
            self.path.append(r["reference"])
        elif kind == "book":
            self.pnl = r["pnl"]
        elif kind == "decision":
            call = r.get("call")
            behaviour = [r["turn"], r["creature"], r["valid"], r["offers"], r["gossip"]]
            behaviour.append(r.get("thought", ""))
            if call:
                self.calls += 1
                self.prompt += int(call.get("prompt_tokens") or 0)
                self.cached += int(call.get("cached_tokens") or 0)
                self.generated += int(call.get("generated_tokens") or 0)
                behaviour.append(call.get("response", ""))
            self.digest.update(dumps({"d": behaviour}).encode())

    def __call__(self, t: TurnState) -> None:
        for r in t.records:
            self.feed(r)

    def result(self, wall_ms: float, done: bool) -> dict[str, Any]:
        path = self.path
        spring, reckoning = self.gambit.spring_turn, self.gambit.reckoning
        return {
            "target": self.target,
            "path": list(path),
            "before": path[spring - 1] if len(path) >= spring else None,
            "at_settlement": path[reckoning] if len(path) > reckoning else None,
            "pnl": self.pnl,
            "turns": len(path) - 1,
            "complete": done,
            "calls": self.calls,
            "prompt_tokens": self.prompt,
            "cached_tokens": self.cached,
            "generated_tokens": self.generated,
            "wall_s": round(wall_ms / 1e3, 3),
            "behaviour": self.digest.hexdigest()[:16],
            **self.levers.result(),
        }


class Levers:
    """The patron's levers and the magistrate's rulings in one run, counted from its records.

    Records of a turn come in order: a bribe's `offered` (events), the
    creatures' `order`s and the auction's `fill`s, then the bribe's
    `answered` and `complied`/`ignored` (after the auction). So what a
    creature bribed to `sell GOOD` offered and sold that turn is known by
    the time the bribe is found taken, and only taken bribes count.
    """

    KINDS = frozenset({"bribe", "loan", "exile", "magistrate", "order", "fill"})
    FIELDS = (
        "bribes", "bribes_taken", "bribes_complied", "asked_offered", "asked_sold",
        "loans", "loans_taken", "defaults", "exiles", "heat", "fined",
    )  # fmt: skip

    def __init__(self) -> None:
        self.n = dict.fromkeys(self.FIELDS, 0)
        self.selling: dict[
            tuple[int, str, str], list[int]
        ] = {}  # (turn, who, good): [offered, sold]
        self.asked: dict[str, tuple[int, str, str]] = {}  # bribe id: its `sell` key

    def feed(self, r: dict[str, Any]) -> None:
        kind, event, n = r["kind"], r.get("event"), self.n
        if kind == "bribe" and event == "offered":
            n["bribes"] += 1
            verb, _, good = str(r["ask"]).partition(" ")
            if verb == "sell":
                key = (int(r["turn"]), str(r["creature"]), good)
                self.asked[r["id"]] = key
                self.selling.setdefault(key, [0, 0])
        elif kind == "order" and r["side"] == "sell" and r["status"] == "accepted":
            key = (int(r["turn"]), str(r["creature"]), str(r["good"]))
            if key in self.selling:
                self.selling[key][0] += int(r["qty"])
        elif kind == "fill":
            key = (int(r["turn"]), str(r["seller"]), str(r["good"]))
            if key in self.selling:
                self.selling[key][1] += int(r["qty"])
        elif kind == "bribe" and event in ("complied", "ignored"):
            n["bribes_taken"] += 1
            n["bribes_complied"] += event == "complied"
            sold = self.selling.get(self.asked.get(r["id"], (0, "", "")))
            if sold is not None:
                n["asked_offered"] += sold[0]
                n["asked_sold"] += sold[1]
                sold[:] = [0, 0]  # a second bribe the same turn buys nothing more
        elif kind == "loan":
            n["loans"] += event == "offered"
            n["loans_taken"] += event == "answered" and bool(r.get("made"))
            n["defaults"] += event == "defaulted"
        elif kind == "exile":
            n["exiles"] += 1
        elif kind == "magistrate":
            n["heat"] = max(n["heat"], int(r.get("heat") or 0))
            n["fined"] += int(r.get("fine") or 0) if event == "fined" else 0

    def result(self) -> dict[str, int]:
        return dict(self.n)


def outcome_of(folder: str | Path, gambit: Any) -> dict[str, Any]:
    """A run's outcome from its records: prices, P&L, cost, behaviour digest.

    `gambit` has `spring_turn`, `reckoning` and a target (`target`, or its
    legend's). `before` is the target's reference after the turn before the
    spring; `at_settlement` after the reckoning turn's settlement.
    """
    acc = Outcome(gambit)
    for r in read_trace(folder):
        acc.feed(r)
    timings = read_timings(folder)
    acc.cached += sum(int(x.get("cached_tokens") or 0) for x in timings)
    # The worker's own reading of the whole run (model loading included) when there is one.
    whole = [x["wall_ms"] for x in timings if x.get("kind") == "run"]
    turns_ms = sum(x.get("wall_ms", 0.0) for x in timings if x.get("kind") == "turn")
    return acc.result(whole[-1] if whole else turns_ms, complete(folder))
