"""Levels measured, not guessed: each bundled level played the way the page tells a newcomer to.

    .venv/bin/python benchmarks/levels.py --casts standin,council2 --seeds 0-39 --out runs/levels

For every bundled level (both scenarios, normal and hard), cast (the
stand-in and the game's council, `councils.GAME`) and arm, a season is
played through the web app's own session API (`Sessions`,
`Session.first_trade`, `Session.form`, `Session.step`), as the page's
header says: press First trade; spring the first trade's own legend with
its own mechanism, on turn 2 in one arm and on turn 3 in the other; cover
after it settles; play on. A season is won when the objective is met (the
financier's pebbles reach the level's goal by its turn, and the season is
not lost); it is played until it is decided (to its end once met, since a
met season can still be lost; or until it is lost, or its objective's
turn has passed unmet). Nothing of the market is touched: no creature is
scripted, no rule looks at the player.

Every finished season is one line of `OUT/seasons.jsonl`, written as it
ends with the digest of its level's texts, so the same command again
skips what is done and plays again what a level retuned since made stale
(council seasons take a minute or two each on two cores: run it across
sittings). Printed per level,
cast and arm: seasons won on the tuning seeds (0-19 by default) and on the
report seeds (20-39), each with its Wilson 95% interval; and the CPU
model. Seasons of one cast and seed share the wood's randomness across
arms and levels (common random numbers), so arms are compared paired.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from woodmarket import councils
from woodmarket.app.session import Sessions, level_keys
from woodmarket.commands import Short, Spring, follow_ups, parse_command
from woodmarket.provenance import cpu_model
from woodmarket.scenario import load_scenario
from woodmarket.spec import RunSpec

ARMS = (2, 3)  # the turn the first trade's legend is sprung


def plan(level: str) -> tuple[str, str, int]:
    """(the first trade's good, its legend, the legend's delay) of a level."""
    sc = load_scenario(level)
    first = [parse_command(m) for m in sc.first_trade]
    good = next(c.good for c in first if isinstance(c, Short))
    legend = next(c.legend for c in follow_ups(first, sc.lexicon) if isinstance(c, Spring))
    return good, legend, sc.legend(legend).delay


def level_sha256(level: str) -> str:
    """The level's texts' digest: a season played on other texts is not this level's."""
    return RunSpec.make(level).scenario_sha256


def season(sessions: Sessions, level: str, cast: str, seed: int, arm: int) -> dict[str, Any]:
    """One season played as the header says; what it came to."""
    good, legend, delay = plan(level)
    key = f"{level}-{cast}-{seed}-{arm}"
    s = sessions.seat(key, scenario=level, cast=cast, seed=seed)
    start = time.perf_counter()
    try:
        s.first_trade()
        covered = False
        by = s.wood.scenario.financier.objective_turn
        # Played until the season is decided: lost, or past the objective's turn
        # unmet (it can no longer be won); a met objective plays on, as it can be lost.
        while not s.game.over and not s.fin.lost:
            if s.wood.turn >= by and s.fin.met_turn is None:
                break
            turn = s.wood.turn + 1
            if turn == arm:
                s.form("spring", {"legend": legend, "mechanism": ""})
            if turn == arm + delay + 1 and not covered:
                s.form("cover", {"good": good})  # after the settlement of turn arm + delay
                covered = True
            s.step()
        fin = s.fin
        return {
            "level": level,
            "level_sha256": level_sha256(level),
            "cast": cast,
            "seed": seed,
            "arm": arm,
            "won": fin.met_turn is not None and not fin.lost,
            "lost": fin.lost,
            "pnl": fin.pnl(),
            "objective": fin.objective(),
            "turns": s.wood.turn,
            "wall_s": round(time.perf_counter() - start, 2),
        }
    finally:
        sessions.close(key)


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of k successes in n trials (0..1)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def seeds_of(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def report(rows: list[dict[str, Any]], tune: list[int], test: list[int]) -> list[str]:
    out = [f"CPU: {cpu_model()}"]
    out.append(
        f"{'level':<15} {'cast':<8} {'spring':>6}  {'tuning seeds':<22}  {'report seeds':<22}"
    )
    keys = sorted({(r["level"], r["cast"], r["arm"]) for r in rows})
    for level, cast, arm in keys:
        cells = []
        for seeds in (tune, test):
            mine = [
                r
                for r in rows
                if (r["level"], r["cast"], r["arm"]) == (level, cast, arm) and r["seed"] in seeds
            ]
            won = sum(r["won"] for r in mine)
            lo, hi = wilson(won, len(mine))
            cells.append(f"{won:>2}/{len(mine):<2} won [{lo:.2f}, {hi:.2f}]")
        out.append(f"{level:<15} {cast:<8} {'turn ' + str(arm):>6}  {cells[0]:<22}  {cells[1]:<22}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--casts", default=f"standin,{councils.GAME}")
    ap.add_argument("--levels", default=",".join(level_keys()))
    ap.add_argument("--seeds", default="0-39", help="seeds to play, FIRST-LAST")
    ap.add_argument("--tune", default="0-19", help="the seeds the levels were tuned on")
    ap.add_argument("--report", default="20-39", help="the seeds reported")
    ap.add_argument("--out", default="runs/levels", help="where seasons.jsonl and the games go")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    book = out / "seasons.jsonl"
    rows = [json.loads(x) for x in book.read_text().splitlines()] if book.exists() else []
    for r in rows:  # seasons are kept by the council that played them, never the alias
        r["cast"] = councils.recorded(r["cast"])
    # A level retuned since a season was played makes that season another level's.
    current = {level: level_sha256(level) for level in level_keys()}
    fresh = [r for r in rows if r.get("level_sha256") == current.get(r["level"])]
    if len(fresh) < len(rows):
        left = len(rows) - len(fresh)
        print(f"{left} seasons of levels since retuned: left out", file=sys.stderr)
    # Two processes may split the seeds and meet on one season: the first recorded counts.
    first: dict[tuple[str, str, int, int], dict[str, Any]] = {}
    for r in fresh:
        first.setdefault((r["level"], r["cast"], r["seed"], r["arm"]), r)
    rows, done = list(first.values()), set(first)
    sessions = Sessions(cap=1, idle_s=1e9, runs=out / "games")
    try:
        # Seed by seed, so a run stopped early is balanced across levels and arms.
        for seed in seeds_of(args.seeds):
            for cast in map(councils.resolve, args.casts.split(",")):
                for level in args.levels.split(","):
                    for arm in ARMS:
                        if (level, cast, seed, arm) in done:
                            continue
                        row = season(sessions, level, cast, seed, arm)
                        rows.append(row)
                        with book.open("a", encoding="utf-8") as f:
                            f.write(json.dumps(row, sort_keys=True) + "\n")
                        print(
                            f"{level} {cast} seed {seed} spring {arm}: "
                            f"{'won' if row['won'] else 'missed'} ({row['pnl']:+d}, "
                            f"{row['wall_s']:.0f} s)",
                            file=sys.stderr,
                            flush=True,
                        )
    finally:
        sessions.close_all()
    print("\n".join(report(rows, seeds_of(args.tune), seeds_of(args.report))))


if __name__ == "__main__":
    main()
