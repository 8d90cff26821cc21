"""The statistics of Table 1: a sample's mean, sd and bootstrap CI; paired effects; agreement.

Confidence intervals are percentile bootstrap intervals over seeds
(`BOOTSTRAP` resamples, seeded, so the same outcomes give the same table);
for the paired effect the seeds are resampled together, i.e. the bootstrap
runs over the per-seed differences.

Agreement (the article's third lesson: a result that holds only under the
stand-in is not a result). Per mechanism, the stand-in's paired effect is
compared with each model cast's, by their CIs:
- `agree`: both CIs exclude zero on the same side, or both include zero;
- `stand-in only`: the stand-in's CI excludes zero, the models' includes it;
- `models only`: the models' CI excludes zero, the stand-in's includes it;
- `opposite`: both exclude zero, on opposite sides.
`stand-in only` and `opposite` are flagged (!): an effect the stand-in shows
and the models do not. Without a stand-in world of that mechanism, `n/a`.

This room only computes; it reads no file and formats nothing.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

BOOTSTRAP = 4000


BOOTSTRAP_SEED = 20260608  # the article's date: any fixed seed does


AGREE, STANDIN_ONLY, MODELS_ONLY, OPPOSITE, NA = (
    "agree",
    "stand-in only",
    "models only",
    "opposite",
    "n/a",
)


FLAGGED = (STANDIN_ONLY, OPPOSITE)


@dataclass(frozen=True, slots=True)
class Stat:
    """A sample's mean, sd, and a 95% percentile-bootstrap CI of its mean."""

    n: int
    mean: float
    sd: float
    lo: float
    hi: float

    @classmethod
    def of(cls, xs: Sequence[float], resamples: int = BOOTSTRAP) -> Stat:
        n = len(xs)
        if n == 0:
            return cls(0, math.nan, math.nan, math.nan, math.nan)
        mean = statistics.fmean(xs)
        sd = statistics.stdev(xs) if n > 1 else 0.0
        lo, hi = bootstrap_ci(xs, resamples) if n > 1 and resamples else (math.nan, math.nan)
        return cls(n, mean, sd, lo, hi)

    @property
    def excludes_zero(self) -> bool:
        return not math.isnan(self.lo) and (self.lo > 0 or self.hi < 0)

    @property
    def sign(self) -> int:
        """+1 or -1 when the CI excludes zero, else 0."""
        if not self.excludes_zero:
            return 0
        return 1 if self.lo > 0 else -1


def bootstrap_ci(xs: Sequence[float], resamples: int = BOOTSTRAP) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean of `xs` (seeded: deterministic)."""
    rng = random.Random(BOOTSTRAP_SEED)
    n = len(xs)
    data = list(xs)
    means = sorted(math.fsum(rng.choices(data, k=n)) / n for _ in range(resamples))
    return _quantile(means, 0.025), _quantile(means, 0.975)


def _quantile(sorted_xs: Sequence[float], q: float) -> float:
    pos = q * (len(sorted_xs) - 1)
    i = math.floor(pos)
    j = min(i + 1, len(sorted_xs) - 1)
    return sorted_xs[i] + (sorted_xs[j] - sorted_xs[i]) * (pos - i)


def agreement(standin: Stat | None, models: Stat | None) -> str:
    """The rule in the module docstring, on two paired effects' CIs."""
    if standin is None or models is None or math.isnan(standin.lo) or math.isnan(models.lo):
        return NA
    s, m = standin.sign, models.sign
    if s == m:
        return AGREE
    if s and not m:
        return STANDIN_ONLY
    if m and not s:
        return MODELS_ONLY
    return OPPOSITE


def paired(
    mine: Mapping[int, Mapping[str, Any]],
    control: Mapping[int, Mapping[str, Any]],
    seeds: Sequence[int] | None = None,
) -> tuple[Stat, int]:
    """The paired P&L effect seed by seed (over `seeds`, or every seed both ran), and n."""
    common = sorted(set(mine) & set(control) if seeds is None else seeds)
    diffs = [float(mine[s]["pnl"]) - float(control[s]["pnl"]) for s in common]
    return Stat.of(diffs), len(common)
