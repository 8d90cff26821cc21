"""Table 1: one gambit across worlds (mechanisms) and seeds, with uncertainty.

This room runs specs through `runner.run` (cast, gambit, mechanism), reads
their target's price path and the financier's P&L, and
writes the article's table: per world, the target's reference price
before the legend and at its settlement, and the gambit's P&L, each as a
mean with its spread (sample sd), plus a 95% confidence interval of the
mean P&L (Student t) and how many seeds won. It changes nothing outside
the woods it builds.

Common random numbers: every world runs the same seeds, and the wood's
streams are named, so two worlds differ only by their mechanism. The
`none` world is the gambit without its legend (the baseline a `rumor`
world must equal under the stand-in, which ignores text).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from woodmarket.errors import WoodmarketError
from woodmarket.runner import run
from woodmarket.scenario import Scenario
from woodmarket.spec import RunSpec

WORLDS = ("none", "rumor", "glut", "settle")
# Student t, two-sided 95%, by degrees of freedom; larger df use an expansion.
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t95(df: int) -> float:
    if df < 1:
        return math.nan
    if df <= len(_T95):
        return _T95[df - 1]
    z = 1.959964  # Cornish-Fisher expansion of t around the normal quantile
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One world, one seed."""

    world: str
    seed: int
    before: int
    at_settlement: int
    pnl: int
    path: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Stat:
    n: int
    mean: float
    sd: float
    lo: float
    hi: float

    @classmethod
    def of(cls, xs: Sequence[float]) -> Stat:
        n = len(xs)
        mean = statistics.fmean(xs) if n else math.nan
        sd = statistics.stdev(xs) if n > 1 else 0.0
        half = t95(n - 1) * sd / math.sqrt(n) if n > 1 else math.nan
        return cls(n, mean, sd, mean - half, mean + half)


def run_world(spec: RunSpec, seed: int, world: str) -> Outcome:
    """One seed of one world: `spec` with that seed and the world's mechanism."""
    result = run(spec.but(seed=seed, mechanism=world))
    gambit = spec.the_gambit()
    path = result.target_path
    if spec.turns < gambit.reckoning:
        raise WoodmarketError(
            f"{spec.turns} turns end before the legend's settlement (turn {gambit.reckoning})"
        )
    # history[k] is the reference after turn k: the legend is sprung on
    # `spring_turn`, so the price before it is the one after the turn before.
    return Outcome(
        world,
        seed,
        path[gambit.spring_turn - 1],
        path[gambit.reckoning],
        result.pnl or 0,
        path,
    )


def table1(
    scenario: Scenario,
    gambit: str = "showcase",
    seeds: Sequence[int] = range(20),
    worlds: Sequence[str] = WORLDS,
    cast: str = "standin",
    turns: int | None = None,
    progress: Any = None,
) -> dict[str, list[Outcome]]:
    """world -> one Outcome per seed, the same seeds in every world."""
    spec = RunSpec.make(scenario, cast=cast, turns=turns, gambit=gambit)
    if spec.turns < spec.the_gambit().reckoning:
        raise WoodmarketError(
            f"{spec.turns} turns end before the legend's settlement "
            f"(turn {spec.the_gambit().reckoning})"
        )
    out: dict[str, list[Outcome]] = {w: [] for w in worlds}
    for seed in seeds:
        for w in worlds:
            out[w].append(run_world(spec, seed, w))
            if progress is not None:
                progress.update(1)
    return out


def render(
    results: dict[str, list[Outcome]], gambit: str, cast: str, scenario: Scenario, turns: int
) -> str:
    g = scenario.gambit(gambit)
    legend = g.legend
    target = legend.target
    seeds = [o.seed for o in next(iter(results.values()))]
    edition = "stand-in" if cast == "standin" else cast
    labels = {"none": "no legend", "rumor": "rumor", "glut": "glut", "settle": "settle"}
    lines = [
        f"Table 1 ({edition} edition): the {gambit} gambit across worlds",
        f"  {g.summary}",
        f"  {scenario.name}, {turns} turns; legend {legend.title!r} sprung on turn "
        f"{g.spring_turn}, settlement on turn {g.reckoning}",
        f"  seeds {_seed_span(seeds)} (n={len(seeds)}), the same seeds in every world; "
        "mean ± sd, 95% CI of the mean P&L",
        "",
        f"{'world':<10} {target + ' before':>14} {target + ' at settlement':>22} "
        f"{'gambit P&L':>14} {'95% CI':>17} {'wins':>7}",
    ]
    for world, outs in results.items():
        before = Stat.of([o.before for o in outs])
        at = Stat.of([o.at_settlement for o in outs])
        pnl = Stat.of([o.pnl for o in outs])
        wins = sum(o.pnl > 0 for o in outs)
        lines.append(
            f"{labels.get(world, world):<10} {_ms(before):>14} {_ms(at):>22} "
            f"{_ms(pnl, signed=True):>14} {f'[{pnl.lo:+.1f}, {pnl.hi:+.1f}]':>17} "
            f"{f'{wins}/{len(outs)}':>7}"
        )
    return "\n".join(lines)


def _ms(s: Stat, signed: bool = False) -> str:
    mean = f"{s.mean:+.1f}" if signed else f"{s.mean:.1f}"
    return f"{mean} ± {s.sd:.1f}"


def _seed_span(seeds: Sequence[int]) -> str:
    if seeds and list(seeds) == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}..{seeds[-1]}"
    return ", ".join(map(str, seeds))


def as_json(results: dict[str, list[Outcome]]) -> dict[str, Any]:
    """Rows for machines: per world the per-seed outcomes and the summary figures."""
    out: dict[str, Any] = {}
    for world, outs in results.items():
        pnl = Stat.of([o.pnl for o in outs])
        out[world] = {
            "seeds": [o.seed for o in outs],
            "before": [o.before for o in outs],
            "at_settlement": [o.at_settlement for o in outs],
            "pnl": [o.pnl for o in outs],
            "pnl_mean": pnl.mean,
            "pnl_sd": pnl.sd,
            "pnl_ci95": [pnl.lo, pnl.hi],
        }
    return out
