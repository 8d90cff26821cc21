"""The report: bootstrap intervals, paired effects, effective n, and the agreement rule."""

from __future__ import annotations

import csv
import io
import math
import random
import re
import statistics

import pytest

from woodmarket.experiments import legend_of
from woodmarket.experiments.render import render_csv, render_markdown, render_text
from woodmarket.experiments.report import build_report
from woodmarket.experiments.stats import (
    AGREE,
    MODELS_ONLY,
    NA,
    OPPOSITE,
    STANDIN_ONLY,
    Stat,
    agreement,
    bootstrap_ci,
)
from woodmarket.experiments.worlds import World, with_controls
from woodmarket.spec import RunSpec
from woodmarket.types import Sampling


def test_the_bootstrap_is_seeded_and_brackets_the_mean():
    rng = random.Random(7)
    xs = [rng.gauss(3, 2) for _ in range(30)]
    lo, hi = bootstrap_ci(xs)
    assert (lo, hi) == bootstrap_ci(xs)
    assert lo < statistics.fmean(xs) < hi
    # About the normal interval's width for a sample this size.
    half = 1.96 * statistics.stdev(xs) / math.sqrt(len(xs))
    assert 0.75 * half < (hi - lo) / 2 < 1.25 * half


def test_constant_samples_have_zero_width_and_one_seed_has_none():
    s = Stat.of([5, 5, 5])
    assert (s.lo, s.hi, s.sd) == (5, 5, 0)
    one = Stat.of([4])
    assert math.isnan(one.lo) and not one.excludes_zero


def _stat(lo: float, hi: float) -> Stat:
    return Stat(5, (lo + hi) / 2, 1.0, lo, hi)


@pytest.mark.parametrize(
    ("standin", "models", "verdict"),
    [
        ((10, 20), (5, 30), AGREE),  # both exclude zero, same side
        ((-1, 1), (-3, 2), AGREE),  # neither excludes zero
        ((10, 20), (-4, 6), STANDIN_ONLY),  # the article's glut
        ((0, 0), (-20, -5), MODELS_ONLY),  # the article's rumor: the stand-in reads no text
        ((10, 20), (-20, -5), OPPOSITE),
    ],
)
def test_the_agreement_rule(standin, models, verdict):
    assert agreement(_stat(*standin), _stat(*models)) == verdict


def test_agreement_without_a_stand_in_or_an_interval_is_not_available():
    assert agreement(None, _stat(1, 2)) == NA
    assert agreement(Stat.of([3]), _stat(1, 2)) == NA


def _outcomes(world: str, pnls, befores=None, ats=None, behaviours=None):
    out = []
    for seed, pnl in enumerate(pnls):
        out.append(
            {
                "world": world,
                "seed": seed,
                "pnl": pnl,
                "before": (befores or [10] * len(pnls))[seed],
                "at_settlement": (ats or [10] * len(pnls))[seed],
                "behaviour": (behaviours or [f"{world}{seed}"] * len(pnls))[seed],
            }
        )
    return out


GAMBIT = RunSpec.make("oona", gambit="showcase").the_gambit()


def _report(outcomes, worlds, temperature=0.7):
    return build_report(
        outcomes,
        with_controls(worlds),
        gambit=GAMBIT,
        gambit_name="showcase",
        scenario="Oona's Wood",
        turns=6,
        sampling=Sampling(temperature, serial=True),
        live=frozenset({"council2"}),
        factor=legend_of(GAMBIT).factor,
    )


def test_a_synthetic_disagreement_is_flagged_from_the_numbers():
    """The stand-in's glut pays, the council's does not: computed, never typed."""
    rng = random.Random(1)
    noise = [rng.choice([-6, -3, 0, 3, 6]) for _ in range(8)]
    outcomes = (
        _outcomes("standin:none", [-2] * 8)
        + _outcomes("standin:glut", [16] * 8, ats=[8] * 8)
        + _outcomes("council2:none", [5 + n for n in noise])
        + _outcomes("council2:glut", [5 + n + rng.choice([-4, 4]) for n in noise])
    )
    rep = _report(outcomes, [World("standin", "glut"), World("council2", "glut")])
    rows = {r.world.label: r for r in rep.rows}
    assert rows["standin:glut"].effect.mean == 18 and rows["standin:glut"].effect.excludes_zero
    assert not rows["council2:glut"].effect.excludes_zero
    assert rows["council2:glut"].agreement == STANDIN_ONLY
    assert any("council2:glut" in n and "not a result" in n for n in rep.notes)
    assert "stand-in only !" in render_text(rep)
    # The same numbers with a council glut that does pay: the flag goes.
    paying = [o | {"pnl": o["pnl"] + 20} if o["world"] == "council2:glut" else o for o in outcomes]
    rep = _report(paying, [World("standin", "glut"), World("council2", "glut")])
    assert {r.world.label: r for r in rep.rows}["council2:glut"].agreement == AGREE


def test_the_paired_effect_is_seed_by_seed():
    # The control varies a lot between seeds; the legend adds exactly 3 to each.
    base = [-20, 0, 20, 40, -10]
    outcomes = _outcomes("council2:none", base) + _outcomes("council2:rumor", [b + 3 for b in base])
    rep = _report(outcomes, [World("council2", "rumor")])
    effect = {r.world.label: r for r in rep.rows}["council2:rumor"].effect
    assert (effect.mean, effect.lo, effect.hi) == (3, 3, 3)


def test_replicas_are_counted_and_warned_about():
    outcomes = _outcomes("council2:none", [6] * 6, behaviours=["same"] * 6) + _outcomes(
        "council2:rumor", [1, 2, 3, 4, 5, 6], behaviours=["a", "a", "b", "b", "c", "c"]
    )
    rep = _report(outcomes, [World("council2", "rumor")], temperature=0.0)
    rows = {r.world.label: r for r in rep.rows}
    assert (rows["council2:none"].distinct, rows["council2:rumor"].distinct) == (1, 3)
    text = render_text(rep)
    assert "6 (1) !" in text and "6 (3) !" in text
    assert any("only 1 distinct runs of 6 (temperature 0" in n for n in rep.notes)
    assert any("false precision" in n for n in rep.notes)


def test_the_settle_check_is_computed():
    outcomes = _outcomes("standin:none", [0, 0]) + _outcomes(
        "standin:settle", [40, 40], befores=[10, 9], ats=[5, 5]
    )
    rep = _report(outcomes, [World("standin", "settle")])
    row = {r.world.label: r for r in rep.rows}["standin:settle"]
    assert row.settle_holds == (1, 2)  # 9 x 0.5 rounds half down to 4, not 5
    assert any("in only 1 of 2 seeds" in n for n in rep.notes)


def test_markdown_and_csv_carry_every_world():
    outcomes = _outcomes("standin:none", [0, -8, 0]) + _outcomes(
        "standin:glut", [16, 16, 16], ats=[8, 8, 8]
    )
    rep = _report(outcomes, [World("standin", "glut")])
    md = render_markdown(rep)
    assert md.count("| standin:") == 2
    rows = render_csv(rep).splitlines()
    assert rows[0].startswith("world,cast,mechanism,short,n,distinct")
    assert len(rows) == 3 and rows[2].startswith("standin:glut,standin,glut,,3,3,0,")


def test_forced_covers_are_counted_from_the_trace_and_shown_per_world(tmp_path):
    """The recorded game whose short the house covered on turn 3: one forced cover,
    read from its records; the table counts the runs that had one."""
    from pathlib import Path

    from woodmarket.experiments.record import outcome_of
    from woodmarket.scenario import load_scenario

    game = Path(__file__).parents[1] / "data" / "squeeze-oona-council-seed0"
    showcase = load_scenario("oona").gambit("showcase")
    o = outcome_of(game, showcase)
    assert o["forced_covers"] == 1 and o["pnl"] < 0
    outcomes = _outcomes("council2:none", [5, 5, 5]) + _outcomes("council2:rumor", [1, -80, 2])
    for x in outcomes:
        x["forced_covers"] = int(x["pnl"] == -80)
    rep = _report(outcomes, [World("council2", "rumor")])
    rows = {r.world.label: r for r in rep.rows}
    assert (rows["council2:rumor"].forced, rows["council2:none"].forced) == (1, 0)
    table = {row["world"]: row for row in csv.DictReader(io.StringIO(render_csv(rep)))}
    assert (table["council2:rumor"]["forced"], table["council2:none"]["forced"]) == ("1", "0")
    line = next(x for x in render_text(rep).splitlines() if x.startswith("council2:rumor"))
    assert re.search(r" 2/3 +1/3 ", line)  # wins (+1, +2), then forced: 1 of 3
