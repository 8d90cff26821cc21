"""Traces: one run = one folder, written as the run goes, readable after a crash.

    DIR/scenario.toml   the scenario as read
    DIR/run.json        the run's spec, provenance and versions (written first)
    DIR/trace.jsonl     one JSON record per line, appended and flushed each turn
    DIR/summary.json    written when the run ends, also when it stops on an error

Records carry `turn` and `kind`; the schema is documented in
docs/traces.md and versioned by `SCHEMA_VERSION`. Records are written with
sorted keys and no floats from clocks in state records, so a seeded
stand-in run's trace.jsonl is byte-identical from run to run. Every line
is strict JSON and valid UTF-8, whatever a model or a policy put in a
record. The readers here refuse a damaged folder with one `ReplayError`
naming the file and what is wrong with it; only a torn last line (a crash
mid-write) is tolerated.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from woodmarket.errors import ReplayError
from woodmarket.version import __version__

if TYPE_CHECKING:
    from woodmarket.state import TurnState, WoodState

# The run folder's schema; see docs/traces.md for when it is bumped.
SCHEMA_VERSION = 2
# Schema versions this woodmarket reads (1: run.json before it held a whole spec).
READS = (1, 2)
TRACE = "trace.jsonl"
# A run that repeats byte for byte (a sweep's) keeps its clock readings and
# what a warm model slot happened to have cached out of the trace, here.
TIMINGS = "timings.jsonl"
TIMED = ("latency_ms", "cached_tokens")

_encoder = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def _unencodable(value: object) -> object:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _fast_encoder() -> Callable[[Any], str]:
    """The same encoding as `_encoder`, through json's C encoder built once.

    A trace line is written for every record of every turn (tens of thousands
    a second); building an encoder per record, as `json.dumps` does, was a
    third of the cost. Records are trees, so no cycle check is needed.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    basestring = getattr(json.encoder, "c_encode_basestring", None)
    if make is None or basestring is None:
        return _encoder.encode
    c = make(None, _unencodable, basestring, None, ":", ",", True, False, False)

    def encode(record: Any) -> str:
        return "".join(c(record, 0))

    return encode


_encode = _fast_encoder()


def dumps(record: dict[str, Any]) -> str:
    """One record as one line of strict JSON (no NaN, no Infinity) that encodes as UTF-8.

    The fast path is a single encode; only a record that fails it (a
    non-finite float) or that holds a lone surrogate (from a model's broken
    output) is walked and cleaned: non-finite floats become null, lone
    surrogates are written visibly escaped (the text `\\ud83d`).
    """
    try:
        line = _encode(record)
    except ValueError:
        return _encode(_clean(record))
    if not line.isascii():
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:
            return _encode(_clean(record))
    return line


def json_file(data: dict[str, Any]) -> str:
    """run.json or summary.json: indented, and as strict as a trace line (written once a run)."""
    return json.dumps(_clean(data), indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_whole(path: Path, text: str) -> None:
    """Write `text` to `path` so that a reader finds the old file, or the new one whole.

    Written beside it and renamed over it: a reader waiting for a run's
    summary.json (a browser test, a sweep collecting outcomes) never reads a
    half-written one.
    """
    part = path.with_name(path.name + ".part")
    part.write_text(text, encoding="utf-8")
    os.replace(part, path)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {_clean(k) if isinstance(k, str) else k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


class TraceWriter:
    """A listener that appends each finished turn's records and flushes.

    `apart`: fields of a model call's record kept out of the trace (the
    clock readings, `TIMED`, when a `Timings` listener keeps them in
    timings.jsonl). The writer writes a projection of each record; it
    changes none: every listener reads a turn's records as they are.
    """

    def __init__(self, path: Path, apart: tuple[str, ...] = ()) -> None:
        self.path = path
        self.apart = apart
        self.file = path.open("a", encoding="utf-8")

    def write(self, records: list[dict[str, Any]]) -> None:
        if self.apart:
            records = [self.projected(r) for r in records]
        self.file.write("".join(dumps(r) + "\n" for r in records))
        self.file.flush()

    def projected(self, record: dict[str, Any]) -> dict[str, Any]:
        call = record.get("call") if record["kind"] == "decision" else None
        if not isinstance(call, dict) or not any(k in call for k in self.apart):
            return record
        kept = {k: v for k, v in call.items() if k not in self.apart}
        return {**record, "call": kept}

    def __call__(self, turn: TurnState) -> None:
        self.write(turn.records)

    def close(self) -> None:
        self.file.close()


class Timings:
    """A listener that keeps a run's clock readings in timings.jsonl, beside its trace.

    One line per model call (turn, creature, and its `TIMED` fields: what
    depends on the clock or on what the process asked before, not on what
    the model said), one per turn (kind "turn", wall_ms), and on `close`
    any extra lines (a sweep's whole run). With the trace writer keeping
    the same fields apart, the same spec on the same machine (serial
    sampling) gives a byte-identical trace.jsonl, whichever worker ran it.
    It reads the turn's records and changes none. The file is opened on the
    first turn, once the run folder exists.
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
                line |= {k: call[k] for k in TIMED if k in call}
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


def versions() -> dict[str, str]:
    return {
        "woodmarket": __version__,
        "python": platform.python_version(),
        "platform": sys.platform,
        "schema": str(SCHEMA_VERSION),
    }


@dataclass
class RunFolder:
    """Creates a run's folder and attaches its trace writer to a wood."""

    path: Path
    writer: TraceWriter
    wood: WoodState

    @classmethod
    def create(
        cls,
        path: str | Path,
        wood: WoodState,
        meta: dict[str, Any],
        apart: tuple[str, ...] = (),
        start: dict[str, Any] | None = None,
    ) -> RunFolder:
        """The folder, its start record (`start`: the wood before turn 1, when it has
        stepped since: a fork's prefix) written, its writer listening to the wood."""
        path = Path(path)
        if path.exists() and any(path.iterdir()):
            raise FileExistsError(f"{path}: output folder exists and is not empty")
        path.mkdir(parents=True, exist_ok=True)
        (path / "scenario.toml").write_text(wood.scenario.text, encoding="utf-8")
        run = {"seed": wood.seed, "scenario": wood.scenario.name, "versions": versions(), **meta}
        write_whole(path / "run.json", json_file(run))
        writer = TraceWriter(path / TRACE, apart)
        writer.write([start or {"turn": 0, "kind": "start", **start_fields(wood)}])
        wood.listeners.append(writer)
        return cls(path, writer, wood)

    def finish(self, summary: dict[str, Any]) -> None:
        """Detach from the wood (it may be stepped on) and write the summary."""
        if self.writer in self.wood.listeners:
            self.wood.listeners.remove(self.writer)
        self.writer.close()
        write_whole(self.path / "summary.json", json_file(summary))


def start_fields(wood: WoodState) -> dict[str, Any]:
    return {"prices": dict(wood.prices), "holders": wood.holdings(), "creatures": list(wood.names)}


@dataclass(frozen=True)
class Trace:
    """A run's records in file order; `torn` when its last line was cut by a crash."""

    path: Path
    records: list[dict[str, Any]]
    lines: list[int]  # the line number of each record
    torn: bool = False


def load_trace(folder: str | Path) -> Trace:
    """Every record of a trace, checked for shape; one clear `ReplayError` when damaged.

    A record is a JSON object with a whole-number `turn` (0 or more) and a
    string `kind`. Only the last line may be broken, and only when it ends
    without a newline: that is a crash mid-write, and the line is dropped.
    """
    path = Path(folder) / TRACE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ReplayError(f"{path}: missing (is {folder} a run folder?)") from None
    except IsADirectoryError:
        raise ReplayError(f"{path}: a folder, not a trace file") from None
    except OSError as exc:
        raise ReplayError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    chunks = raw.split(b"\n")
    last = chunks.pop()  # b"" when the file ends with a newline
    records: list[dict[str, Any]] = []
    numbers: list[int] = []
    for i, chunk in enumerate(chunks, 1):
        records.append(_record(path, i, chunk))
        numbers.append(i)
    torn = False
    if last:
        try:
            records.append(_record(path, len(chunks) + 1, last))
            numbers.append(len(chunks) + 1)
        except ReplayError:
            torn = True  # the run died while writing this line; earlier lines stand
    return Trace(path, records, numbers, torn)


def _record(path: Path, i: int, chunk: bytes) -> dict[str, Any]:
    try:
        text = chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReplayError(f"{path}:{i}: not UTF-8 text (byte {exc.start} of the line)") from None
    try:
        record = json.loads(text)
    except ValueError:
        what = "a blank line" if not text.strip() else "not a JSON record"
        raise ReplayError(f"{path}:{i}: {what}") from None
    if not isinstance(record, dict):
        raise ReplayError(f"{path}:{i}: a record must be a JSON object, got {_json_type(record)}")
    for key in ("turn", "kind"):
        if key not in record:
            raise ReplayError(f"{path}:{i}: a record without {key!r}")
    turn = record["turn"]
    if isinstance(turn, bool) or not isinstance(turn, int) or turn < 0:
        raise ReplayError(f"{path}:{i}: 'turn' must be a whole number >= 0, got {turn!r}")
    if not isinstance(record["kind"], str) or not record["kind"]:
        raise ReplayError(f"{path}:{i}: 'kind' must be a name, got {record['kind']!r}")
    return record


def read_trace(folder: str | Path) -> Iterator[dict[str, Any]]:
    """Records in order; a torn last line (a crash mid-write) is skipped, not fatal."""
    yield from load_trace(folder).records


def read_run(folder: str | Path) -> dict[str, Any]:
    """run.json as a dict, of a schema version this woodmarket reads."""
    path = Path(folder) / "run.json"
    data = _read_json(path, folder)
    if not isinstance(data, dict):
        raise ReplayError(f"{path}: expected a JSON object, got {_json_type(data)}")
    schema_of(data, path)
    return data


def read_summary(folder: str | Path) -> dict[str, Any] | None:
    """summary.json as a dict, or None when the run never wrote one."""
    path = Path(folder) / "summary.json"
    if not path.exists():
        return None
    data = _read_json(path, folder)
    if not isinstance(data, dict):
        raise ReplayError(f"{path}: expected a JSON object, got {_json_type(data)}")
    return data


def schema_of(meta: dict[str, Any], path: str | Path = "run.json") -> int:
    """The schema version a run folder was written with (1 when it predates `versions`)."""
    found = meta.get("versions", {})
    if not isinstance(found, dict):
        raise ReplayError(f"{path}: 'versions' must be an object, got {_json_type(found)}")
    raw = found.get("schema", 1)
    try:
        version = int(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else None
    except ValueError:
        version = None
    reads = ", ".join(map(str, READS))
    if version is None:
        raise ReplayError(f"{path}: schema version {raw!r} is not a number; this reads {reads}")
    if version not in READS:
        newer = " (written by a newer woodmarket)" if version > max(READS) else ""
        raise ReplayError(f"{path}: schema version {version}{newer}; this woodmarket reads {reads}")
    return version


def _read_json(path: Path, folder: str | Path) -> Any:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ReplayError(f"{path}: missing (is {folder} a run folder?)") from None
    except IsADirectoryError:
        raise ReplayError(f"{path}: a folder, not a file") from None
    except OSError as exc:
        raise ReplayError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReplayError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ReplayError(f"{path}: not valid JSON: {exc}") from None


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def by_turn(records: Iterable[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for r in records:
        out.setdefault(r["turn"], []).append(r)
    return out
