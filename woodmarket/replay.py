"""Replay: re-run a recorded run from its decisions and check every record it wrote.

The spec comes from the run folder's run.json (folders of schema 1, written
before run.json held a spec, are rebuilt from its fields and the scenario
copy); no model is loaded. Each creature's decisions are made again:

- a stand-in's by the stand-in itself, from its own random stream;
- a model's from its recorded reply, parsed again against the replayed
  observation, with its prompt rebuilt from that observation;
- any other policy's (a replay cast, an imported class) as recorded.

The player's recorded moves are submitted again before their turns; a
gambit's come from the spec. Then every record of every turn, the start
record included, is compared with the one the replay produced, as JSON
(so `true` is not `1` and `3` is not `3.0`), the number of turns is
checked against run.json and summary.json, and a finished run's figures
in summary.json against the replayed ones. The report names the first
difference by turn, kind and index, with the fields that differ; a record
in the trace that the replay did not produce, or one it produced that the
trace lacks, is a difference too. docs/traces.md says which fields the
replay can only take from the record.

This room reads a run folder and steps a wood of its own; it writes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from woodmarket.build import build, played
from woodmarket.casts import describe, parse_cast
from woodmarket.errors import ReplayError, WoodmarketError
from woodmarket.financier import recorded_moves
from woodmarket.metrics import Tracker
from woodmarket.narrator import RecordedNarrator
from woodmarket.policies.replay import NO_DECISION, replay_policies
from woodmarket.policies.standin import StandinPolicy
from woodmarket.runner import summary_of
from woodmarket.scenario import Scenario, parse_scenario
from woodmarket.spec import RunSpec
from woodmarket.traces import (
    TIMED,
    TIMINGS,
    TRACE,
    dumps,
    load_trace,
    read_run,
    read_summary,
    schema_of,
    start_fields,
)
from woodmarket.types import Action, Observation
from woodmarket.wood import Wood

SHOW_FIELDS = 3  # fields named in a report line, at most
SHOW_CHARS = 40  # characters of a value shown, at most


@dataclass(frozen=True)
class ReplayReport:
    """What a replay found.

    `ok`: every recorded turn matches, record for record, and summary.json
    agrees with the trace and the replay. `complete`: the trace holds every
    turn run.json asked for. `passed`: both; only then does `woodmarket
    replay` exit 0.
    """

    turns: int  # finished turns in the trace
    checked: int  # turns replayed and found equal
    requested: int = 0  # turns run.json asked for
    mismatch_turn: int | None = None
    detail: str = ""  # the first difference (or an inconsistency of the counts)
    stopped: str = ""  # why the trace ends before `requested`; "" when it does not

    @property
    def ok(self) -> bool:
        return self.mismatch_turn is None and not self.detail and self.checked == self.turns

    @property
    def complete(self) -> bool:
        return not self.stopped

    @property
    def passed(self) -> bool:
        return self.ok and self.complete

    def line(self) -> str:
        """The verdict in one line, as `woodmarket replay` prints it."""
        if self.mismatch_turn is not None:
            return f"turn {self.mismatch_turn} differs: {self.detail}"
        if self.detail:
            return self.detail
        if self.stopped and self.turns == self.requested:
            return f"all {self.turns} turns match, but {self.stopped}"
        if self.stopped:
            return f"stopped after {self.turns} of {self.requested} turns ({self.stopped})"
        return f"all {self.turns} turns match"


def opened(folder: str | Path) -> tuple[Path, dict[str, Any], RunSpec, Scenario]:
    """A run folder's path, run.json, spec and scenario, checked (one line otherwise)."""
    folder = Path(folder)
    if not folder.is_dir():
        what = "a file" if folder.exists() else "nothing"
        raise ReplayError(f"{folder}: {what} there, not a run folder")
    meta = read_run(folder)
    spec, scenario = folder_spec(folder, meta)
    return folder, meta, spec, scenario


def replay(folder: str | Path) -> ReplayReport:
    """Replay the run in `folder` and compare; a damaged folder raises `ReplayError`."""
    folder, _, spec, _ = opened(folder)
    trace = load_trace(folder)
    summary = read_summary(folder)
    records = trace.records
    put_back_timings(folder, records)
    if not records:
        torn = " but a torn line" if trace.torn else ""
        raise ReplayError(f"{trace.path}: empty{torn}: no start record, nothing to replay")
    turns, disorder = _by_turn(records, trace.lines)
    last = max(turns)
    # A torn line cut the turn being written: that turn never finished.
    if trace.torn and turns[last][-1]["kind"] != "holdings" and last > 0:
        del turns[last]
        last -= 1
    finished = min(last, spec.turns)

    for check in (_moves_problem(spec, records, finished), fork_check(folder, spec)):
        turn, problem = check
        if problem:
            return ReplayReport(finished, turn - 1, spec.turns, turn, problem)
    try:
        wood = _wood(spec, records, finished)
    except WoodmarketError as exc:
        raise ReplayError(f"{folder / 'run.json'}: the run cannot be rebuilt: {exc}") from None
    tracker = Tracker(wood)
    wood.listeners.append(tracker)
    try:
        turn, checked, found = _compare(wood, turns, finished)
    finally:
        wood.close()
    if found:
        return ReplayReport(finished, checked, spec.turns, turn, found)
    beyond = [t for t in turns if t > spec.turns]
    if beyond:
        t = min(beyond)
        return ReplayReport(
            finished,
            checked,
            spec.turns,
            t,
            _extra(turns[t], 0, f"the run was for {spec.turns} turns"),
        )
    if disorder:
        t, detail = disorder
        return ReplayReport(finished, checked, spec.turns, t, detail)
    detail, stopped = _counts(finished, spec.turns, summary, trace.torn)
    if not detail and not stopped and summary is not None:
        detail = _figures(summary, summary_of(wood, tracker, spec.turns, ""))
    return ReplayReport(finished, checked, spec.turns, None, detail, stopped)


def _figures(recorded: Mapping[str, Any], replayed: dict[str, Any]) -> str:
    """The first figure of summary.json the replay does not reach ("" when all do).

    Keys the replay does not compute are left alone (a newer summary may carry
    more); `turns_requested` and `financier` are compared when present (older
    folders lack them); every other figure must be there.
    """
    optional = ("turns_requested", "financier")
    got = {
        k: v for k, v in json.loads(dumps(replayed)).items() if k in recorded or k not in optional
    }
    fields = _fields({k: recorded[k] for k in got if k in recorded}, got)
    return f"every record matches, but summary.json differs: {_listed(fields)}" if fields else ""


def _compare(
    wood: Wood, turns: Mapping[int, list[dict[str, Any]]], finished: int
) -> tuple[int, int, str]:
    """(turn, turns found equal, the first difference) over the start and `finished` turns."""
    start = _normal({"turn": 0, "kind": "start", **start_fields(wood)})
    found = difference(turns.get(0, []), [start])
    if found:
        return 0, 0, found
    for t in range(1, finished + 1):
        try:
            state = wood.step()
        except Exception as exc:  # a forged record may break the wood: a difference, not a crash
            return t, t - 1, f"the replay stopped: {type(exc).__name__}: {exc}"
        found = difference(turns.get(t, []), [_normal(r) for r in state.records])
        if found:
            return t, t - 1, found
    return finished, finished, ""


# -- the folder ----------------------------------------------------------


def put_back_timings(folder: Path, records: list[dict[str, Any]]) -> None:
    """Model calls' timings kept in timings.jsonl go back into their decision records.

    Replay takes them from the record as it takes them from any trace, so a
    run whose trace left them out replays the same way; a timings line that
    names no recorded call is a damaged folder.
    """
    path = folder / TIMINGS
    if not path.exists():
        return
    calls = {
        (r["turn"], r.get("creature")): r["call"]
        for r in records
        if r["kind"] == "decision" and isinstance(r.get("call"), dict)
    }
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            timing = json.loads(line)
        except ValueError:
            raise ReplayError(f"{path}:{i}: not a JSON line") from None
        if not isinstance(timing, dict) or "kind" in timing or "creature" not in timing:
            continue  # a turn's or the run's wall time
        call = calls.get((timing.get("turn"), timing["creature"]))
        if call is None:
            raise ReplayError(f"{path}:{i}: no model call of {timing['creature']} on that turn")
        for key in TIMED:
            if key in timing and key not in call:
                call[key] = timing[key]


def folder_spec(folder: Path, meta: dict[str, Any]) -> tuple[RunSpec, Scenario]:
    """The run's spec and scenario; scenario.toml must be the text the spec holds."""
    path = folder / "scenario.toml"
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ReplayError(f"{path}: missing (is {folder} a run folder?)") from None
    except UnicodeDecodeError as exc:
        raise ReplayError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ReplayError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    where = str(folder / "run.json")
    if schema_of(meta, where) >= 2 and "scenario_text" not in meta:
        raise ReplayError(f"{where}: schema 2 but no spec in it (no 'scenario_text')")
    try:
        if "scenario_text" in meta:
            spec = spec_of(meta, None, where)
            if spec.scenario_text != text:
                raise ReplayError(f"{path}: differs from the scenario text in {where}")
            return spec, spec.load_scenario()
        scenario = parse_scenario(text, str(path))
        gambit = meta.get("gambit")
        if gambit and gambit not in {g.name for g in scenario.gambits}:
            raise ReplayError(
                f"{where}: a schema 1 run of the gambit {gambit!r}, which its scenario.toml "
                "does not hold (gambits and legends belong to scenarios since schema 2): "
                "run it again to replay it"
            )
        return spec_of(meta, scenario, where), scenario
    except ReplayError:
        raise
    except WoodmarketError as exc:
        said = str(exc)
        raise ReplayError(said if said.startswith(where) else f"{where}: {said}") from None


def spec_of(meta: dict[str, Any], scenario: Any, where: str = "run.json") -> RunSpec:
    """The spec a run folder was made from (schema 1 folders: rebuilt from its fields)."""
    if "scenario_text" in meta:
        return RunSpec.from_dict(meta, where)
    if "seed" not in meta:
        raise ReplayError(f"{where}: missing 'seed'")
    seed, turns = meta["seed"], meta.get("turns", scenario.turns)
    for key, value in (("seed", seed), ("turns", turns)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ReplayError(f"{where}: {key!r} must be a whole number, got {value!r}")
    return RunSpec(
        scenario=str(meta.get("scenario_arg", scenario.name)),
        scenario_text=scenario.text,
        cast=str(meta.get("cast", "standin")),
        seed=seed,
        turns=turns,
        gambit=meta.get("gambit"),
        mechanism=meta.get("mechanism"),
        financier=bool(meta.get("financier")),
    )


def seated_as_recorded(spec: RunSpec, meta: Mapping[str, Any], where: str = "run.json") -> None:
    """Refuse, in one line, a run whose cast no longer seats the models it recorded.

    run.json's provenance keeps each creature's seat as it ran; resuming or
    forking asks the spec's cast again, and a cast that now seats other
    models (a council redefined, say) would continue another run.
    """
    recorded = (meta.get("provenance") or {}).get("seats")
    if not isinstance(recorded, Mapping) or spec.cast.startswith("replay:"):
        return
    names = tuple(c.name for c in spec.load_scenario().creatures)
    try:
        now = describe(parse_cast(spec.cast, names, spec.cast_text or None))
    except WoodmarketError:
        return  # the builder names what is wrong with the cast itself
    for name in names:
        was, seat = recorded.get(name), now.get(name)
        if isinstance(was, Mapping) and seat and was.get("model") != seat.get("model"):
            raise ReplayError(
                f"{where}: {name} ran on {was.get('model') or was.get('policy')!r}, and the cast "
                f"{spec.cast!r} now seats {seat.get('model') or seat.get('policy')!r}: "
                "this run cannot go on as it was recorded"
            )


def _by_turn(
    records: list[dict[str, Any]], lines: list[int]
) -> tuple[dict[int, list[dict[str, Any]]], tuple[int, str] | None]:
    """Records grouped by turn, and the first one written after a later turn's, if any."""
    out: dict[int, list[dict[str, Any]]] = {}
    disorder = None
    seen = 0
    for r, line in zip(records, lines, strict=True):
        t = r["turn"]
        if t < seen and disorder is None:
            disorder = (t, f"{r['kind']} on line {line} comes after records of turn {seen}")
        seen = max(seen, t)
        out.setdefault(t, []).append(r)
    return out, disorder


def _counts(
    turns: int, requested: int, summary: Mapping[str, Any] | None, torn: bool
) -> tuple[str, str]:
    """(an inconsistency, why the run stopped early) from the trace and summary.json."""
    said = None if summary is None else summary.get("turns")
    stopped = "" if summary is None else str(summary.get("stopped", "") or "")
    if turns < requested:
        if summary is None:
            return "", "no summary.json: the run did not finish"
        if said != turns:
            return "", f"summary.json says {said} turns: the trace was cut"
        return "", stopped or "summary.json does not say why"
    if summary is None:
        return "", "no summary.json: the run did not finish"
    if said != turns:
        return f"summary.json says {said} turns, the trace holds {turns}", ""
    if torn:
        return f"the trace ends in a torn line after all {turns} turns", ""
    return "", stopped


# -- the replayed wood -----------------------------------------------------


def _wood(spec: RunSpec, records: list[dict[str, Any]], upto: int) -> Wood:
    """The wood of the recorded run, its decisions and a player's moves from the record.

    The moves a player typed are decisions too: they are made again in their
    turns. A model narrator's headlines are model output too: read back,
    never asked again.
    """
    names = tuple(c.name for c in spec.load_scenario().creatures)
    narrated = any(r["kind"] == "narration" for r in records)
    wood = build(
        played(spec, records, upto),
        {n: _Hold() for n in names},
        narrator=RecordedNarrator(records) if narrated else None,
    )
    standins = {n: StandinPolicy(wood.rng("policy", n)) for n in names}
    wood.seat(replay_policies(records, names, standins))
    return wood


def _moves_problem(spec: RunSpec, records: list[dict[str, Any]], upto: int) -> tuple[int, str]:
    """(turn, what) where the trace lacks a move run.json's spec makes; (0, "") when none."""
    made = recorded_moves(records)
    for turn, wanted in spec.moves:
        if turn <= upto and tuple(made.get(turn, ()))[: len(wanted)] != wanted:
            return turn, f"financier: run.json's moves of turn {turn} are not the trace's"
    return 0, ""


class _Hold:
    """A placeholder: given policies, `build` builds no cast (and loads no model)."""

    label = "replay"
    concurrent = False

    def decide(self, obs: Observation) -> Action:
        return Action.hold("replay: no policy")


# -- comparing ---------------------------------------------------------------


def _normal(record: dict[str, Any]) -> dict[str, Any]:
    """A replayed record as it would read back from the trace."""
    loaded: dict[str, Any] = json.loads(dumps(record))
    return loaded


def difference(recorded: Sequence[dict[str, Any]], replayed: Sequence[dict[str, Any]]) -> str:
    """The first difference between a turn's records, and what else differs in the turn."""
    want = [dumps(r) for r in recorded]
    got = [dumps(r) for r in replayed]
    for i in range(max(len(want), len(got))):
        a = want[i] if i < len(want) else None
        b = got[i] if i < len(got) else None
        if a == b:
            continue
        if a is not None and (b is None or want[i + 1 : i + 2] == [b]):
            first, rest_want, rest_got = _extra(recorded, i), want[:i] + want[i + 1 :], got
        elif b is not None and (a is None or got[i + 1 : i + 2] == [a] or _unrecorded(replayed[i])):
            kind = replayed[i]["kind"]
            first = f"{kind} #{_index(replayed, i)} is missing from the trace (the replay made it)"
            rest_want, rest_got = want, got[:i] + got[i + 1 :]
        else:
            first = _edited(recorded, replayed, i)
            rest_want, rest_got = want[:i] + want[i + 1 :], got[:i] + got[i + 1 :]
        # The turn's other records that have no equal on the other side, by kind.
        unmatched = (Counter(rest_want) - Counter(rest_got)) + (
            Counter(rest_got) - Counter(rest_want)
        )
        also = sorted({json.loads(line)["kind"] for line in unmatched})
        return f"{first} (also differ this turn: {', '.join(also)})" if also else first
    return ""


def _unrecorded(record: dict[str, Any]) -> bool:
    """A decision the replay had to make up: the trace has none for that creature."""
    return record["kind"] == "decision" and record.get("reason") == NO_DECISION


def _edited(recorded: Sequence[dict[str, Any]], replayed: Sequence[dict[str, Any]], i: int) -> str:
    r, kind = recorded[i], replayed[i]["kind"]
    if r["kind"] != kind:
        return f"{r['kind']} #{_index(recorded, i)}: the replay made a {kind} record here"
    return f"{r['kind']} #{_index(recorded, i)}: {_listed(_fields(r, replayed[i]))}"


def _listed(fields: list[tuple[str, Any, Any]]) -> str:
    shown = "; ".join(
        f"{path} recorded {_short(x)}, replayed {_short(y)}" for path, x, y in fields[:SHOW_FIELDS]
    )
    more = f"; and {len(fields) - SHOW_FIELDS} more" if len(fields) > SHOW_FIELDS else ""
    return shown + more


def _extra(records: Sequence[dict[str, Any]], i: int, why: str = "") -> str:
    why = why or "forged or duplicated"
    return f"{records[i]['kind']} #{_index(records, i)} is in the trace but not replayed ({why})"


def _index(records: Sequence[dict[str, Any]], i: int) -> int:
    """The record's number among the turn's records of its kind, from 1."""
    kind = records[i]["kind"]
    return sum(1 for r in records[: i + 1] if r["kind"] == kind)


_ABSENT = object()


def _fields(a: Any, b: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Where two JSON values differ: (dotted path, recorded, replayed), type-strictly."""
    if _same(a, b):
        return []
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            sub = f"{path}.{k}" if path else str(k)
            out += _fields(a.get(k, _ABSENT), b.get(k, _ABSENT), sub)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _fields(x, y, f"{path}[{i}]")
        ]
    return [(path or "(record)", a, b)]


def _same(a: Any, b: Any) -> bool:
    if a is _ABSENT or b is _ABSENT:
        return a is b
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _short(value: Any) -> str:
    if value is _ABSENT:
        return "(absent)"
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= SHOW_CHARS else text[: SHOW_CHARS - 1] + "…"


def fork_check(folder: Path, spec: RunSpec) -> tuple[int, str]:
    """(turn, what) where a fork's prefix is not its parent's, (0, "") when it is or can't be told.

    Only when the parent's folder is there (`spec.fork.path`, relative to
    the fork's): its trace must still be the one forked (its sha256), and
    the fork's trace lines before turn K its very lines, byte for byte.
    """
    fork = spec.fork
    if fork is None or not fork.path:
        return 0, ""
    where = (folder / fork.path).resolve()
    if not (where / TRACE).is_file():
        return 0, ""
    theirs = (where / TRACE).read_bytes()
    if fork.sha256 and hashlib.sha256(theirs).hexdigest() != fork.sha256:
        return 1, f"the parent {fork.path} holds another trace than the one this fork was made from"
    mine = (folder / TRACE).read_bytes()
    lines = [_prefix_lines(data, fork.at) for data in (theirs, mine)]
    for t in range(fork.at):
        a, b = (x.get(t, []) for x in lines)
        if a != b:
            return max(t, 1), f"the fork's turn {t} is not its parent's (parent {fork.path})"
    return 0, ""


def _prefix_lines(data: bytes, at: int) -> dict[int, list[bytes]]:
    """A trace's lines of the turns before `at`, by turn (a line that is no record is dropped)."""
    out: dict[int, list[bytes]] = {}
    for line in data.split(b"\n"):
        try:
            turn = json.loads(line).get("turn")
        except (ValueError, AttributeError):
            continue
        if isinstance(turn, int) and turn < at:
            out.setdefault(turn, []).append(line)
    return out
