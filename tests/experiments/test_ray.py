"""Ray: the same sweep on a real local Ray instance gives the pool's runs, run for run."""

from __future__ import annotations

import pytest
from sweepkit import SEEDS, TURNS

from woodmarket.experiments import execute, report_of
from woodmarket.experiments.report import render_text

ray = pytest.importorskip("ray")


def _strip(outcomes):
    return sorted(
        ({k: v for k, v in o.items() if k != "wall_s"} for o in outcomes),
        key=lambda o: (o["world"], o["seed"]),
    )


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_ray_and_the_pool_give_the_same_table(standin_sweep, tmp_path):
    plan, pool = standin_sweep
    out = tmp_path / "ray"
    result = execute(plan, out, workers=2, ray=True, progress=False)
    assert not result.errors and result.ran == len(SEEDS) * len(plan.worlds)
    assert _strip(result.outcomes) == _strip(pool.outcomes)
    assert render_text(report_of(plan, result.outcomes)) == render_text(
        report_of(plan, pool.outcomes)
    )
    for o in result.outcomes:
        a = (out / o["folder"] / "trace.jsonl").read_bytes()
        assert a == (pool.folder / o["folder"] / "trace.jsonl").read_bytes()
        assert (out / o["folder"] / "outcome.json").exists()
    assert result.outcomes[0]["turns"] == TURNS
    assert not ray.is_initialized()  # the sweep shut down the Ray it started
