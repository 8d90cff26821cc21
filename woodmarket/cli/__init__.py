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

The commands live in rooms of their own: runs.py (run, fork, story,
replay), games.py (play, app), sweeps.py (sweep, gambit, compare, export),
catalogue.py (scenarios, check, models), with the options they share in
options.py; this room assembles the parser and turns errors into lines.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from woodmarket.cli import catalogue, games, runs, sweeps
from woodmarket.errors import WoodmarketError

EXIT_USAGE = 2


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="woodmarket",
        description="A woodland economy of small language models, and a financier in the shadows.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for room in (runs, games, sweeps, catalogue):
        room.add(sub)
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
