"""The experiment tab's sweep: woodmarket.experiments' plan, runs, report, plots and Parquet."""

from __future__ import annotations

import json
import zipfile

import pandas as pd
import pytest

from woodmarket import councils
from woodmarket.app import experiment
from woodmarket.errors import WoodmarketError
from woodmarket.experiments import Plan


def test_a_small_sweep_gives_table1(tmp_path):
    plan = experiment.plan("oona", ["standin:rumor", "standin:settle"], range(3))
    assert [w.label for w in plan.worlds] == ["standin:none", "standin:rumor", "standin:settle"]
    out = tmp_path / "sweep"
    runs = list(experiment.sweep(plan, out))
    assert [(r["world"], r["seed"]) for r in runs[:3]] == [
        ("standin:none", 0),
        ("standin:rumor", 0),
        ("standin:settle", 0),
    ]
    assert len(runs) == 9 and not any("error" in r for r in runs)
    assert Plan.load(out).worlds == plan.worlds  # a sweep folder `woodmarket sweep` reads
    done = experiment.finish(out, plan)
    rows = {r.world.label: r for r in done.report.rows}
    settle = rows["standin:settle"]
    assert settle.n == 3 and settle.pnl.mean == 40 and settle.wins == 3
    assert settle.at.mean < settle.before.mean
    assert settle.effect is not None and settle.paired == 3
    html = experiment.table_html(done.report)
    assert "honey at settlement" in html and "effect vs none [95% CI]" in html
    assert "agreement" in html
    row = html.split("data-world='standin:settle'>")[1].split("</tr>")[0]
    assert "<td data-wm='pnl'>+40.0 ± 0.0</td>" in row and "<td data-wm='wins'>3/3</td>" in row
    assert [p.name for p in done.plots] == ["prices.png", "pnl.png"]
    for p in done.plots:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert experiment.plots_html(done.plots).count("src='data:image/png;base64,") == 2
    runs_table = pd.read_parquet(done.tables / "runs.parquet")
    assert len(runs_table) == 9
    prices = pd.read_parquet(done.tables / "prices.parquet")
    assert set(prices["run_id"]) == {r["folder"] for r in runs}
    with zipfile.ZipFile(done.zipped) as z:
        assert "runs.parquet" in z.namelist() and "schema.json" in z.namelist()
    assert (out / "report.md").exists() and (out / "table.txt").exists()


def test_the_table_escapes_what_it_shows(tmp_path):
    plan = experiment.plan("oona", ["standin:settle"], range(1))
    out = tmp_path / "sweep"
    list(experiment.sweep(plan, out))
    rep = experiment.finish(out, plan).report
    rep.target = "<b>honey</b>"
    html = experiment.table_html(rep)
    assert "<b>honey" not in html and "&lt;b&gt;honey&lt;/b&gt; before" in html


def test_a_sweep_stops_between_runs(tmp_path):
    plan = experiment.plan("oona", list(experiment.STANDIN_WORLDS), range(10))
    out = tmp_path / "sweep"
    seen = []
    for r in experiment.sweep(plan, out, stop=lambda: len(seen) >= 3):
        seen.append(r)
    assert len(seen) == 3
    finished = sorted(p.parent.name for p in out.glob("runs/*/*/outcome.json"))
    assert len(finished) == 3 and len(list(out.glob("runs/*/*"))) == 3  # none begun after
    # The same folder swept again goes on where it stopped, as `woodmarket sweep` does.
    rest = list(experiment.sweep(plan, out))
    assert len(rest) == 40 - 3
    outcome = json.loads(next(out.glob("runs/*/*/outcome.json")).read_text())
    assert outcome["pnl"] is not None


def test_a_bad_sweep_is_refused():
    with pytest.raises(WoodmarketError, match="choose worlds"):
        experiment.plan("oona", ["standin:panic"], range(2))
    with pytest.raises(WoodmarketError, match="choose worlds"):
        experiment.plan("oona", [], range(2))
    with pytest.raises(WoodmarketError, match="seeds"):
        experiment.plan("oona", ["standin:settle"], range(0))


def test_model_worlds_use_the_instruments_casts():
    plan = experiment.plan("oona", ["council:glut", "standin:glut"], range(2))
    council = councils.DEFAULT  # `council` is the default council, named
    assert [w.label for w in plan.worlds] == [
        f"{council}:none",
        f"{council}:glut",
        "standin:none",
        "standin:glut",
    ]
    assert plan.live == frozenset({council}) and plan.sampling.serial


def test_every_bundled_scenario_has_a_gambit_to_sweep(scenario_key):
    assert experiment.gambits_of(scenario_key)


@pytest.mark.parametrize("level", ["oona", "reedmere:hard"])
def test_the_patron_gambit_adds_the_levers_table(tmp_path, level):
    plan = experiment.plan(level, ["standin:rumor"], range(2), gambit="patron")
    assert plan.gambit == "patron"
    out = tmp_path / "sweep"
    runs = list(experiment.sweep(plan, out))
    assert len(runs) == 4 and not any("error" in r for r in runs)
    rep = experiment.finish(out, plan).report
    html = experiment.table_html(rep)
    assert "The patron&#x27;s levers" in html
    row = html.split("data-wm='levers' data-world='standin:rumor'>")[1].split("</tr>")[0]
    taken = sum(r["bribes_taken"] for r in runs if r["world"] == "standin:rumor")
    offered = sum(r["bribes"] for r in runs if r["world"] == "standin:rumor")
    assert f"<td data-wm='taken'>{taken}/{offered}</td>" in row and offered == 4
    # The showcase bribes nobody: no levers table.
    plain = experiment.plan(level, ["standin:rumor"], range(1))
    list(experiment.sweep(plain, tmp_path / "plain"))
    shown = experiment.table_html(experiment.finish(tmp_path / "plain", plain).report)
    assert "levers" not in shown


def test_an_unknown_gambit_is_refused_in_one_line():
    with pytest.raises(WoodmarketError, match="no gambit 'heist' in oona; gambits: showcase"):
        experiment.plan("oona", ["standin:rumor"], range(2), gambit="heist")
