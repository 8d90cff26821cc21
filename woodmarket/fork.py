"""Forks: a recorded run branched at a turn, its prefix rebuilt from the record and proved.

    spec, parent = plan_fork("runs/game", 3, moves={3: ["spring oona_run settle"]})
    result = run_fork(spec, "runs/game-fork", parent)     # or open_fork: play it on

A fork at turn K goes back to the start of a recorded run (the parent),
re-steps turns 1 to K-1 through the one turn loop with the parent's
recorded decisions and moves (no model asked: a stand-in decides again
from its own stream, a model's reply is parsed again), so every piece of
state (ledger, stores, feelings, gossip, the legend book, the financier's
book, offers, the magistrate, every random stream) is rebuilt by the code
that built it; each re-made turn's records are compared with the
parent's, so a parent whose trace was edited is named and refused before
anything is written. From turn K the fork's own spec decides: its moves
(the parent's from K on are dropped when new ones are given, unless kept,
so a spring moved a turn earlier is never told twice), its mechanism for
legends told from then, its short, cast and sampling. Its trace's turns
before K are the parent's, byte for byte; `replay` checks them against
the parent when the parent's folder is there.

Model creatures start turn K on slots started afresh (llama.cpp's numbers
depend on a slot's whole history), so two forks of one parent with the
same changes repeat each other, but need not equal the parent's own
continuation; `reask` asks the models of the prefix again, as resume
does, for one that does (on serial sampling, on the machine that ran it).

A fork may run longer than its parent (`turns`): a sweep's arms fork from
a trunk that was run only to turn K-1. A parent that keeps its clock
readings in timings.jsonl (a sweep's run) is read with them put back, and
its fork keeps its own apart too (`apart`): the parent's readings of the
turns before K, then its own, so its trace's prefix is the parent's byte
for byte and it replays on its own.

This room reads the parent's folder and writes only the fork's.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from woodmarket.build import build, played, reset_slots, script_of
from woodmarket.casts import parse_cast
from woodmarket.commands import Short, parse_command
from woodmarket.errors import ActionError, ReplayError, WoodmarketError
from woodmarket.financier import recorded_moves
from woodmarket.metrics import Tracker
from woodmarket.narrator import RecordedNarrator, headline
from woodmarket.policies.replay import Prefixed, replay_policies
from woodmarket.policies.standin import StandinPolicy
from woodmarket.replay import difference, opened, put_back_timings, seated_as_recorded
from woodmarket.runner import run, run_json
from woodmarket.scenario import Scenario
from woodmarket.spec import Fork, RunResult, RunSpec, by_turn
from woodmarket.state import Narrator, TurnState, WoodState
from woodmarket.textfiles import read_text_file
from woodmarket.traces import (
    TIMED,
    TIMINGS,
    TRACE,
    RunFolder,
    Timings,
    dumps,
    load_trace,
    read_timings,
    start_fields,
)
from woodmarket.wood import Wood


@dataclass(frozen=True)
class Parent:
    """A recorded run a fork branches from, as its folder holds it."""

    folder: Path
    spec: RunSpec
    records: list[dict[str, Any]]
    finished: int  # its last whole turn
    sha256: str  # of its trace.jsonl
    apart: bool = False  # it keeps its clock readings in timings.jsonl (a sweep's run)

    def turn(self, t: int) -> list[dict[str, Any]]:
        return [r for r in self.records if r["turn"] == t]


def parent_of(folder: str | Path) -> Parent:
    """A run folder as a parent: its spec and records (the clock readings a sweep keeps in
    timings.jsonl put back), checked for shape (one line otherwise)."""
    folder, meta, spec, _ = opened(folder)
    seated_as_recorded(spec, meta, str(folder / "run.json"))
    trace = load_trace(folder)
    records = trace.records
    put_back_timings(folder, records)
    done = max((r["turn"] for r in records if r["kind"] == "holdings"), default=0)
    whole = [r for r in records if r["turn"] <= done]
    digest = hashlib.sha256((folder / TRACE).read_bytes()).hexdigest()
    return Parent(folder, spec, whole, done, digest, (folder / TIMINGS).exists())


def plan_fork(
    parent: str | Path | Parent,
    at: int,
    *,
    out: str | Path | None = None,
    moves: Mapping[int, Sequence[str]] | None = None,
    keep_moves: bool | None = None,
    mechanism: str | None = None,
    short: int | None = None,
    cast: str | None = None,
    knobs: Mapping[str, float] | None = None,
    serial: bool | None = None,
    reask: bool = False,
    turns: int | None = None,
) -> tuple[RunSpec, Parent]:
    """The fork's spec: the parent's plus the turn K and what changes from it.

    `moves` (turn -> commands, turns from K on) replace the parent's moves
    from K on unless `keep_moves`; with none given, the parent's are kept,
    unless `keep_moves` is False: then none are made from K (an undo, as a
    game's rewind is). `turns`: the fork's length (default its parent's), so
    a fork can go on past a parent that ended at K-1.
    `short` resizes the shorts the fork makes from K on; `cast` seats other
    models, `knobs` (sampling knobs by name) decode otherwise from K,
    `serial` asks them one at a time (two forks then repeat each other); `reask` asks
    the prefix's models again (the cast and sampling then stay the
    parent's). Every mistake is one `WoodmarketError` naming it.
    """
    p = parent if isinstance(parent, Parent) else parent_of(parent)
    length = p.spec.turns if turns is None else turns
    last = min(p.finished + 1, length)
    if isinstance(at, bool) or not isinstance(at, int) or not 1 <= at <= last:
        raise WoodmarketError(
            f"--at {at}: {p.folder} finished {p.finished} of {p.spec.turns} turns; "
            f"a fork starts at a turn from 1 to {last}"
        )
    given = {int(t): list(cmds) for t, cmds in (moves or {}).items()}
    scenario = p.spec.load_scenario()
    bad = move_problem(scenario, given, at, length)
    if bad:
        raise WoodmarketError(f"--moves {bad}")
    keep = not given if keep_moves is None else keep_moves
    whole = played(p.spec, p.records, p.finished)  # the moves its player typed, made again
    changed_cast = cast is not None and cast != p.spec.cast
    sampling = p.spec.sampling.but(**dict(knobs or {}), serial=serial)
    if reask and (changed_cast or sampling != p.spec.sampling):
        raise WoodmarketError(
            "--reask asks the parent's models again: it keeps the parent's cast and sampling"
        )
    spec_cast, cast_text = p.spec.cast, p.spec.cast_text
    if changed_cast and cast is not None:
        parse_cast(cast, scenario.creature_names)  # a bad cast is refused now
        spec_cast, cast_text = (
            cast,
            read_text_file(cast, "a cast file") if cast.endswith(".toml") else "",
        )
    # The parent's player's moves from K on, when kept, are the fork's own first.
    after = {t: list(cmds) for t, cmds in whole.moves if t >= at} if keep else {}
    for t, cmds in given.items():
        after.setdefault(t, []).extend(cmds)
    own = by_turn(after)
    if short is not None:
        # The shorts the fork makes from K: its parent's (kept) and its own, resized.
        base = script_of(whole) if keep else {}
        kept = {t: [c for c, _ in ms] for t, ms in base.items() if t >= at}
        for t, cmds in given.items():
            kept.setdefault(t, []).extend(cmds)
        own = by_turn({t: [_resized(c, short) for c in cmds] for t, cmds in kept.items()})
        keep = False
    place = ""
    if out is not None:
        place = os.path.relpath(p.folder.resolve(), Path(out).resolve())
    fork = Fork(at, whole, place, p.sha256, keep, reask)
    spec = p.spec.but(
        fork=fork,
        moves=own,
        mechanism=mechanism if mechanism is not None else p.spec.mechanism,
        cast=spec_cast,
        cast_text=cast_text,
        sampling=sampling,
        turns=length,
    )
    return spec, p


def move_problem(scenario: Scenario, moves: Mapping[int, Sequence[str]], at: int, last: int) -> str:
    """The first of a fork's moves (turn -> commands) it cannot make, as `TURN:COMMAND: why`;
    "" when it can make them all: each falls on a turn from `at` to `last` and parses
    against the scenario."""
    lexicon = replace(scenario.lexicon, legend_files=True)
    for t, cmds in sorted(moves.items()):
        if t < at or t > last:
            return f"{t}:{cmds[0] if cmds else ''}: a fork's moves fall on its turns {at} to {last}"
        for cmd in cmds:
            try:
                parse_command(cmd).named(lexicon)
            except ActionError as exc:
                return f"{t}:{cmd}: {exc}"
    return ""


def _resized(command: str, qty: int) -> str:
    try:
        parsed = parse_command(command)
    except ActionError:
        return command
    return Short(parsed.good, qty).line() if isinstance(parsed, Short) else command


@dataclass
class Forked:
    """A fork ready to go on: its wood at the end of turn K-1, its folder with the prefix
    written, and the tracker that saw the prefix (for the run's summary)."""

    spec: RunSpec
    wood: Wood
    folder: RunFolder | None
    tracker: Tracker
    new: dict[int, list[str]]  # the moves a player changed, by turn
    timings: Timings | None = None  # keeps its clock readings apart (a listener of its wood)

    def check(self, state: TurnState) -> None:
        """A changed move refused when it was made stops the fork there (its refusal traced)."""
        _made(self.new.get(state.turn, ()), state)

    def run(self, on_turn: Callable[[TurnState], None] | None = None) -> RunResult:
        """Run the fork on from turn K to its end into its folder, then close its wood."""

        def turned(state: TurnState) -> None:
            self.check(state)
            if on_turn is not None:
                on_turn(state)

        try:
            return run(
                self.spec, wood=self.wood, on_turn=turned, folder=self.folder, tracker=self.tracker
            )
        finally:
            if self.timings is not None:
                self.timings.close()
            self.wood.close()


def open_fork(
    spec: RunSpec,
    out: str | Path | None,
    parent: Parent,
    *,
    diverged: list[str] | None = None,
    apart: bool | None = None,
) -> Forked:
    """Rebuild turns 1 to K-1 from `parent` and prove them, then write the fork's folder.

    Nothing is written when the parent's record does not hold (a `ReplayError`),
    nor anywhere when `out` is None (an environment's episode keeps no folder).
    `apart` (default: as the parent does): the clock readings of model calls
    are kept out of the fork's trace, in its timings.jsonl (the parent's of
    turns before K, then the fork's own, by `Forked.timings`, which the caller
    closes when it runs the fork on itself).
    The wood is the caller's to step on (the terminal or the web app plays it;
    `run_fork` runs it) and to close.
    """
    if spec.fork is None:
        raise WoodmarketError("this spec is no fork (it names no parent and turn)")
    wood = build(spec)
    try:
        start = {"turn": 0, "kind": "start", **start_fields(wood)}
        found = difference(parent.turn(0), [json.loads(dumps(start))])
        if found:
            raise ReplayError(f"{parent.folder}: its start is not this wood's ({found})")
        prefix = _prefix(wood, spec, parent, diverged)
        apart = parent.apart if apart is None else apart
        folder = None if out is None else _folder(out, wood, spec, start, prefix, apart)
        timings = None if folder is None or not apart else _timings(folder.path, wood, parent)
    except BaseException:
        wood.close()
        raise
    return Forked(spec, wood, folder, prefix.tracker, _new_moves(spec, parent), timings)


def run_fork(
    spec: RunSpec,
    out: str | Path,
    parent: Parent,
    *,
    on_turn: Callable[[TurnState], None] | None = None,
    diverged: list[str] | None = None,
) -> RunResult:
    """Rebuild the prefix from `parent` and prove it, then write the fork and run it on."""
    forked = open_fork(spec, out, parent, diverged=diverged)
    return forked.run(on_turn)


def _new_moves(spec: RunSpec, parent: Parent) -> dict[int, list[str]]:
    """The fork's moves its parent did not make (the ones a player changed), by turn."""
    made = recorded_moves(parent.records)
    out: dict[int, list[str]] = {}
    for t, cmds in spec.moves:
        left = list(made.get(t, ()))
        for c in cmds:
            if c in left:
                left.remove(c)
            else:
                out.setdefault(t, []).append(c)
    return out


def _made(new: Sequence[str], state: TurnState) -> None:
    """A changed move refused when it was made stops the fork there (the refusal is traced)."""
    for r in state.records:
        refused = r["kind"] == "financier" and r["source"] == "player" and not r["ok"]
        if refused and r["command"] in new:
            raise ActionError(
                f"the fork's move {state.turn}:{r['command']} was refused when made: {r['outcome']}"
            )


@dataclass
class _Prefix:
    tracker: Tracker
    turns: list[list[dict[str, Any]]]


def _prefix(wood: Wood, spec: RunSpec, parent: Parent, diverged: list[str] | None) -> _Prefix:
    """Turns 1 to K-1 made again from the parent's record, each compared with it."""
    assert spec.fork is not None
    at, reask = spec.fork.at, spec.fork.reask
    # Fresh slots: with `reask` the prefix makes the parent's slot history again; without,
    # the prefix asks no model, and turn K finds each slot holding its static prompt only.
    reset_slots(wood)
    standins = {n: StandinPolicy(wood.rng("policy", n)) for n in wood.names}
    recorded = replay_policies(parent.records, wood.names, standins)
    wood.seat(
        {n: Prefixed(wood.policies[n], recorded[n], at - 1, reask, diverged) for n in wood.names}
    )
    if any(r["kind"] == "narration" and r["turn"] < at for r in parent.records):
        wood.narrator = _until(at, RecordedNarrator(parent.records), wood.narrator)
    tracker = Tracker(wood)
    wood.listeners.append(tracker)
    turns = []
    for t in range(1, at):
        state = wood.step()
        got = [json.loads(dumps(r)) for r in state.records]
        found = difference(parent.turn(t), got)
        if found:
            raise ReplayError(
                f"{parent.folder}: turn {t} does not come out as recorded ({found}); "
                "a fork rebuilds its parent's turns, and these cannot be"
            )
        turns.append(state.records)
    return _Prefix(tracker, turns)


def _until(at: int, before: Narrator, after: Narrator | None) -> Narrator:
    """The recorded narrator for the parent's turns, the fork's own from turn `at`."""

    def narrate(wood: WoodState, t: TurnState) -> str:
        return before(wood, t) if t.turn < at else (after or headline)(wood, t)

    return narrate


def _folder(
    out: str | Path,
    wood: WoodState,
    spec: RunSpec,
    start: dict[str, Any],
    prefix: _Prefix,
    apart: bool,
) -> RunFolder:
    """The fork's folder: its spec, the start, and the prefix's records as re-made."""
    folder = RunFolder.create(out, wood, run_json(spec), TIMED if apart else (), start=start)
    for records in prefix.turns:
        folder.writer.write(records)
    return folder


def _timings(path: Path, wood: Wood, parent: Parent) -> Timings:
    """The fork's timings.jsonl: the parent's readings of the model calls of its prefix
    (its records carry them), then a listener of the wood keeping the fork's own."""
    at = wood.turn + 1
    asks = any(getattr(p, "label", "") == "llm" for p in wood.policies.values())
    timings = Timings(path, append=True, buffered=not asks)
    calls = [x for x in read_timings(parent.folder) if "creature" in x and x.get("turn", 0) < at]
    if calls:
        timings.write(calls)
    wood.listeners.insert(0, timings)
    return timings
