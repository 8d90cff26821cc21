"""`woodmarket compare`: two sweeps' gambits, world by world, paired by seed."""

from __future__ import annotations

import statistics

import pytest

from woodmarket.cli import main
from woodmarket.errors import WoodmarketError
from woodmarket.experiments import Plan, execute
from woodmarket.experiments.compare import FIGURES, Side, compare, render
from woodmarket.experiments.worlds import World
from woodmarket.spec import RunSpec

WORLDS = [World("standin", "rumor")]
SEEDS = range(3)


@pytest.fixture(scope="module", params=["oona", "reedmere"])
def pair(request, tmp_path_factory):
    """The patron and the showcase gambits swept over the same worlds and seeds."""
    key = request.param
    root = tmp_path_factory.mktemp(f"compare-{key}")
    out = {}
    for gambit in ("patron", "showcase"):
        plan = Plan.make(key, gambit=gambit, worlds=WORLDS, seeds=SEEDS, turns=4)
        out[gambit] = (root / gambit, execute(plan, root / gambit, workers=1, progress=False))
    return key, out


def _side(key, gambit, outcomes):
    target = RunSpec.make(key, gambit=gambit).gambit_of().target
    return Side(gambit, key, target, outcomes)


def test_each_figure_is_the_mean_of_the_paired_differences(pair):
    key, out = pair
    a = _side(key, "patron", out["patron"][1].outcomes)
    b = _side(key, "showcase", out["showcase"][1].outcomes)
    lines = compare(a, b)
    assert {ln.world for ln in lines} == {"standin:none", "standin:rumor"}
    for ln in lines:
        ra = {o["seed"]: o for o in a.outcomes if o["world"] == ln.world}
        rb = {o["seed"]: o for o in b.outcomes if o["world"] == ln.world}
        assert ln.n == len(SEEDS) and not ln.replicas
        for key_, _ in FIGURES:
            ma, mb, d = ln.figures[key_]
            assert ma == pytest.approx(statistics.fmean(ra[s][key_] for s in SEEDS))
            assert mb == pytest.approx(statistics.fmean(rb[s][key_] for s in SEEDS))
            assert d.mean == pytest.approx(ma - mb)
            assert d.lo <= d.mean <= d.hi
    # The stand-in keeper sells as asked under the patron gambit; nobody is asked otherwise.
    rumor = next(ln for ln in lines if ln.world == "standin:rumor")
    assert rumor.figures["asked_sold"][0] > 0 == rumor.figures["asked_sold"][1]
    # The bribes are paid whatever follows: the patron gambit costs pebbles in every seed.
    assert rumor.figures["pnl"][2].hi < 0


def test_a_sweep_against_itself_differs_by_nothing(pair):
    key, out = pair
    a = _side(key, "patron", out["patron"][1].outcomes)
    for ln in compare(a, a):
        for _, _, d in ln.figures.values():
            assert (d.mean, d.lo, d.hi) == (0, 0, 0)


def test_incomparable_sweeps_are_refused_in_one_line(pair):
    key, out = pair
    a = _side(key, "patron", out["patron"][1].outcomes)
    with pytest.raises(WoodmarketError, match="different scenarios"):
        compare(a, Side("patron", "elsewhere", a.target, a.outcomes))
    with pytest.raises(WoodmarketError, match="different goods"):
        compare(a, Side("other", key, "not-" + a.target, a.outcomes))
    moved = [{**o, "world": "council:rumor"} for o in a.outcomes]
    with pytest.raises(WoodmarketError, match="no world and seed in common"):
        compare(a, Side("patron", key, a.target, moved))


def test_replicas_are_marked_as_false_precision(pair):
    key, out = pair
    a = _side(key, "patron", out["patron"][1].outcomes)
    same = [{**o, "behaviour": "x"} for o in a.outcomes]
    b = Side("copy", key, a.target, same)
    lines = compare(a, b)
    assert all(ln.replicas for ln in lines)
    assert "false precision" in render(a, b, lines)


def test_the_command_prints_the_table_and_refuses_a_bad_folder(pair, capsys, tmp_path):
    _, out = pair
    assert main(["compare", str(out["patron"][0]), str(out["showcase"][0])]) == 0
    shown = capsys.readouterr().out
    assert "A = the patron gambit against B = the showcase gambit" in shown
    assert "standin:rumor" in shown and "A - B [95% CI]" in shown
    assert main(["compare", str(out["patron"][0]), str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sweep.json" in err
