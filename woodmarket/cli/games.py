"""The commands that start the game: `play` in a terminal, `app` in a browser.

Both hand their parsed options to the game's own room (play.py, app/).
"""

from __future__ import annotations

import argparse
from typing import Any

from woodmarket import councils
from woodmarket.cli.options import add_sampling, add_thoughts, positive, sampling_of, seed_number
from woodmarket.rules import MECHANISMS


def cmd_play(args: argparse.Namespace) -> int:
    from woodmarket.play import main

    return main(args, sampling_of(args))


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


def add(sub: Any) -> None:
    """The play and app subcommands."""
    pl = sub.add_parser("play", help="play the financier in the terminal")
    pl.add_argument("--scenario", default="oona", help="bundled name (oona) or a TOML path")
    pl.add_argument("--seed", type=seed_number, default=0, help="the wood's seed (default 0)")
    pl.add_argument("--turns", type=positive, default=None, help="season length (scenario's)")
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
    add_sampling(pl, 0.0)
    add_thoughts(pl)
    pl.set_defaults(func=cmd_play)

    a = sub.add_parser("app", help="the web app: play the financier in a browser")
    a.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)"
    )
    a.add_argument("--port", type=positive, default=7860, help="port (default 7860)")
    a.add_argument(
        "--cast",
        default="standin",
        choices=(*councils.PICKED, councils.ALIAS),
        help="the cast a new wood starts with (a player may pick another; default standin)",
    )
    a.add_argument("--scenario", default=None, help="the bundled scenario a new wood starts with")
    a.add_argument(
        "--max-sessions", type=positive, default=8, help="woods played at once (default 8)"
    )
    a.add_argument(
        "--idle-minutes",
        type=positive,
        default=15,
        help="close a game idle this long and free its seat (default 15)",
    )
    a.add_argument("--runs", default="runs/app", help="where games are saved (default runs/app)")
    add_sampling(a, 0.0, " in every game of this server")
    add_thoughts(a)
    a.set_defaults(func=cmd_app)
