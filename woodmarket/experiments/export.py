"""Export: run folders (one run, or every run of a sweep) -> Parquet tables.

    OUT/creature_turns.parquet   one row per creature-turn (the original traces dataset's
                                 columns first: turn, creature, system, user, response,
                                 thought, offers, gossip; then ours)
    OUT/orders.parquet  OUT/fills.parquet  OUT/prices.parquet
    OUT/events.parquet           every other record (financier moves, legends, gossip,
                                 spoilage, hunger, cold, headlines, the book), its fields as JSON
    OUT/runs.parquet             one row per run: its spec and its outcome
    OUT/schema.json              the export schema's version and the tables' columns

Every table starts with `run_id` (the run's folder, relative to what was
exported). The schema is documented and versioned in docs/traces.md
(`EXPORT_VERSION`). Needs the `data` extra (pyarrow).

This room reads run folders and writes only into OUT.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from woodmarket.errors import WoodmarketError
from woodmarket.traces import SCHEMA_VERSION, read_run, read_trace

EXPORT_VERSION = 1
TABLES = ("creature_turns", "orders", "fills", "prices", "events", "runs")


def _pa() -> Any:
    try:
        import pyarrow as pa
    except ImportError:
        raise WoodmarketError("export needs pyarrow: pip install 'woodmarket[data]'") from None
    return pa


def _schemas(pa: Any) -> dict[str, Any]:
    offer = pa.struct(
        [
            ("creature", pa.string()),
            ("side", pa.string()),
            ("good", pa.string()),
            ("price", pa.int64()),
            ("qty", pa.int64()),
        ]
    )
    s, i, b, f = pa.string(), pa.int64(), pa.bool_(), pa.float64()
    return {
        "creature_turns": pa.schema(
            [
                ("run_id", s), ("turn", i), ("creature", s), ("system", s), ("user", s),
                ("response", s), ("thought", s), ("offers", pa.list_(offer)), ("gossip", s),
                ("gossip_to", s), ("policy", s), ("valid", b), ("reason", s), ("model", s),
                ("backend", s), ("prompt_tokens", i), ("cached_tokens", i),
                ("generated_tokens", i), ("latency_ms", f), ("error", s),
            ]
        ),
        "orders": pa.schema(
            [
                ("run_id", s), ("turn", i), ("creature", s), ("side", s), ("good", s),
                ("qty", i), ("price", i), ("status", s), ("reason", s),
            ]
        ),
        "fills": pa.schema(
            [
                ("run_id", s), ("turn", i), ("good", s), ("price", i), ("qty", i),
                ("buyer", s), ("seller", s),
            ]
        ),
        "prices": pa.schema(
            [
                ("run_id", s), ("turn", i), ("good", s), ("reference", i), ("traded", b),
                ("clearing", i), ("volume", i), ("demand", i), ("supply", i),
            ]
        ),
        "events": pa.schema([("run_id", s), ("turn", i), ("kind", s), ("data", s)]),
        "runs": pa.schema(
            [
                ("run_id", s), ("scenario", s), ("cast", s), ("seed", i), ("turns", i),
                ("turns_done", i), ("gambit", s), ("mechanism", s), ("financier", b),
                ("temperature", f), ("serial", b), ("world", s), ("short", i), ("target", s),
                ("before", i), ("at_settlement", i), ("pnl", i), ("target_path", pa.list_(i)),
                ("complete", b), ("calls", i), ("prompt_tokens", i), ("generated_tokens", i),
                ("wall_s", f), ("spec", s), ("summary", s),
            ]
        ),
    }  # fmt: skip


def run_folders(path: str | Path) -> Iterator[tuple[str, Path, dict[str, Any]]]:
    """(run_id, folder, sweep facts) of a run folder, or of every run of a sweep folder."""
    root = Path(path)
    if (root / "trace.jsonl").exists():
        yield root.name, root, {}
        return
    if not (root / "sweep.json").exists():
        raise WoodmarketError(f"{root}: neither a run folder nor a sweep folder")
    from woodmarket.experiments.sweep import Plan

    plan = Plan.load(root)
    for t in plan.tasks():
        folder = root / t.folder
        if (folder / "trace.jsonl").exists():
            facts = {"world": t.world.label, "short": t.world.short, "gambit": t.gambit}
            yield t.folder, folder, facts


def export(path: str | Path, out: str | Path) -> dict[str, int]:
    """Write the Parquet tables of `path` (a run or a sweep) into `out`; rows per table."""
    pa = _pa()
    import pyarrow.parquet as pq

    schemas = _schemas(pa)
    rows: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}
    for run_id, folder, facts in run_folders(path):
        _rows(run_id, folder, facts, rows)
    target = Path(out)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WoodmarketError(f"--parquet {target}: cannot write there: {exc}") from None
    for name in TABLES:
        table = pa.Table.from_pylist(rows[name], schema=schemas[name])
        meta = {b"woodmarket_export_version": str(EXPORT_VERSION).encode()}
        pq.write_table(table.replace_schema_metadata(meta), target / f"{name}.parquet")
    (target / "schema.json").write_text(
        json.dumps(
            {
                "export_version": EXPORT_VERSION,
                "trace_schema": SCHEMA_VERSION,
                "tables": {n: schemas[n].names for n in TABLES},
            },
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
    return {n: len(rows[n]) for n in TABLES}


def _rows(
    run_id: str, folder: Path, facts: dict[str, Any], rows: dict[str, list[dict[str, Any]]]
) -> None:
    from woodmarket.experiments.record import complete, read_timings

    meta = read_run(folder)
    moved = {(x["turn"], x["creature"]): x for x in read_timings(folder) if "creature" in x}
    path: list[int] = []
    pnl = None
    turns_done = 0
    gambit_name = facts.get("gambit") or meta.get("gambit")
    target = ""
    spring = reckoning = None
    if gambit_name:
        from woodmarket.spec import RunSpec

        try:
            g = RunSpec.from_dict(meta).but(gambit=gambit_name).gambit_of()
            target = g.target
            spring, reckoning = g.spring_turn, g.reckoning
        except WoodmarketError:
            target = ""
    calls = prompt = generated = 0
    for r in read_trace(folder):
        kind, turn = r["kind"], r["turn"]
        if kind == "decision":
            call = r.get("call") or {}
            gossip = r.get("gossip") or {}
            calls += bool(call)
            prompt += int(call.get("prompt_tokens") or 0)
            generated += int(call.get("generated_tokens") or 0)
            rows["creature_turns"].append(
                {
                    "run_id": run_id,
                    "turn": turn,
                    "creature": r["creature"],
                    "system": call.get("system", ""),
                    "user": call.get("user", ""),
                    "response": call.get("response", ""),
                    "thought": r.get("thought", ""),
                    "offers": r.get("offers", []),
                    "gossip": gossip.get("text", ""),
                    "gossip_to": gossip.get("to", ""),
                    "policy": r.get("policy", ""),
                    "valid": r.get("valid"),
                    "reason": r.get("reason", ""),
                    "model": call.get("model", ""),
                    "backend": call.get("backend", ""),
                    "prompt_tokens": call.get("prompt_tokens"),
                    "cached_tokens": call.get(
                        "cached_tokens", moved.get((turn, r["creature"]), {}).get("cached_tokens")
                    ),
                    "generated_tokens": call.get("generated_tokens"),
                    "latency_ms": call.get(
                        "latency_ms", moved.get((turn, r["creature"]), {}).get("latency_ms")
                    ),
                    "error": call.get("error", ""),
                }
            )
        elif kind in ("order", "fill", "price"):
            table = {"order": "orders", "fill": "fills", "price": "prices"}[kind]
            rows[table].append({"run_id": run_id, **{k: v for k, v in r.items() if k != "kind"}})
            if kind == "price" and r["good"] == target:
                path.append(r["reference"])
        elif kind == "start":
            if target:
                path.append(r["prices"][target])
        else:
            if kind == "holdings":
                turns_done = turn
            if kind == "book":
                pnl = r["pnl"]
            data = {k: v for k, v in r.items() if k not in ("run_id", "turn", "kind")}
            rows["events"].append(
                {
                    "run_id": run_id,
                    "turn": turn,
                    "kind": kind,
                    "data": json.dumps(data, sort_keys=True, ensure_ascii=False),
                }
            )
    wall = [x["wall_ms"] for x in read_timings(folder) if x.get("kind") == "run"]
    sampling = meta.get("sampling") or {}
    summary_path = folder / "summary.json"
    summary = summary_path.read_text(encoding="utf-8") if summary_path.exists() else ""
    spec = {k: v for k, v in meta.items() if k not in ("scenario_text", "scenario_files")}
    rows["runs"].append(
        {
            "run_id": run_id,
            "scenario": str(meta.get("scenario", "")),
            "cast": str(meta.get("cast", "standin")),
            "seed": meta.get("seed"),
            "turns": meta.get("turns"),
            "turns_done": turns_done,
            "gambit": gambit_name or "",
            "mechanism": meta.get("mechanism") or "",
            "financier": bool(meta.get("financier")),
            "temperature": float(sampling.get("temperature", 0.0)),
            "serial": bool(sampling.get("serial", False)),
            "world": facts.get("world", ""),
            "short": facts.get("short"),
            "target": target,
            "before": path[spring - 1] if spring and len(path) >= spring else None,
            "at_settlement": path[reckoning] if reckoning and len(path) > reckoning else None,
            "pnl": pnl,
            "target_path": path,
            "complete": complete(folder),
            "calls": calls,
            "prompt_tokens": prompt,
            "generated_tokens": generated,
            "wall_s": wall[-1] / 1e3 if wall else None,
            "spec": json.dumps(spec, sort_keys=True, ensure_ascii=False),
            "summary": summary,
        }
    )
