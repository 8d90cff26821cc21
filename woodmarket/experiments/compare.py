"""Two sweeps side by side: one gambit against another, world by world, seed by seed.

`woodmarket compare A B` asks what the first sweep's gambit changes
against the second's (the patron's bribe against the showcase's whisper,
say) in the worlds and seeds both swept. The two sweeps must be of the
same scenario and their gambits must move the same target, or the
comparison means nothing and is refused in one line.

Per world both swept, over the seeds both ran (common random numbers: a
seed is the same wood, the same streams, in both), each figure is A's
mean, B's mean and the paired difference A - B, seed by seed, with its
95% percentile-bootstrap CI (the report's `Stat`): the target's reference
at the legend's settlement, the gambit's P&L, and what a creature bribed
to `sell` offered and sold on the bribed turns. A world whose runs are
replicas of each other (fewer distinct runs than seeds, as at temperature
0) is marked: its intervals are false precision.

This room only computes and formats; the command line reads the sweeps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from woodmarket.errors import WoodmarketError
from woodmarket.experiments.render import aligned, ci_text
from woodmarket.experiments.report import runs_by_world
from woodmarket.experiments.stats import Stat

FIGURES = (
    ("at_settlement", "settled"),
    ("pnl", "P&L"),
    ("asked_sold", "sold"),
)


@dataclass(frozen=True, slots=True)
class Side:
    """One sweep to compare: its gambit's name, scenario, target and outcomes."""

    gambit: str
    scenario: str
    target: str
    outcomes: Sequence[Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Line:
    """One world: n paired seeds, and per figure (A's mean, B's mean, the paired A - B)."""

    world: str
    n: int
    replicas: bool
    figures: dict[str, tuple[float, float, Stat]]


def compare(a: Side, b: Side) -> list[Line]:
    """Per world both swept, the paired differences A - B over their common seeds."""
    if a.scenario != b.scenario:
        raise WoodmarketError(
            f"the sweeps are of different scenarios ({a.scenario}, {b.scenario}); "
            "compare sweeps of one scenario"
        )
    if a.target != b.target:
        raise WoodmarketError(
            f"the gambits move different goods ({a.gambit}: {a.target}, {b.gambit}: "
            f"{b.target}); their prices cannot be compared"
        )
    need = ("pnl", "at_settlement")
    runs_a, runs_b = runs_by_world(a.outcomes, need), runs_by_world(b.outcomes, need)
    lines = []
    for world in [w for w in runs_a if w in runs_b]:
        seeds = sorted(set(runs_a[world]) & set(runs_b[world]))
        if not seeds:
            continue
        pa = [runs_a[world][s] for s in seeds]
        pb = [runs_b[world][s] for s in seeds]
        distinct = min(len({r.get("behaviour") for r in pa}), len({r.get("behaviour") for r in pb}))
        figures = {}
        for key, _ in FIGURES:
            xa = [float(r.get(key) or 0) for r in pa]
            xb = [float(r.get(key) or 0) for r in pb]
            diff = Stat.of([x - y for x, y in zip(xa, xb, strict=True)])
            figures[key] = (sum(xa) / len(xa), sum(xb) / len(xb), diff)
        lines.append(Line(world, len(seeds), len(seeds) > 1 and distinct < len(seeds), figures))
    if not lines:
        raise WoodmarketError(
            "the sweeps have no world and seed in common; sweep the same worlds and seeds"
        )
    return lines


def render(a: Side, b: Side, lines: Sequence[Line]) -> str:
    """The comparison as a terminal table, with what it compares and how."""
    head = ["world", "n"]
    for _, label in FIGURES:
        head += [f"{label} A", "B", "A - B [95% CI]"]
    rows = [head]
    for ln in lines:
        cells = [ln.world, f"{ln.n}{' !' if ln.replicas else ''}"]
        for key, _ in FIGURES:
            ma, mb, d = ln.figures[key]
            cells += [f"{ma:.1f}", f"{mb:.1f}", f"{d.mean:+.1f} {ci_text(d)}"]
        rows.append(cells)
    out = [
        f"A = the {a.gambit} gambit against B = the {b.gambit} gambit: {a.scenario}, "
        f"{a.target} is the target",
        "  settled: the target's reference at the legend's settlement; P&L: the gambit's;",
        "  sold: units a creature bribed to `sell` sold on the bribed turns (means per run)",
        "  A - B paired by seed (the same wood in both); 95% CI: percentile bootstrap over seeds",
        "",
        *aligned(rows),
    ]
    marked = [ln.world for ln in lines if ln.replicas]
    if marked:
        out += [
            "",
            f"! {', '.join(marked)}: some runs are replicas of each other; "
            "their intervals are false precision",
        ]
    return "\n".join(out)
