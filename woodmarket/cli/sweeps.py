"""The research commands: `sweep`, `gambit` (one cast's sweep), `compare`, `export`.

They build a sweep's plan from the options, print its cost estimate before
the first run, and print the report the experiments room writes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from woodmarket.cli.options import add_sampling, positive, sampling_of, seed_number
from woodmarket.errors import WoodmarketError
from woodmarket.rules import MECHANISMS


def _sweep_worlds(args: argparse.Namespace) -> list:
    from woodmarket.experiments.worlds import arms_of, expand, shorts, with_arms

    names = list(args.worlds or []) + list(args.world or [])
    worlds = expand(names or ["article"])
    if args.short:
        worlds = shorts(worlds, args.short)
    return with_arms(worlds, arms_of(args.arm or ()))


def _print_report(
    plan, outcomes, folder, *, plots: bool = True, cost: bool = True, others=()
) -> None:
    from woodmarket.experiments import write_report
    from woodmarket.experiments.render import render_cost, render_text

    rep, images = write_report(plan, outcomes, folder, plots=plots, others=others)
    print(render_text(rep))
    if cost:
        print("\n" + render_cost(rep))
    written = ["table.txt", "report.md", "report.csv", "runs.csv"]
    written += [str(p.relative_to(folder)) for p in images]
    print(f"\nreport: {folder}/ ({', '.join(written)})")


def _sweep(args: argparse.Namespace, worlds: list, out: Path) -> int:
    from woodmarket.experiments.cost import (
        calibrate,
        estimate,
        from_calibration,
        from_outcomes,
        model_seats,
    )
    from woodmarket.experiments.sweep import Plan, default_workers, execute

    seeds = range(args.seed_start, args.seed_start + args.seeds)
    plan = Plan.make(
        args.scenario,
        gambit=args.gambit,
        worlds=worlds,
        seeds=seeds,
        turns=args.turns,
        sampling=sampling_of(args, serial=not args.parallel_slots),
        fork_at=args.fork_at,
        fresh=args.compare_fresh,
    )
    workers = args.workers or default_workers(plan)
    names = tuple(c.name for c in plan.base.load_scenario().creatures)

    def before(done, todo, executor) -> bool:
        from tqdm import tqdm

        live = [t for t in todo if t.world.cast in plan.live]
        if live:
            figures = from_outcomes(done)
            if figures is None and not args.no_calibrate:
                first = max(live, key=lambda t: min(2, t.spec.turns))  # (a trunk may be 1 turn)
                tqdm.write("calibrating: one 2-turn run of " + first.world.label, sys.stderr)
                folder, res = calibrate(first, out, executor)
                seats = model_seats(first.spec.cast, names, first.spec.cast_text or None)
                if "error" in res:
                    tqdm.write(f"calibration failed: {res['error']}", sys.stderr)
                figures = from_calibration(folder, res, seats)
            tqdm.write(estimate(todo, names, figures, workers).text(workers), sys.stderr)
        elif todo:
            tqdm.write(f"{len(todo)} stand-in runs on {workers} workers", sys.stderr)
        return not args.estimate_only

    result = execute(
        plan,
        out,
        workers=workers,
        ray=args.ray,
        ray_address=args.ray_address,
        budget_tokens=args.budget_tokens,
        mixed_threads=args.mixed_threads,
        before=before,
    )
    if args.estimate_only:
        return 0
    if result.skipped:
        print(f"{result.skipped} runs were already finished in {out}; kept", file=sys.stderr)
    for e in result.errors:
        print(f"run {e['world']} seed {e['seed']} failed: {e['error']}", file=sys.stderr)
    _print_report(plan, result.outcomes, out, plots=not args.no_plots, others=result.others)
    rate = result.ran / result.elapsed_s if result.elapsed_s else 0.0
    print(
        f"{result.ran} runs in {result.elapsed_s:.1f} s ({rate:.2f} runs/s); "
        f"{result.tokens:,} model tokens spent in all runs",
        file=sys.stderr,
    )
    if result.stopped:
        print(f"stopped: {result.stopped}", file=sys.stderr)
        return 1 if result.errors else 0
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """One gambit across worlds x seeds; or `--replay DIR`: the report again from records."""
    if args.replay:
        from woodmarket.experiments.sweep import recorded_all

        plan, outcomes, others = recorded_all(args.replay)
        _print_report(plan, outcomes, Path(args.replay), plots=not args.no_plots, others=others)
        return 0
    if not args.out:
        raise WoodmarketError("sweep needs --out DIR (or --replay DIR)")
    return _sweep(args, _sweep_worlds(args), Path(args.out))


def cmd_compare(args: argparse.Namespace) -> int:
    """What sweep A's gambit changes against sweep B's, from their records (no model loaded)."""
    from woodmarket.experiments.compare import Side, compare, render
    from woodmarket.experiments.sweep import recorded

    sides = []
    for folder in (args.a, args.b):
        plan, outcomes = recorded(folder)
        target = plan.the_gambit().target
        sides.append(Side(plan.gambit, plan.base.load_scenario().name, target, outcomes))
    a, b = sides
    print(render(a, b, compare(a, b)))
    return 0


def cmd_gambit(args: argparse.Namespace) -> int:
    """Table 1 for one cast: a sweep of that cast across every mechanism."""
    import json
    import re
    import time

    from woodmarket.experiments.worlds import World

    worlds = [World(args.cast, m) for m in MECHANISMS]
    out = (
        Path(args.out)
        if args.out
        else Path("runs")
        / (
            f"gambit-{args.gambit}-{re.sub(r'[^A-Za-z0-9_]+', '-', args.cast)}-"
            f"{time.strftime('%Y%m%d-%H%M%S')}"
        )
    )
    args.worlds, args.world, args.short = [], [], []
    if args.json:
        _can_write(args.json, "--json")  # refused now, not after the sweep
    code = _sweep(args, worlds, out)
    if args.json and code == 0:
        from woodmarket.experiments.stats import Stat
        from woodmarket.experiments.sweep import Plan, collect

        plan = Plan.load(out)
        outcomes, _ = collect(out, plan.tasks())
        data = {}
        for w in plan.worlds:
            runs = sorted((o for o in outcomes if o["world"] == w.label), key=lambda o: o["seed"])
            pnl = Stat.of([o["pnl"] for o in runs])
            data[w.mechanism] = {
                "seeds": [o["seed"] for o in runs],
                "before": [o["before"] for o in runs],
                "at_settlement": [o["at_settlement"] for o in runs],
                "pnl": [o["pnl"] for o in runs],
                "pnl_mean": pnl.mean,
                "pnl_sd": pnl.sd,
                "pnl_ci95": [pnl.lo, pnl.hi],
                "distinct": len({o["behaviour"] for o in runs}),
            }
        try:
            Path(args.json).write_text(json.dumps(data, indent=2) + "\n")
        except OSError as exc:
            raise WoodmarketError(f"--json {args.json}: cannot write it: {exc.strerror}") from None
    return code


def _can_write(given: str, flag: str) -> None:
    """One clear error now for a file that could not be written later."""
    path = Path(given)
    if path.is_dir():
        raise WoodmarketError(f"{flag} {path}: a folder is there, not a file")
    if not path.parent.is_dir():
        raise WoodmarketError(f"{flag} {path}: no folder {path.parent} to write it in")


def cmd_export(args: argparse.Namespace) -> int:
    from woodmarket.experiments.export import export

    counts = export(args.path, args.parquet)
    rows = ", ".join(f"{n} {c}" for n, c in counts.items())
    print(f"wrote {args.parquet}/: {rows} rows")
    return 0


def _add_sweep_options(p: argparse.ArgumentParser) -> None:
    """What `sweep` and `gambit` share: seeds, turns, sampling, workers, budget."""
    from woodmarket.experiments.sweep import DEFAULT_TEMPERATURE

    p.add_argument("--seeds", type=positive, default=5, help="seeds per world (default 5)")
    p.add_argument("--seed-start", type=seed_number, default=0, help="first seed (default 0)")
    p.add_argument("--scenario", default="oona", help="bundled name (oona) or a TOML path")
    p.add_argument("--turns", type=positive, default=None, help="turns per run (scenario's)")
    add_sampling(p, DEFAULT_TEMPERATURE, "; 0 = greedy, and then seeds are replicas")
    p.add_argument(
        "--parallel-slots",
        action="store_true",
        help="ask a run's model creatures at once (faster; runs no longer repeat exactly)",
    )
    p.add_argument(
        "--fork-at",
        type=positive,
        default=None,
        metavar="K",
        help="run turns 1 to K-1 once per cast (and mechanism, when the legend is told "
        "before K) and seed, and fork every arm from it at K: arms then differ only from K",
    )
    p.add_argument(
        "--compare-fresh",
        action="store_true",
        help="with --fork-at: also run every arm whole on the same seeds (in fresh/) and "
        "print its paired effects' CI widths beside the forked ones",
    )
    p.add_argument("--workers", type=positive, default=None, help="processes (default: cores)")
    p.add_argument(
        "--mixed-threads",
        action="store_true",
        help="resume a sweep on another thread count than its finished live runs had "
        "(their bytes then differ from a sweep run whole)",
    )
    p.add_argument("--ray", action="store_true", help="run on a local Ray instance")
    p.add_argument("--ray-address", default=None, help="run on the Ray cluster at ADDRESS")
    p.add_argument(
        "--budget-tokens",
        type=positive,
        default=None,
        help="start no run once this many model tokens are spent (resume by re-running)",
    )
    p.add_argument(
        "--no-calibrate",
        action="store_true",
        help="skip the 2-turn calibration run behind a live sweep's estimate",
    )
    p.add_argument("--estimate-only", action="store_true", help="print the cost estimate and stop")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")


def add(sub: Any) -> None:
    """The sweep, gambit, compare and export subcommands."""
    sw = sub.add_parser(
        "sweep", help="one gambit across worlds (cast x mechanism) and seeds: Table 1"
    )
    sw.add_argument("--gambit", default="showcase", help="the gambit (default showcase)")
    sw.add_argument(
        "--worlds",
        action="append",
        metavar="NAME",
        help="article (default), standin, or a worlds .toml file (repeatable)",
    )
    sw.add_argument(
        "--world",
        action="append",
        metavar="CAST:MECHANISM[:SHORT]",
        help="one world, e.g. council:glut or standin:settle:16 (repeatable)",
    )
    sw.add_argument(
        "--short",
        action="append",
        type=positive,
        metavar="QTY",
        help="size the gambit's short to QTY in every world (repeatable: one world per size)",
    )
    sw.add_argument(
        "--arm",
        action="append",
        metavar="NAME:TURN:COMMAND",
        help="with --fork-at K: a move arm of every world, whose moves from turn K replace "
        "the gambit's, e.g. 'cover-early:3:cover GOOD' (repeat a name to add moves); "
        "paired with its world without them",
    )
    sw.add_argument("--out", default=None, help="the sweep folder (re-run to continue it)")
    sw.add_argument(
        "--replay",
        default=None,
        metavar="SWEEP_DIR",
        help="recompute the report and plots from recorded runs (no model loaded)",
    )
    _add_sweep_options(sw)
    sw.set_defaults(func=cmd_sweep)

    g = sub.add_parser("gambit", help="Table 1 for one cast: a sweep across the mechanisms")
    g.add_argument("gambit", help="a gambit of the scenario (`woodmarket scenarios` lists them)")
    g.add_argument("--cast", default="standin", help="who drives the creatures (default standin)")
    g.add_argument("--out", default=None, help="sweep folder (default runs/gambit-...)")
    g.add_argument("--json", default=None, help="also write the per-seed outcomes here")
    _add_sweep_options(g)
    g.set_defaults(func=cmd_gambit)

    cp = sub.add_parser(
        "compare", help="two sweeps' gambits side by side: paired differences per world"
    )
    cp.add_argument("a", metavar="SWEEP_A", help="a sweep folder (its gambit is A)")
    cp.add_argument("b", metavar="SWEEP_B", help="a sweep folder of the same scenario (B)")
    cp.set_defaults(func=cmd_compare)

    ex = sub.add_parser("export", help="a run or sweep folder -> Parquet tables")
    ex.add_argument("path", metavar="RUN_OR_SWEEP", help="a run folder or a sweep folder")
    ex.add_argument("--parquet", required=True, metavar="OUT", help="folder for the tables")
    ex.set_defaults(func=cmd_export)
