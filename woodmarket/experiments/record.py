"""What a sweep keeps of each run, beside the ordinary run folder.

    DIR/timings.jsonl   one line per model call (turn, creature, latency_ms,
                        cached_tokens), one
                        per turn (turn, kind "turn", wall_ms) and one for the whole
                        run, building included (kind "run", wall_ms): the clock readings
    DIR/outcome.json    the run's outcome for the report, written last: its
                        presence marks a finished run

The clock readings of each model call (`latency_ms`, `cached_tokens`:
they depend on the clock and on what the worker ran before, not on what
the model said) are kept in timings.jsonl by `traces.Timings`, and kept
out of the trace by its writer, so the same spec on the same machine
(serial sampling) gives a byte-identical trace.jsonl, whichever worker
ran it.

`outcome_of(folder, gambit)` computes an outcome from the recorded trace
alone (no model loaded): the report of a sweep and of its `--replay` come
from the same function. An arm forked at turn K (`fork_at`) counts as its
cost (calls, tokens) only the calls of its turns from K; the calls of its
prefix, rebuilt from its trunk's record without a model, are its
`prefix_calls` (the calls forking saved it; its trunk made them once).
Besides prices, P&L and cost, an outcome counts the patron's levers and
the magistrate's rulings (`Levers`): bribes offered, taken and complied
with; what a creature bribed to `sell GOOD` put up for sale and sold on
that turn (the dump the bribe bought, or not); loans taken, defaults and
exiles; the magistrate's peak heat and fines.
This room reads run folders and writes only the two files above.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from woodmarket.traces import dumps, read_timings, read_trace

if TYPE_CHECKING:
    from woodmarket.state import TurnState

OUTCOME = "outcome.json"


def complete(folder: str | Path) -> bool:
    """A run that wrote its summary after all its turns (not stopped)."""
    try:
        summary = json.loads((Path(folder) / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return "stopped" not in summary and summary.get("turns") == summary.get("turns_requested")


class Outcome:
    """Accumulates a run's outcome record by record: from its trace, or live as a listener.

    Fed the same records either way (a listener sees each record whole; the
    trace keeps the clock readings apart, in timings.jsonl, which
    `outcome_of` reads back), so a sweep's outcome and the one `--replay`
    recomputes from the trace are the same.
    """

    def __init__(self, gambit: Any, fork_at: int = 0) -> None:
        self.gambit = gambit
        self.fork_at = fork_at
        self.target = getattr(gambit, "target", "") or gambit.the_legend().target
        self.path: list[int] = []
        self.pnl: int | None = None
        self.calls = self.prompt = self.cached = self.generated = self.prefix_calls = 0
        self.digest = hashlib.sha256()
        self.levers = Levers()
        self.forced = 0  # the house's margin calls: covers the financier did not choose

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
        elif kind == "financier" and r.get("source") == "margin":
            self.forced += 1
        elif kind == "decision":
            call = r.get("call")
            behaviour = [r["turn"], r["creature"], r["valid"], r["offers"], r["gossip"]]
            behaviour.append(r.get("thought", ""))
            if call:
                behaviour.append(call.get("response", ""))
            if call and r["turn"] < self.fork_at:
                self.prefix_calls += 1  # rebuilt from the trunk's record: no model asked
            elif call:
                self.calls += 1
                self.prompt += int(call.get("prompt_tokens") or 0)
                self.cached += int(call.get("cached_tokens") or 0)
                self.generated += int(call.get("generated_tokens") or 0)
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
            "forced_covers": self.forced,
            "turns": len(path) - 1,
            "complete": done,
            "calls": self.calls,
            "prompt_tokens": self.prompt,
            "cached_tokens": self.cached,
            "generated_tokens": self.generated,
            "wall_s": round(wall_ms / 1e3, 3),
            "behaviour": self.digest.hexdigest()[:16],
            **self.levers.result(),
        } | ({"fork_at": self.fork_at, "prefix_calls": self.prefix_calls} if self.fork_at else {})


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


def outcome_of(folder: str | Path, gambit: Any, fork_at: int | None = None) -> dict[str, Any]:
    """A run's outcome from its records: prices, P&L, cost, behaviour digest (`fork_at`:
    an arm forked at that turn, whose prefix cost no model call).

    `gambit` has `spring_turn`, `reckoning` and a target (`target`, or its
    legend's). `before` is the target's reference after the turn before the
    spring; `at_settlement` after the reckoning turn's settlement.
    """
    acc = Outcome(gambit, fork_at or 0)
    for r in read_trace(folder):
        acc.feed(r)
    timings = read_timings(folder)
    own = [x for x in timings if x.get("turn", 0) >= acc.fork_at]  # (a fork's prefix: its trunk's)
    acc.cached += sum(int(x.get("cached_tokens") or 0) for x in own)
    # The worker's own reading of the whole run (model loading included) when there is one.
    whole = [x["wall_ms"] for x in timings if x.get("kind") == "run"]
    turns_ms = sum(x.get("wall_ms", 0.0) for x in timings if x.get("kind") == "turn")
    return acc.result(whole[-1] if whole else turns_ms, complete(folder))
