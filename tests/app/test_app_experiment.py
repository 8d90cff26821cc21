"""The experiment tab's sweep: Table 1 with bootstrap CIs, cancellable, exported to Parquet."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from woodmarket.app import experiment
from woodmarket.errors import WoodmarketError


def test_a_small_sweep_gives_table1(tmp_path):
    runs = list(experiment.sweep("oona", ["rumor", "settle"], range(3)))
    assert [(r.world, r.seed) for r in runs[:2]] == [("rumor", 0), ("settle", 0)]
    stats = {s.world: s for s in experiment.summarize(runs)}
    settle = stats["settle"]
    assert settle.n == 3 and settle.mean == 40 and (settle.lo, settle.hi) == (40, 40)
    assert settle.at_settlement < settle.before and settle.wins == 3
    html = experiment.table_html(list(stats.values()), "honey")
    assert "[+40.0, +40.0]" in html and "honey at settlement" in html
    assert 'data-wm="plot-pnl"' in experiment.plots_svg(runs, "honey")
    out = experiment.to_parquet(runs, tmp_path / "t.parquet", {"scenario": "oona"})
    table = pq.read_table(out).to_pylist()
    assert len(table) == 6 and table[1]["pnl"] == 40 and table[0]["scenario"] == "oona"


def test_a_sweep_stops_when_asked():
    seen = []
    for r in experiment.sweep(
        "oona", list(experiment.WORLDS), range(10), stop=lambda: len(seen) >= 3
    ):
        seen.append(r)
    assert len(seen) == 3


def test_the_bootstrap_interval_holds_the_mean():
    lo, hi = experiment.bootstrap_ci([-15.0, -26.0, -27.0, 40.0, 2.0])
    assert lo < sum([-15, -26, -27, 40, 2]) / 5 < hi
    assert experiment.bootstrap_ci([3.0]) == (3.0, 3.0)


def test_a_bad_sweep_is_refused():
    with pytest.raises(WoodmarketError, match="choose worlds"):
        list(experiment.sweep("oona", ["panic"], range(2)))
    with pytest.raises(WoodmarketError, match="seeds"):
        list(experiment.sweep("oona", ["settle"], range(0)))


def test_every_bundled_scenario_has_a_gambit_to_sweep(scenario_key):
    assert experiment.gambits_of(scenario_key)
