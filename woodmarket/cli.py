"""The `woodmarket` command line: run, replay, and the rooms that plug in.

Each subcommand is a small function taking parsed arguments; anything a
user can get wrong (a broken scenario, a missing folder, a bad number)
ends in one clear line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from woodmarket.errors import WoodmarketError

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


def _default_out(scenario: str, seed: int) -> Path:
    stem = Path(scenario).stem
    return Path("runs") / f"{stem}-seed{seed}-{time.strftime('%Y%m%d-%H%M%S')}"


def cmd_run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from woodmarket.runner import build_wood, run
    from woodmarket.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    turns = args.turns or scenario.turns
    out = Path(args.out) if args.out else _default_out(args.scenario, args.seed)
    if out.exists() and any(out.iterdir()):
        raise WoodmarketError(f"--out {out}: folder exists and is not empty")
    meta = {"cast": "standin", "scenario_arg": str(args.scenario)}
    wood = build_wood(scenario, args.seed, None, meta)
    goods = wood.goods
    width = max(len(g) for g in goods)
    header = f"{'turn':>4}  " + "  ".join(f"{g:>{width}}" for g in goods) + "  trades  headline"
    bar = tqdm(total=turns, desc="turns", unit="turn", file=sys.stderr, leave=False)
    bar.write(header)

    def show(state) -> None:
        prices = "  ".join(f"{wood.prices[g]:>{width}}" for g in goods)
        bar.write(f"{state.turn:>4}  {prices}  {len(state.fills):>6}  {state.headline}")
        bar.update(1)

    try:
        summary = run(wood, turns, out, meta, on_turn=show)
    finally:
        bar.close()
    valid = f"{summary['valid_actions']}/{summary['decisions']}"
    print(
        f"\n{summary['turns']} turns; valid actions {valid}; "
        f"Gini {summary['gini_start']:.2f} -> {summary['gini_end']:.2f}"
    )
    print(f"run folder: {out}")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from woodmarket.replay import replay

    report = replay(args.folder)
    if report.ok:
        print(f"all {report.turns} turns match")
        return 0
    if report.mismatch_turn is not None:
        print(f"turn {report.mismatch_turn} differs: {report.detail}")
    else:
        print(f"only {report.checked} of {report.turns} turns replayed")
    return 1


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
    r.set_defaults(func=cmd_run)

    rp = sub.add_parser("replay", help="re-run a run folder from its records and check every turn")
    rp.add_argument("folder", help="a run folder written by `woodmarket run`")
    rp.set_defaults(func=cmd_replay)
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


if __name__ == "__main__":
    raise SystemExit(main())
