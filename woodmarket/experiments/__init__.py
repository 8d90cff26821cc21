"""Experiments: one gambit across worlds (casts x mechanisms) and seeds, and what to make of it.

    worlds.py   what a world is; the article's table; control arms
    sweep.py    the plan, one run per (world, seed), resumable; sweep.json
    task.py     one run of a sweep, in whichever process; landed in the sweep folder
    pool.py     the local process pool        ray.py   the same on Ray
    record.py   timings out of the trace; a run's outcome (and the patron's levers) from its records
    stats.py    means, sds, bootstrap CIs, paired effects, the agreement rule
    report.py   Table 1's rows and notes: effects vs none, effective n, forks, levers
    render.py   the table as text, Markdown and CSV
    compare.py  two sweeps' gambits, world by world, paired by seed
    plots.py    price paths and P&L distributions (PNG)
    cost.py     the estimate before a live sweep
    export.py   run folders and sweeps -> Parquet tables

`write_report(plan, outcomes, folder)` writes a sweep's report and plots;
the CLI's `sweep`, `gambit` and `sweep --replay` all end there. A forked
sweep's report is also given the outcomes of the runs beside its arms
(`others`: its trunks, and its fresh arms when it ran them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from woodmarket.experiments.render import (
    render_cost,
    render_csv,
    render_markdown,
    render_runs_csv,
    render_text,
)
from woodmarket.experiments.report import ForkSetup, Report, build_report
from woodmarket.experiments.sweep import Plan, SweepResult, execute, recorded, recorded_all
from woodmarket.experiments.worlds import World, expand, parse_world, with_controls

__all__ = [
    "Plan",
    "Report",
    "SweepResult",
    "World",
    "execute",
    "expand",
    "legend_of",
    "parse_world",
    "recorded",
    "recorded_all",
    "report_of",
    "with_controls",
    "write_report",
]


def report_of(
    plan: Plan, outcomes: Sequence[Mapping[str, Any]], others: Sequence[Mapping[str, Any]] = ()
) -> Report:
    gambit = plan.the_gambit()
    factor = getattr(legend_of(gambit), "factor", None)
    forked = None
    if plan.fork_at is not None:
        forked = ForkSetup(
            at=plan.fork_at,
            shared={w.label: plan.trunk_of(w) == plan.trunk_of(w.control) for w in plan.worlds},
            others=others,
            fresh=plan.fresh,
            reproducible=plan.sampling.serial or not plan.live,
        )
    return build_report(
        outcomes,
        plan.worlds,
        gambit=gambit,
        gambit_name=plan.gambit,
        scenario=plan.base.load_scenario().name,
        turns=plan.turns,
        sampling=plan.sampling,
        live=plan.live,
        factor=factor,
        forked=forked,
    )


def legend_of(gambit: Any) -> Any:
    """The gambit's legend: its `legend` when that is one, else the legend its id names."""
    legend = getattr(gambit, "legend", None)
    if legend is not None and not isinstance(legend, str):
        return legend
    finder = getattr(gambit, "the_legend", None)
    try:
        return finder() if finder is not None else None
    except Exception:  # a legend that cannot be found: the report skips the settle check
        return None


def write_report(
    plan: Plan,
    outcomes: Sequence[Mapping[str, Any]],
    folder: str | Path,
    plots: bool = True,
    others: Sequence[Mapping[str, Any]] = (),
) -> tuple[Report, list[Path]]:
    """table.txt, report.md, report.csv, runs.csv and plots/*.png in `folder`."""
    from woodmarket.experiments import plots as plotting

    root = Path(folder)
    rep = report_of(plan, outcomes, others)
    (root / "table.txt").write_text(render_text(rep) + "\n", encoding="utf-8")
    (root / "report.md").write_text(
        render_markdown(rep) + "\n" + _images(plots and plotting.available()), encoding="utf-8"
    )
    (root / "report.csv").write_text(render_csv(rep), encoding="utf-8")
    (root / "runs.csv").write_text(render_runs_csv(outcomes), encoding="utf-8")
    written: list[Path] = []
    if plots and plotting.available():
        (root / "plots").mkdir(exist_ok=True)
        g = plan.the_gambit()
        written.append(
            plotting.price_paths(
                outcomes,
                plan.worlds,
                root / "plots" / "prices.png",
                target=rep.target,
                spring_turn=g.spring_turn,
                reckoning=g.reckoning,
            )
        )
        written.append(plotting.pnl_distribution(outcomes, plan.worlds, root / "plots" / "pnl.png"))
    return rep, written


def _images(plots: bool) -> str:
    if not plots:
        return "(plots skipped: pip install 'woodmarket[experiments]')\n"
    return "![price paths](plots/prices.png)\n\n![P&L per world](plots/pnl.png)\n"


def cost_text(rep: Report) -> str:
    return render_cost(rep)
