"""The `woodmarket` command line.

    app        the game in a browser        play       the game in a terminal
    run        one run into a run folder (--resume continues one)
    fork       a recorded run branched at a turn, its past proved
    story      a run's season as one self-contained HTML page
    replay     re-run a folder and compare every record
    sweep      one gambit across worlds x seeds: Table 1 (gambit: one cast)
    compare    two sweeps' gambits, world by world, paired by seed
    export     run or sweep folders -> Parquet
    scenarios  the bundled scenarios        check      validate a scenario, legend or cast file
    models     the bundled models, verified (--probe: their batching verdicts)

Each subcommand is a small function taking parsed arguments and calling
the rooms that do the work; anything a user can get wrong (a broken
scenario, a bad path, a bad number, a damaged run folder) ends in one
clear line on stderr and exit status 2, never a traceback; Ctrl-C ends a
run after its turn in progress, with exit status 130.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from woodmarket import councils
from woodmarket.errors import WoodmarketError
from woodmarket.rules import ARMS, MECHANISMS
from woodmarket.types import Sampling

EXIT_USAGE = 2


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole-number seed, got {text!r}") from None


def _knob(name: str, low: float, high: float) -> Any:
    def read(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not low <= value <= high:  # (a NaN fails this too)
            raise argparse.ArgumentTypeError(f"expected {name} in {low:g}..{high:g}, got {text}")
        return value

    return read


def _add_sampling(
    p: argparse.ArgumentParser, temperature: float | None, note: str = "", unset: str = ""
) -> None:
    """The sampling knobs of model creatures, one option each, read off `Sampling`.

    `temperature` None: no knob has a default (a fork keeps its parent's unless told).
    """
    for name, (low, high, what) in Sampling.KNOBS.items():
        default = temperature if name == "temperature" else None
        said = f"default {default:g}{note}" if default is not None else unset or "unset: not sent"
        p.add_argument(
            "--" + name.replace("_", "-"),
            type=_knob(name, low, high),
            default=default,
            help=f"{what} ({low:g}..{high:g}; {said})",
        )


def _add_thoughts(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--thoughts",
        action="store_true",
        help="model creatures add one short line of why to each answer (`think: ...`, at most "
        "48 characters; a few more generated tokens a turn)",
    )


def sampling_of(args: argparse.Namespace, serial: bool = False) -> Sampling:
    """The parsed sampling options as the `Sampling` a spec carries."""
    return Sampling(**{name: getattr(args, name) for name in Sampling.KNOBS}, serial=serial)


def cmd_run(args: argparse.Namespace) -> int:
    if args.resume:
        return cmd_resume(args)
    from tqdm import tqdm

    from woodmarket.build import build
    from woodmarket.runner import out_folder, run
    from woodmarket.spec import RunSpec
    from woodmarket.text import printable

    spec = RunSpec.make(
        args.scenario,
        cast=args.cast,
        seed=args.seed,
        turns=args.turns,
        gambit=args.gambit,
        mechanism=args.mechanism,
        sampling=sampling_of(args),
        thoughts=args.thoughts,
    )
    wood = build(spec)
    out = out_folder(args.out, args.scenario, args.seed)
    goods = wood.goods
    width = max(len(g) for g in goods)
    header = f"{'turn':>4}  " + "  ".join(f"{g:>{width}}" for g in goods)
    header += "  trades  valid  headline"
    bar = tqdm(total=spec.turns, desc="turns", unit="turn", file=sys.stderr, leave=False)
    bar.write(header)

    def show(state) -> None:
        prices = "  ".join(f"{wood.prices[g]:>{width}}" for g in goods)
        valid = f"{sum(a.valid for a in state.actions.values())}/{len(state.actions)}"
        bar.write(
            f"{state.turn:>4}  {prices}  {len(state.fills):>6}  {valid:>5}  "
            f"{printable(state.headline)}"
        )
        bar.update(1)

    try:
        result = run(spec, out, wood=wood, on_turn=show)
    finally:
        bar.close()
        wood.close()
    summary = result.summary
    valid = f"{summary['valid_actions']}/{summary['decisions']}"
    print(
        f"\n{summary['turns']} turns; valid actions {valid}; "
        f"Gini {summary['gini_start']:.2f} -> {summary['gini_end']:.2f}"
    )
    if "financier" in summary:
        fin = summary["financier"]
        print(
            f"financier: {fin['pebbles']} pebbles, gambit P&L {fin['pnl']:+d}; {fin['objective']}"
        )
    print(f"run folder: {out}")
    return 0


def _moves(given: Sequence[str] | None) -> dict[int, list[str]]:
    """`--moves TURN:COMMAND` options as turn -> commands, in the order given."""
    from woodmarket.spec import timed_move

    out: dict[int, list[str]] = {}
    for item in given or ():
        turn, command = timed_move(item, f"--moves {item!r}")
        out.setdefault(turn, []).append(command)
    return out


def cmd_fork(args: argparse.Namespace) -> int:
    """A recorded run branched at a turn: its prefix rebuilt and proved, then run on."""
    from tqdm import tqdm

    from woodmarket.fork import plan_fork, run_fork
    from woodmarket.runner import out_folder

    knobs = {k: getattr(args, k) for k in Sampling.KNOBS if getattr(args, k) is not None}
    spec, parent = plan_fork(
        args.run,
        args.at,
        out=args.out,
        moves=_moves(args.moves),
        keep_moves=True if args.keep_moves else None,
        mechanism=args.mechanism,
        short=args.short,
        cast=args.cast,
        knobs=knobs,
        serial=True if args.serial else None,
        reask=args.reask,
        turns=args.turns,
    )
    out = out_folder(args.out, spec.scenario, spec.seed, "fork-")
    bar = tqdm(total=spec.turns, desc="turns", unit="turn", file=sys.stderr, leave=False)
    diverged: list[str] = []

    def show(state) -> None:
        bar.n = state.turn
        bar.refresh()

    try:
        result = run_fork(spec, out, parent, on_turn=show, diverged=diverged)
    except WoodmarketError:
        if out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # a refused fork writes nothing
        raise
    finally:
        bar.close()
    if diverged:
        print(
            f"warning: {len(diverged)} model calls asked again differ from the parent's "
            f"(first: {diverged[0]}); the fork went on from the record",
            file=sys.stderr,
        )
    summary = result.summary
    print(
        f"forked {args.run} at turn {args.at}: turns 1 to {args.at - 1} rebuilt from its record "
        f"and proved; {summary['turns']} of {summary['turns_requested']} turns done"
    )
    if "financier" in summary:
        fin = summary["financier"]
        print(f"financier: {fin['pebbles']} pebbles, P&L {fin['pnl']:+d}; {fin['objective']}")
    print(f"run folder: {out}")
    return 0


def cmd_story(args: argparse.Namespace) -> int:
    """A run folder's season as one self-contained HTML page."""
    from woodmarket.story import write_story

    print(f"wrote {write_story(args.run, args.out)}")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    """Print the verdict in one line; exit 0 only when every record of every turn matches."""
    from woodmarket.replay import replay

    report = replay(args.folder)
    print(report.line())
    return 0 if report.passed else 1


def cmd_models(args: argparse.Namespace) -> int:
    """The bundled models, verified, with this machine's batching verdicts; or `--probe` them."""
    if args.probe is not None:
        return _probe_models(args)
    from woodmarket.backends.batching import verdict_for, verdict_line
    from woodmarket.casts import parse_cast
    from woodmarket.models import list_models
    from woodmarket.scenario import load_scenario

    names = tuple(c.name for c in load_scenario("oona").creatures)
    seated = {name: parse_cast(name, names) for name in councils.SEATING}
    rows = list_models()
    w = max(8, *(len(str(row["key"])) for row in rows))  # the key column, and the indent
    pad = " " * (w + 1)
    print(
        f"{'model':<{w}} {'lab':<15} {'params':>6}  {'licence':<22} {'MB':>6}  {'sha256':<8} "
        f"{'batching':<12} creatures (the first bundled scenario's)"
    )
    broken = 0
    for row in rows:
        key = str(row["key"])
        users = "; ".join(
            f"{name}: {', '.join(s.creature for s in seats if s.model == key)}"
            for name, seats in seated.items()
            if any(s.model == key for s in seats)
        )
        status = "ok" if row["verified"] else "MISSING"
        broken += not row["verified"]
        verdict = verdict_for(key)
        short = str(verdict.get("verdict")) if verdict else "not probed"
        print(
            f"{key:<{w}} {row['lab']:<15} {row['params']:>6}  {row['licence']:<22} "
            f"{row['size_mb']:>6.1f}  "
            f"{status:<8} {short:<12} {users or '-'}"
        )
        print(f"{pad}{row['title']}: {row['path']}")
        print(f"{pad}from: {row['source']}")
        print(f"{pad}batching: {verdict_line(verdict)}")
        if not row["verified"]:
            print(f"{pad}{row['detail']}")
    print()
    for name, title in councils.TITLES.items():
        print(f"{name} = {title}{' (council: the default)' if name == councils.DEFAULT else ''}")
    print("any GGUF path works as single:PATH or in a cast file")
    return 1 if broken else 0


def _probe_models(args: argparse.Namespace) -> int:
    """`models --probe [KEY ...]`: measure each model's batching verdict and record it."""
    from tqdm import tqdm

    from woodmarket.backends.batching import record
    from woodmarket.models import MODELS, resolve
    from woodmarket.probe import probe_model
    from woodmarket.scenario import load_scenario

    keys = list(args.probe) or list(MODELS)
    for key in keys:
        if key not in MODELS:
            resolve(key)  # a GGUF path, or one line naming the known keys
    load_scenario(args.scenario)  # a bad scenario is refused before any model loads
    for key in keys:
        bar = tqdm(desc=f"probing {key}", unit="call", file=sys.stderr, leave=False)

        def show(done: int, total: int, what: str, bar: tqdm = bar) -> None:
            bar.total = total
            bar.n = done
            bar.set_postfix_str(what, refresh=False)
            bar.refresh()

        try:
            verdict = probe_model(
                key,
                slots=args.slots,
                repeats=args.repeats,
                scenario=args.scenario,
                progress=show,
            )
        finally:
            bar.close()
        where = record(verdict)
        _print_verdict(verdict)
        print(f"recorded in {where}")
    return 0


def _print_verdict(v: dict[str, Any]) -> None:
    key = v["key"]
    cache = v["prefix_cache"]
    print(
        f"\n{v['model']}: {v['verdict']} (batch-invariant: {v['batch_invariant']}); "
        f"{v['requests']} creature requests of {v['scenario']}, prompts "
        f"{v['prompt_tokens'][0]}-{v['prompt_tokens'][1]} tokens, "
        f"{v['generated_tokens'][0]}-{v['generated_tokens'][1]} generated, greedy, grammar; "
        f"{v['slots']} slots, {v['repeats']} repeats, {v['seconds']:.0f} s"
    )
    print(
        f"  sha256 {key['sha256'][:16]}..., xllamacpp {key['xllamacpp']}, "
        f"{key['threads']} threads, {key['cpu']}"
    )
    print(
        f"  alone twice: {'identical' if v['alone_repeats'] else 'DIFFERENT'}; "
        f"reusing a cached prefix: {cache['differed']}/{cache['compared']} differed"
    )
    print(
        f"  {'k':>3} {'overlapped':>10} {'differed':>9} {'requests':>8} {'texts':>5} "
        f"{'first tok':>9} {'batches':>7} {'1-by-1 s':>8} {'batch s':>8} {'speedup':>7}"
    )
    for s in v["sizes"]:
        first = "-" if s["first_token"] is None else str(s["first_token"])
        together = "-" if s["seconds_together"] is None else f"{s['seconds_together']:.2f}"
        speed = "-" if s["speedup"] is None else f"{s['speedup']:.2f}x"
        print(
            f"  {s['k']:>3} {str(s['overlapped']) + '/' + str(s['runs']):>10} "
            f"{str(s['differed']) + '/' + str(s['compared']):>9} "
            f"{str(s['requests_differed']) + '/' + str(s['k']):>8} {s['texts_changed']:>5} "
            f"{first:>9} {'agree' if s['batched_repeats'] else 'differ':>7} "
            f"{s['seconds_one_by_one']:>8.2f} {together:>8} {speed:>7}"
        )
    print(
        "  (differed: answers whose tokens or logprobs differ from alone; requests: of the k, "
        "those that ever did;\n   texts: answers whose text changed; batches: whether the "
        "repeats of a size agree with each other;\n   seconds: the best run, one by one "
        "and together)"
    )


def cmd_play(args: argparse.Namespace) -> int:
    from woodmarket.play import main

    return main(args, sampling_of(args))


def cmd_resume(args: argparse.Namespace) -> int:
    """`run --resume DIR`: continue a stopped or killed run from its last finished turn."""
    from tqdm import tqdm

    from woodmarket.resume import resumable, resume

    done, total = resumable(args.resume)
    bar = tqdm(total=total, initial=done, desc="turns", unit="turn", file=sys.stderr, leave=False)

    def show(state) -> None:
        bar.n = state.turn
        bar.refresh()

    diverged: list[str] = []
    try:
        result = resume(args.resume, on_turn=show, diverged=diverged)
    finally:
        bar.close()
    if diverged:
        print(
            f"warning: {len(diverged)} model calls asked again differ from the record "
            f"(first: {diverged[0]}); the run went on from the record, but its new turns "
            "will not match an uninterrupted run",
            file=sys.stderr,
        )
    summary = result.summary
    print(f"resumed: {summary['turns']} of {summary['turns_requested']} turns done")
    if "financier" in summary:
        fin = summary["financier"]
        print(f"financier: {fin['pebbles']} pebbles, gambit P&L {fin['pnl']:+d}")
    print(f"run folder: {args.resume}")
    return 0


def cmd_scenarios(args: argparse.Namespace) -> int:
    """One bundled scenario per line: the key `--scenario` takes, then what it holds."""
    from woodmarket.scenario import bundled_scenarios, load_scenario

    for key in bundled_scenarios():
        s = load_scenario(key)
        parts = [
            f"{key}  {s.name}",
            "creatures: " + ", ".join(s.creature_names),
            "goods: " + ", ".join(s.good_names),
            "legends: " + (", ".join(lg.id for lg in s.legends) or "none"),
            "gambits: " + (", ".join(g.name for g in s.gambits) or "none"),
        ]
        print("; ".join(parts))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Validate a scenario, legend or cast file (told apart by its keys) without running it."""
    from woodmarket.testing import check_file

    print(check_file(str(args.file), args.scenario))
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    from woodmarket.app import launch

    launch(
        args.host,
        args.port,
        cast=args.cast,
        scenario=args.scenario,
        cap=args.max_sessions,
        idle_s=args.idle_minutes * 60,
        runs=args.runs,
        sampling=sampling_of(args),
        thoughts=args.thoughts,
    )
    return 0


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
    from woodmarket.experiments.report import render_cost, render_text

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
        from woodmarket.experiments.report import Stat
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

    p.add_argument("--seeds", type=_positive, default=5, help="seeds per world (default 5)")
    p.add_argument("--seed-start", type=_seed, default=0, help="first seed (default 0)")
    p.add_argument("--scenario", default="oona", help="bundled name (oona) or a TOML path")
    p.add_argument("--turns", type=_positive, default=None, help="turns per run (scenario's)")
    _add_sampling(p, DEFAULT_TEMPERATURE, "; 0 = greedy, and then seeds are replicas")
    p.add_argument(
        "--parallel-slots",
        action="store_true",
        help="ask a run's model creatures at once (faster; runs no longer repeat exactly)",
    )
    p.add_argument(
        "--fork-at",
        type=_positive,
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
    p.add_argument("--workers", type=_positive, default=None, help="processes (default: cores)")
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
        type=_positive,
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


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="woodmarket",
        description="A woodland economy of small language models, and a financier in the shadows.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    r = sub.add_parser("run", help="run a wood for some turns and write a run folder")
    r.add_argument("--scenario", default="oona", help="bundled name (oona) or a TOML path")
    r.add_argument(
        "--turns", type=_positive, default=None, help="turns to run (default: scenario's)"
    )
    r.add_argument("--seed", type=_seed, default=0, help="the run's seed (default 0)")
    r.add_argument("--out", default=None, help="run folder (default runs/SCENARIO-seedS-TIME)")
    r.add_argument(
        "--cast",
        default="standin",
        help="standin | council | single:MODEL | replay:DIR | FILE.toml (default standin)",
    )
    r.add_argument("--gambit", default=None, help="a scripted financier gambit, e.g. showcase")
    r.add_argument(
        "--mechanism",
        choices=ARMS,
        default=None,
        help="override the gambit's legend mechanism (none: the gambit without its legend)",
    )
    _add_sampling(r, 0.0)
    _add_thoughts(r)
    r.add_argument(
        "--resume",
        default=None,
        metavar="DIR",
        help="continue the stopped or killed run in DIR from its last finished turn",
    )
    r.set_defaults(func=cmd_run)

    fk = sub.add_parser(
        "fork", help="branch a recorded run at a turn: its past rebuilt, then changed moves"
    )
    fk.add_argument("run", help="the parent: a run folder")
    fk.add_argument("--at", type=_positive, required=True, help="the first turn that may differ")
    fk.add_argument("--out", default=None, help="the fork's run folder (default runs/fork-...)")
    fk.add_argument(
        "--moves",
        action="append",
        metavar="TURN:COMMAND",
        help="a move from turn --at on (repeatable); the parent's moves from --at on are "
        "then dropped unless --keep-moves",
    )
    fk.add_argument(
        "--keep-moves", action="store_true", help="make the parent's moves from --at on too"
    )
    fk.add_argument(
        "--mechanism", choices=ARMS, default=None, help="the mechanism of legends told from --at"
    )
    fk.add_argument(
        "--turns",
        type=_positive,
        default=None,
        help="the fork's length (default the parent's; longer goes on past the parent's end)",
    )
    fk.add_argument("--short", type=_positive, default=None, help="resize shorts from --at on")
    fk.add_argument("--cast", default=None, help="another cast from --at on")
    _add_sampling(fk, None, unset="default: the parent's")
    fk.add_argument(
        "--serial",
        action="store_true",
        help="ask model creatures one at a time: two forks with the same changes repeat "
        "each other byte for byte",
    )
    fk.add_argument(
        "--reask",
        action="store_true",
        help="ask the models of the prefix again, as resume does (the parent's continuation)",
    )
    fk.set_defaults(func=cmd_fork)

    st = sub.add_parser("story", help="a run's season as one self-contained HTML page")
    st.add_argument("run", help="a run folder")
    st.add_argument("--out", required=True, metavar="PAGE.html", help="the page to write")
    st.set_defaults(func=cmd_story)

    rp = sub.add_parser("replay", help="re-run a run folder from its records and check every turn")
    rp.add_argument("folder", help="a run folder written by `woodmarket run`")
    rp.set_defaults(func=cmd_replay)

    m = sub.add_parser(
        "models", help="list the bundled models, verify them (sha256), probe their batching"
    )
    m.add_argument(
        "--probe",
        nargs="*",
        metavar="MODEL",
        default=None,
        help="measure whether batched requests answer bit for bit as alone, and record it "
        "(default: every bundled model; a key or a GGUF path)",
    )
    m.add_argument(
        "--slots",
        type=_positive,
        default=None,
        help="the probe server's slots: batch sizes 2..SLOTS (default $WOODMARKET_SLOTS or 10)",
    )
    m.add_argument(
        "--repeats", type=_positive, default=3, help="repeats of each batch size (default 3)"
    )
    m.add_argument(
        "--scenario", default="oona", help="whose creatures' requests the probe sends (oona)"
    )
    m.set_defaults(func=cmd_models)

    pl = sub.add_parser("play", help="play the financier in the terminal")
    pl.add_argument("--scenario", default="oona", help="bundled name (oona) or a TOML path")
    pl.add_argument("--seed", type=_seed, default=0, help="the wood's seed (default 0)")
    pl.add_argument("--turns", type=_positive, default=None, help="season length (scenario's)")
    pl.add_argument(
        "--cast",
        default=councils.GAME,
        help=f"who drives the creatures: {councils.GAME} (default, the two-lab council), "
        "council3, council, single:MODEL, standin, a cast file",
    )
    pl.add_argument(
        "--mechanism",
        choices=MECHANISMS,
        default=None,
        help="override every legend's mechanism in this game",
    )
    pl.add_argument("--out", default=None, help="run folder (default runs/play-SCENARIO-...)")
    _add_sampling(pl, 0.0)
    _add_thoughts(pl)
    pl.set_defaults(func=cmd_play)

    a = sub.add_parser("app", help="the web app: play the financier in a browser")
    a.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)"
    )
    a.add_argument("--port", type=_positive, default=7860, help="port (default 7860)")
    a.add_argument(
        "--cast",
        default="standin",
        choices=(*councils.PICKED, councils.ALIAS),
        help="the cast a new wood starts with (a player may pick another; default standin)",
    )
    a.add_argument("--scenario", default=None, help="the bundled scenario a new wood starts with")
    a.add_argument(
        "--max-sessions", type=_positive, default=8, help="woods played at once (default 8)"
    )
    a.add_argument(
        "--idle-minutes",
        type=_positive,
        default=15,
        help="close a game idle this long and free its seat (default 15)",
    )
    a.add_argument("--runs", default="runs/app", help="where games are saved (default runs/app)")
    _add_sampling(a, 0.0, " in every game of this server")
    _add_thoughts(a)
    a.set_defaults(func=cmd_app)

    g = sub.add_parser("gambit", help="Table 1 for one cast: a sweep across the mechanisms")
    g.add_argument("gambit", help="a gambit of the scenario (`woodmarket scenarios` lists them)")
    g.add_argument("--cast", default="standin", help="who drives the creatures (default standin)")
    g.add_argument("--out", default=None, help="sweep folder (default runs/gambit-...)")
    g.add_argument("--json", default=None, help="also write the per-seed outcomes here")
    _add_sweep_options(g)
    g.set_defaults(func=cmd_gambit)

    sc = sub.add_parser("scenarios", help="list the bundled scenarios, one per line, key first")
    sc.set_defaults(func=cmd_scenarios)

    ck = sub.add_parser("check", help="validate a scenario, legend or cast file without running it")
    ck.add_argument("file", help="a scenario, legend or cast TOML file")
    ck.add_argument(
        "--scenario",
        default=None,
        help="the scenario a legend or cast file is checked against (default: the first bundled)",
    )
    ck.set_defaults(func=cmd_check)

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
        type=_positive,
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
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (WoodmarketError, FileExistsError) as exc:
        print(f"woodmarket: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("woodmarket: interrupted; finished turns are on disk", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`woodmarket models | head`): stop quietly, as Unix tools do.
        # stdout is pointed at /dev/null so Python's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    raise SystemExit(main())
