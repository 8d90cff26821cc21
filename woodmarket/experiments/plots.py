"""Plots of a sweep, as PNG (matplotlib, headless): price paths and P&L distributions.

    prices.png   per world, the target's reference price turn by turn: each seed a
                 faint line, the mean bold, the spring and the settlement marked
    pnl.png      per world, the gambit's P&L of every seed (dots) over a box plot

matplotlib is an optional extra (`woodmarket[experiments]`); without it
the report is written and the plots are skipped with a note. This room
writes only the two files it is asked for.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from woodmarket.experiments.worlds import World


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # headless: no display needed
    import matplotlib.pyplot as plt

    return plt


def _grouped(
    outcomes: Sequence[Mapping[str, Any]], worlds: Sequence[World]
) -> list[tuple[World, list[Mapping[str, Any]]]]:
    by: dict[str, list[Mapping[str, Any]]] = {w.label: [] for w in worlds}
    for o in outcomes:
        if o["world"] in by:
            by[o["world"]].append(o)
    return [(w, sorted(by[w.label], key=lambda o: int(o["seed"]))) for w in worlds if by[w.label]]


def price_paths(
    outcomes: Sequence[Mapping[str, Any]],
    worlds: Sequence[World],
    out: str | Path,
    *,
    target: str,
    spring_turn: int,
    reckoning: int,
) -> Path:
    plt = _pyplot()
    groups = _grouped(outcomes, worlds)
    cols = min(4, max(1, len(groups)))
    rows = max(1, math.ceil(len(groups) / cols))
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.2 * cols, 2.6 * rows), sharex=True, sharey=True, squeeze=False
    )
    for ax in axes.flat[len(groups) :]:
        ax.set_visible(False)
    for ax, (world, runs) in zip(axes.flat, groups, strict=False):
        paths = [o["path"] for o in runs if o.get("path")]
        for p in paths:
            ax.plot(range(len(p)), p, color="tab:blue", alpha=0.15, linewidth=0.8)
        if paths:
            length = min(len(p) for p in paths)
            mean = [sum(p[i] for p in paths) / len(paths) for i in range(length)]
            ax.plot(range(length), mean, color="tab:blue", linewidth=2.2)
        ax.axvline(spring_turn - 0.5, color="tab:orange", linestyle="--", linewidth=1)
        ax.axvline(reckoning, color="tab:red", linestyle=":", linewidth=1.2)
        ax.set_title(f"{world.label} (n={len(paths)})", fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("turn")
    for ax in axes[:, 0]:
        ax.set_ylabel(f"{target} reference")
    fig.suptitle(
        f"{target}: seeds faint, mean bold; legend sprung (orange --), settlement (red :)",
        fontsize=10,
    )
    fig.tight_layout()
    path = Path(out)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def pnl_distribution(
    outcomes: Sequence[Mapping[str, Any]], worlds: Sequence[World], out: str | Path
) -> Path:
    plt = _pyplot()
    groups = _grouped(outcomes, worlds)
    labels = [w.label for w, _ in groups]
    data = [[float(o["pnl"]) for o in runs if o.get("pnl") is not None] for _, runs in groups]
    fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(labels) + 2), 4.2))
    if data:
        ax.boxplot(data, showfliers=False, widths=0.5)
        jitter = random.Random(0)
        for i, xs in enumerate(data, 1):
            ax.scatter(
                [i + jitter.uniform(-0.15, 0.15) for _ in xs], xs, s=10, alpha=0.5, color="tab:blue"
            )
            if xs:
                ax.scatter([i], [sum(xs) / len(xs)], marker="D", color="black", s=22, zorder=3)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xticks(range(1, len(labels) + 1), labels, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("gambit P&L (pebbles)")
    ax.set_title("P&L per world: each seed a dot, the mean a diamond", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path = Path(out)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
