"""The experiment tab's engine: `woodmarket sweep` from a browser, through the same code.

`plan` makes a `woodmarket.experiments.Plan` (the chosen worlds, each
cast's `none` arm added as the CLI adds it); `sweep` runs its tasks into
a sweep folder one at a time in this process, exactly as `execute` runs
them with one worker (`run_task` per task, each run folder and its
outcome.json written as it ends), so a caller can show progress and stop
between runs. `finish` writes the report and plots with
`woodmarket.experiments.write_report` (Table 1 from `report_of`) and the
Parquet tables with `woodmarket.experiments.export.export`; `table_html`
and `plots_html` show them in the page, escaped, the PNGs inline.

This room writes only inside the sweep folder it is given.
"""

from __future__ import annotations

import base64
import html
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from woodmarket.errors import WoodmarketError
from woodmarket.experiments import Plan, Report, expand, write_report
from woodmarket.experiments.render import (
    HEADERS,
    LEVER_HEADERS,
    LEVERS_TITLE,
    cells,
    lever_cells,
    mechanism_lines,
)
from woodmarket.experiments.report import has_levers
from woodmarket.experiments.sweep import collect, finished, prepare
from woodmarket.experiments.task import run_task
from woodmarket.experiments.worlds import PRESETS

# The stand-in in every mechanism (its `none` arm comes with it), and the
# article's model worlds: the same casts `woodmarket sweep --worlds article` runs.
STANDIN_WORLDS = PRESETS["standin"]
MODEL_WORLDS = tuple(w for w in PRESETS["article"] if not w.startswith("standin:"))
WORLDS = STANDIN_WORLDS + MODEL_WORLDS
MAX_SEEDS = 200
PARQUET = "parquet"  # the export's folder inside the sweep folder


def gambits_of(scenario: str) -> tuple[str, ...]:
    """The gambits a bundled scenario owns, by name."""
    from woodmarket.scenario import load_scenario

    return tuple(g.name for g in load_scenario(scenario).gambits)


def plan(
    scenario: str,
    worlds: Sequence[str],
    seeds: Sequence[int],
    *,
    gambit: str | None = None,
    turns: int | None = None,
) -> Plan:
    """The sweep's plan, checked now (worlds, casts, turns), as `woodmarket sweep` makes it."""
    unknown = [w for w in worlds if w not in WORLDS]
    if unknown or not worlds:
        raise WoodmarketError(f"choose worlds among {', '.join(WORLDS)}")
    if not seeds or len(seeds) > MAX_SEEDS:
        raise WoodmarketError(f"choose 1 to {MAX_SEEDS} seeds")
    names = gambits_of(scenario)
    gambit = gambit or (names[0] if names else None)
    if gambit is None or gambit not in names:
        raise WoodmarketError(f"no gambit {gambit!r} in {scenario}; gambits: {', '.join(names)}")
    # Model casts are asked one at a time (serial): the same spec gives the same trace.
    return Plan.make(scenario, gambit=gambit, worlds=expand(worlds), seeds=list(seeds), turns=turns)


def sweep(
    the_plan: Plan, out: str | Path, *, stop: Callable[[], bool] | None = None
) -> Iterator[dict[str, Any]]:
    """Run the plan's pending tasks into `out`, one by one; yield each run's outcome.

    Seed by seed, every world of a seed together (`Plan.tasks`), so a sweep
    stopped early is balanced. `stop()` is asked before each run; a failed
    run yields its outcome with an `error` and the sweep goes on.
    """
    root = prepare(the_plan, out)
    _, todo = finished(root, the_plan.tasks())
    for task in todo:
        if stop is not None and stop():
            return
        yield run_task(task, str(root))


@dataclass(frozen=True, slots=True)
class Finished:
    """What a finished sweep left in its folder."""

    report: Report
    plots: tuple[Path, ...]  # prices.png, pnl.png
    tables: Path  # the Parquet export's folder
    zipped: Path  # that folder as one .zip
    runs: int


def finish(out: str | Path, the_plan: Plan) -> Finished:
    """report.md, table.txt, CSVs and plots/*.png (write_report), then the Parquet export."""
    from woodmarket.experiments.export import export

    root = Path(out)
    outcomes, _ = collect(root, the_plan.tasks())
    rep, pngs = write_report(the_plan, outcomes, root)
    tables = root / PARQUET
    export(root, tables)
    zipped = Path(shutil.make_archive(str(root / PARQUET), "zip", root_dir=tables))
    return Finished(rep, tuple(pngs), tables, zipped, len(outcomes))


TABLE1_KEYS = (
    "label", "n", "before", "at", "pnl", "ci", "wins", "forced", "effect", "agreement",
)  # fmt: skip
LEVER_KEYS = (
    "label", "taken", "complied", "offered", "sold", "loans", "defaults", "exiled", "heat", "fined",
)  # fmt: skip


def table_html(rep: Report) -> str:
    """Table 1 as the instrument renders it (its cells, escaped), its title and notes."""
    headers = list(HEADERS)
    headers[2] = f"{rep.target} before"
    headers[3] = f"{rep.target} at settlement"
    e = html.escape
    title = "<br>".join(e(t.strip()) for t in rep.title)
    lines = [*mechanism_lines(rep)[1:], *rep.notes]
    notes = "".join(f"<li>{e(n.strip())}</li>" for n in lines)
    return (
        f"<div class='wm'><p>{title}</p>"
        f"{_rows_html(rep, headers, TABLE1_KEYS, cells, 'table1', 'world')}{levers_html(rep)}"
        f"{f'<ul>{notes}</ul>' if notes else ''}</div>"
    )


def levers_html(rep: Report) -> str:
    """The patron's levers per world, when the gambit bribes or lends ("" otherwise)."""
    if not has_levers(rep):
        return ""
    table = _rows_html(rep, LEVER_HEADERS, LEVER_KEYS, lever_cells, "levers-table", "levers")
    return f"<p>{html.escape(LEVERS_TITLE)}</p>{table}"


def _rows_html(
    rep: Report,
    headers: Sequence[str],
    keys: Sequence[str],
    cells_of: Callable[[Any], list[str]],
    table: str,
    row: str,
) -> str:
    """One row per world, each cell escaped and named by `keys` (the tests read them)."""
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    rows = "".join(
        f"<tr data-wm='{row}' data-world='{e(r.world.label, quote=True)}'>"
        + "".join(f"<td data-wm='{k}'>{e(c)}</td>" for k, c in zip(keys, cells_of(r), strict=True))
        + "</tr>"
        for r in rep.rows
    )
    return f"<table class='wm-table' data-wm='{table}'><tr>{head}</tr>{rows}</table>"


def plots_html(pngs: Sequence[Path]) -> str:
    """The instrument's PNG plots, inline (data: URIs: nothing fetched from anywhere else)."""
    imgs = "".join(
        f"<img data-wm='plot-{html.escape(p.stem, quote=True)}' alt='{html.escape(p.stem)}' "
        f"style='max-width:100%' src='data:image/png;base64,"
        f"{base64.b64encode(p.read_bytes()).decode('ascii')}'>"
        for p in pngs
    )
    return f"<div class='wm' style='display:flex;gap:12px;flex-wrap:wrap'>{imgs}</div>"
