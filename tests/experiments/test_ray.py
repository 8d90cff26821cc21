"""Ray: the same sweep on a real local Ray instance gives the pool's runs, run for run;
a forked sweep too (its arms sent their trunks' files)."""

from __future__ import annotations

import pytest
from sweepkit import SEEDS, TURNS

from woodmarket.experiments import Plan, execute, expand, report_of
from woodmarket.experiments.render import render_text
from woodmarket.experiments.worlds import arms_of, with_arms
from woodmarket.replay import replay

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


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_forked_sweep_on_ray_is_the_pools_trunk_for_trunk_arm_for_arm(tmp_path):
    """Each Ray worker gets its arm's trunk as files (no shared folder) and sends back a fork
    whose run.json names that trunk where the sweep keeps it."""
    worlds = with_arms(expand(["standin:settle"]), arms_of(["cover-early:3:cover honey"]))
    plan = Plan.make("oona", worlds=worlds, seeds=SEEDS, turns=TURNS, fork_at=3)
    pool = execute(plan, tmp_path / "pool", workers=2, progress=False)
    on_ray = execute(plan, tmp_path / "ray", workers=2, ray=True, progress=False)
    assert not on_ray.errors and on_ray.ran == pool.ran == len(SEEDS) * (3 + 2)
    assert _strip(on_ray.outcomes) == _strip(pool.outcomes)
    for t in [*plan.tasks(), *plan.trunk_tasks()]:
        for name in ("trace.jsonl", "run.json"):
            a = (tmp_path / "ray" / t.folder / name).read_bytes()
            assert a == (tmp_path / "pool" / t.folder / name).read_bytes(), (t.folder, name)
    assert replay(tmp_path / "ray" / plan.tasks()[-1].folder).passed  # its trunk checked too
    assert not ray.is_initialized()
