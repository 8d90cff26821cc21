"""The experiment tab's engine: one gambit across worlds and seeds, Table 1 from a browser.

`sweep` is the one function that runs the worlds: today it runs stand-in
woods through `runner.run(spec.but(seed=..., mechanism=...))`, one world
and seed at a time (so a caller can show progress and cancel between
runs); when `woodmarket.experiments` lands, `sweep` is where the tab
calls it instead. The rest summarizes: per world the target's price
before the legend and at its settlement, and the gambit's P&L with a mean
and a percentile-bootstrap 95% CI; an HTML table, SVG plots, a Parquet file.

This room runs woods of its own; it touches no session.
"""

from __future__ import annotations

import html
import random
import statistics
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from woodmarket.errors import WoodmarketError

WORLDS = ("none", "rumor", "glut", "settle")
WORLD_LABELS = {
    "none": "no legend",
    "rumor": "rumor",
    "glut": "glut",
    "settle": "settle",
}
MAX_SEEDS = 200
BOOTSTRAP = 2000


@dataclass(frozen=True, slots=True)
class WorldRun:
    """One seed of one world."""

    world: str
    seed: int
    before: int  # the target's reference before the legend is sprung
    at_settlement: int  # its reference after the settlement turn
    pnl: int
    path: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class WorldStat:
    world: str
    n: int
    before: float
    at_settlement: float
    mean: float
    lo: float
    hi: float
    wins: int


def gambits_of(scenario: str) -> tuple[str, ...]:
    """The gambits a bundled scenario owns, by name."""
    from woodmarket.scenario import load_scenario

    return tuple(g.name for g in load_scenario(scenario).gambits)


def sweep(
    scenario: str,
    worlds: Sequence[str],
    seeds: Sequence[int],
    *,
    gambit: str | None = None,
    turns: int | None = None,
    cast: str = "standin",
    stop: Callable[[], bool] | None = None,
) -> Iterator[WorldRun]:
    """Run the gambit once per world and seed (seed-major: common seeds across worlds)."""
    from woodmarket.runner import run
    from woodmarket.spec import RunSpec

    unknown = [w for w in worlds if w not in WORLDS]
    if unknown or not worlds:
        raise WoodmarketError(f"choose worlds among {', '.join(WORLDS)}")
    if not seeds or len(seeds) > MAX_SEEDS:
        raise WoodmarketError(f"choose 1 to {MAX_SEEDS} seeds")
    names = gambits_of(scenario)
    gambit = gambit or (names[0] if names else None)
    if gambit is None or gambit not in names:
        raise WoodmarketError(f"no gambit {gambit!r} in {scenario}; gambits: {', '.join(names)}")
    spec = RunSpec.make(scenario, cast=cast, turns=turns, gambit=gambit)
    g = spec.gambit_of()
    spring, reckoning = int(g.spring_turn), int(g.reckoning)
    if spec.turns < reckoning:
        raise WoodmarketError(f"{spec.turns} turns end before the settlement (turn {reckoning})")
    for seed in seeds:
        for world in worlds:
            if stop is not None and stop():
                return
            result = run(spec.but(seed=seed, mechanism=world))
            path = tuple(result.target_path)
            yield WorldRun(world, seed, path[spring - 1], path[reckoning], result.pnl or 0, path)


def bootstrap_ci(xs: Sequence[float], reps: int = BOOTSTRAP, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of the mean (the mean itself for one value)."""
    if not xs:
        return float("nan"), float("nan")
    if len(xs) == 1 or len(set(xs)) == 1:
        return float(xs[0]), float(xs[0])
    rng = random.Random(seed)
    n = len(xs)
    means = sorted(statistics.fmean(rng.choices(xs, k=n)) for _ in range(reps))
    return means[int(0.025 * reps)], means[int(0.975 * reps) - 1]


def summarize(runs: Sequence[WorldRun], worlds: Sequence[str] = WORLDS) -> list[WorldStat]:
    out = []
    for w in worlds:
        rs = [r for r in runs if r.world == w]
        if not rs:
            continue
        pnls = [float(r.pnl) for r in rs]
        lo, hi = bootstrap_ci(pnls)
        out.append(
            WorldStat(
                w,
                len(rs),
                statistics.fmean(r.before for r in rs),
                statistics.fmean(r.at_settlement for r in rs),
                statistics.fmean(pnls),
                lo,
                hi,
                sum(r.pnl > 0 for r in rs),
            )
        )
    return out


def table_html(stats: Sequence[WorldStat], target: str) -> str:
    t = html.escape(target)
    rows = "".join(
        f"<tr data-wm='world' data-world='{s.world}'><td>{WORLD_LABELS[s.world]}</td>"
        f"<td>{s.before:.1f}</td><td>{s.at_settlement:.1f}</td>"
        f"<td data-wm='mean'>{s.mean:+.1f}</td><td>[{s.lo:+.1f}, {s.hi:+.1f}]</td>"
        f"<td>{s.wins}/{s.n}</td></tr>"
        for s in stats
    )
    return (
        "<table class='wm-table' data-wm='table1'><tr><th>world</th>"
        f"<th>{t} before</th><th>{t} at settlement</th><th>gambit P&amp;L (mean)</th>"
        f"<th>95% CI (bootstrap)</th><th>wins</th></tr>{rows}</table>"
    )


_COLOURS = {"none": "#777", "rumor": "#1f5fbf", "glut": "#b07b00", "settle": "#b00020"}


def plots_svg(runs: Sequence[WorldRun], target: str) -> str:
    """Two plots: the target's price path per run, and the P&L of each run per world."""
    if not runs:
        return ""
    w, h, pad = 320, 160, 26
    longest = max(len(r.path) for r in runs) - 1
    top = max(max(r.path) for r in runs) or 1
    lines = []
    for r in runs:
        pts = " ".join(
            f"{pad + (w - 2 * pad) * i / max(longest, 1):.1f},"
            f"{h - pad - (h - 2 * pad) * p / top:.1f}"
            for i, p in enumerate(r.path)
        )
        lines.append(
            f'<polyline fill="none" stroke="{_COLOURS[r.world]}" stroke-opacity="0.55" '
            f'stroke-width="1.5" points="{pts}"/>'
        )
    legend = "".join(
        f'<text x="{pad + 70 * i}" y="12" font-size="10" fill="{_COLOURS[wd]}">'
        f"{WORLD_LABELS[wd]}</text>"
        for i, wd in enumerate(dict.fromkeys(r.world for r in runs))
    )
    paths = (
        f'<svg width="{w}" height="{h}" data-wm="plot-paths" role="img" '
        f'aria-label="{html.escape(target)} price paths">{legend}'
        f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="#999"/>'
        f'<text x="2" y="{pad}" font-size="10">{top}</text>'
        f'<text x="{w - pad}" y="{h - 8}" font-size="10">{longest}</text>{"".join(lines)}</svg>'
    )
    worlds = list(dict.fromkeys(r.world for r in runs))
    pnls = [r.pnl for r in runs]
    lo, hi = min([*pnls, 0]), max([*pnls, 0])
    span = (hi - lo) or 1

    def y(v: float) -> float:
        return h - pad - (h - 2 * pad) * (v - lo) / span

    dots = []
    for i, wd in enumerate(worlds):
        x0 = pad + 30 + i * ((w - 2 * pad - 30) / max(len(worlds), 1))
        dots.append(f'<text x="{x0 - 10:.1f}" y="{h - 8}" font-size="10">{WORLD_LABELS[wd]}</text>')
        for j, r in enumerate(rr for rr in runs if rr.world == wd):
            dots.append(
                f'<circle cx="{x0 + (j % 7) * 3:.1f}" cy="{y(r.pnl):.1f}" r="3" '
                f'fill="{_COLOURS[wd]}" fill-opacity="0.7"><title>seed {r.seed}: {r.pnl:+d}'
                "</title></circle>"
            )
    dist = (
        f'<svg width="{w}" height="{h}" data-wm="plot-pnl" role="img" aria-label="gambit P&amp;L">'
        f'<line x1="{pad}" y1="{y(0):.1f}" x2="{w - pad}" y2="{y(0):.1f}" stroke="#999" '
        f'stroke-dasharray="3,2"/><text x="2" y="{y(0) + 3:.1f}" font-size="10">0</text>'
        f'<text x="2" y="{y(hi) + 8:.1f}" font-size="10">{hi:+d}</text>'
        f'<text x="2" y="{y(lo):.1f}" font-size="10">{lo:+d}</text>{"".join(dots)}</svg>'
    )
    return (
        f"<div class='wm' style='display:flex;gap:12px;flex-wrap:wrap'><div><b>"
        f"{html.escape(target)} per run</b><br>{paths}</div><div><b>gambit P&amp;L per run</b>"
        f"<br>{dist}</div></div>"
    )


def to_parquet(runs: Sequence[WorldRun], path: str | Path, meta: dict[str, Any]) -> Path:
    """Per-run rows (world, seed, prices, P&L, the path) as a Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [
        {
            **meta,
            "world": r.world,
            "seed": r.seed,
            "price_before": r.before,
            "price_at_settlement": r.at_settlement,
            "pnl": r.pnl,
            "target_path": list(r.path),
        }
        for r in runs
    ]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path
