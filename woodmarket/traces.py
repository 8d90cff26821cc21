"""Traces: one run = one folder, written as the run goes, readable after a crash.

    DIR/scenario.toml   the scenario as read
    DIR/run.json        seed, cast, turns, gambit, versions (written first)
    DIR/trace.jsonl     one JSON record per line, appended and flushed each turn
    DIR/summary.json    written when the run ends, also when it stops on an error

Records carry `turn` and `kind`; the schema is documented in
docs/traces.md and versioned by `SCHEMA_VERSION`. Records are written with
sorted keys and no floats from clocks in state records, so a seeded
stand-in run's trace.jsonl is byte-identical from run to run.
"""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from woodmarket.errors import ReplayError

if TYPE_CHECKING:
    from woodmarket.state import TurnState, WoodState

SCHEMA_VERSION = 1
TRACE = "trace.jsonl"


def dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class TraceWriter:
    """A listener that appends each finished turn's records and flushes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = path.open("a", encoding="utf-8")

    def write(self, records: list[dict[str, Any]]) -> None:
        self.file.write("".join(dumps(r) + "\n" for r in records))
        self.file.flush()

    def __call__(self, turn: TurnState) -> None:
        self.write(turn.records)

    def close(self) -> None:
        self.file.close()


def versions() -> dict[str, str]:
    from woodmarket import __version__

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
    def create(cls, path: str | Path, wood: WoodState, meta: dict[str, Any]) -> RunFolder:
        path = Path(path)
        if path.exists() and any(path.iterdir()):
            raise FileExistsError(f"{path}: output folder exists and is not empty")
        path.mkdir(parents=True, exist_ok=True)
        (path / "scenario.toml").write_text(wood.scenario.text, encoding="utf-8")
        run = {"seed": wood.seed, "scenario": wood.scenario.name, "versions": versions(), **meta}
        (path / "run.json").write_text(json.dumps(run, indent=2, sort_keys=True) + "\n")
        writer = TraceWriter(path / TRACE)
        writer.write([{"turn": 0, "kind": "start", **start_fields(wood)}])
        wood.listeners.append(writer)
        return cls(path, writer, wood)

    def finish(self, summary: dict[str, Any]) -> None:
        """Detach from the wood (it may be stepped on) and write the summary."""
        if self.writer in self.wood.listeners:
            self.wood.listeners.remove(self.writer)
        self.writer.close()
        (self.path / "summary.json").write_text(
            json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )


def start_fields(wood: WoodState) -> dict[str, Any]:
    from woodmarket.turn import holdings

    return {"prices": dict(wood.prices), "holders": holdings(wood), "creatures": list(wood.names)}


def read_trace(folder: str | Path) -> Iterator[dict[str, Any]]:
    """Records in order; a torn last line (a crash mid-write) is skipped, not fatal."""
    path = Path(folder) / TRACE
    if not path.exists():
        raise ReplayError(f"{path}: no trace here (is {folder} a run folder?)")
    with path.open(encoding="utf-8") as f:
        lines = f.readlines()
    for i, line in enumerate(lines, 1):
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            if i == len(lines):
                return  # the run died while writing this line; earlier turns stand
            raise ReplayError(f"{path}:{i}: not a JSON record") from None


def read_run(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / "run.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReplayError(f"{path}: missing (is {folder} a run folder?)") from None
    except json.JSONDecodeError as exc:
        raise ReplayError(f"{path}: not valid JSON: {exc}") from None


def by_turn(records: Iterable[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for r in records:
        out.setdefault(r["turn"], []).append(r)
    return out
