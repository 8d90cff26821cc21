"""Cost: the estimate before a sweep, from recorded runs or a calibration run."""

from __future__ import annotations

import pytest
from sweepkit import cast_file

from woodmarket.experiments import Plan, execute
from woodmarket.experiments.cost import (
    calibrate,
    estimate,
    from_calibration,
    from_outcomes,
    spent,
)
from woodmarket.experiments.pool import PoolExecutor
from woodmarket.experiments.worlds import World

NAMES = ("Oona", "Mossback", "Birch", "Pip", "Rusk")


@pytest.fixture
def spender_plan(tmp_path):
    spender = cast_file(tmp_path, "sweepfakes:TokenSpender")
    return Plan.make("oona", worlds=[World(spender, "rumor")], seeds=range(2), turns=3)


def test_figures_from_recorded_runs_scale_to_the_pending_ones(spender_plan, tmp_path):
    done = execute(spender_plan, tmp_path / "s", workers=1, progress=False).outcomes
    figures = from_outcomes(done)
    assert (figures.prompt, figures.uncached, figures.generated) == (100, 60, 10)
    assert spent(done[0]) == 5 * 3 * 70
    # Calls are counted for creatures on a model (llm seats): the council's five.
    council = Plan.make("oona", worlds=[World("council", "rumor")], seeds=range(2), turns=3)
    est = estimate(council.tasks(), NAMES, figures, workers=2)
    # 4 runs (2 worlds: the cast's rumor and its none arm) x 5 creatures x 3 turns.
    assert (est.runs, est.calls) == (4, 60)
    assert (est.prompt_tokens, est.spent_tokens, est.generated_tokens) == (6000, 4200, 600)
    assert "60 model calls" in est.text(2)


def test_a_calibration_run_gives_figures_too(spender_plan, tmp_path):
    (tmp_path / "c").mkdir()
    folder, result = calibrate(
        spender_plan.tasks()[0], tmp_path / "c", PoolExecutor(1, str(tmp_path / "c"))
    )
    figures = from_calibration(folder, result, seats=5)
    assert (figures.prompt, figures.uncached, figures.generated) == (100, 60, 10)
    assert figures.source == "from a 2-turn calibration run"


def test_stand_in_worlds_cost_no_model_calls(tmp_path):
    plan = Plan.make("oona", worlds=[World("standin", "glut")], seeds=range(3), turns=3)
    est = estimate(plan.tasks(), NAMES, None, workers=2)
    assert est.calls == 0 and "no model calls" in est.text(2)


def test_without_figures_the_estimate_says_so():
    council = Plan.make("oona", worlds=[World("council", "rumor")], seeds=range(2), turns=3)
    text = estimate(council.tasks(), NAMES, None, workers=2).text(2)
    assert "60 model calls" in text and "unknown" in text and "~0" not in text
