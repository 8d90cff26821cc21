"""The commands on one run folder: `run` (and `run --resume`), `fork`, `story`, `replay`.

Each command parses nothing itself (options.py and argparse do) and calls
the room that does the work: the runner, resume, fork, story, replay.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from woodmarket.cli.options import add_sampling, add_thoughts, positive, sampling_of, seed_number
from woodmarket.errors import WoodmarketError
from woodmarket.rules import ARMS
from woodmarket.types import Sampling


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


def add(sub: Any) -> None:
    """The run, fork, story and replay subcommands."""
    r = sub.add_parser("run", help="run a wood for some turns and write a run folder")
    r.add_argument("--scenario", default="oona", help="bundled name (oona) or a TOML path")
    r.add_argument(
        "--turns", type=positive, default=None, help="turns to run (default: scenario's)"
    )
    r.add_argument("--seed", type=seed_number, default=0, help="the run's seed (default 0)")
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
    add_sampling(r, 0.0)
    add_thoughts(r)
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
    fk.add_argument("--at", type=positive, required=True, help="the first turn that may differ")
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
        type=positive,
        default=None,
        help="the fork's length (default the parent's; longer goes on past the parent's end)",
    )
    fk.add_argument("--short", type=positive, default=None, help="resize shorts from --at on")
    fk.add_argument("--cast", default=None, help="another cast from --at on")
    add_sampling(fk, None, unset="default: the parent's")
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
