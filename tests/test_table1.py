"""Table 1, stand-in edition: the article's shape, reproducible, with its uncertainty."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from woodmarket.legends import settle_price
from woodmarket.scenario import load_scenario
from woodmarket.table1 import WORLDS, Stat, render, t95, table1

SEEDS = range(8)


@pytest.fixture(scope="module")
def results():
    return table1(load_scenario("oona"), "showcase", SEEDS, WORLDS, "standin", 6)


def test_every_world_runs_the_same_seeds(results):
    assert list(results) == list(WORLDS)
    for outs in results.values():
        assert [o.seed for o in outs] == list(SEEDS)


def test_the_worlds_reproduce_the_stand_ins_table(results):
    factor = load_scenario("oona").legend("oona_run").factor
    for o in results["settle"]:
        assert o.at_settlement == settle_price(o.before, factor)
        assert o.pnl > 0
    for rumor, none in zip(results["rumor"], results["none"], strict=True):
        assert rumor.path == none.path and rumor.pnl == none.pnl
    for o in results["glut"]:
        assert o.at_settlement < o.before
    mean = {w: Stat.of([o.pnl for o in outs]).mean for w, outs in results.items()}
    assert mean["settle"] > mean["glut"] > mean["rumor"]


def test_stats_and_the_t_quantile():
    s = Stat.of([1, 2, 3, 4])
    assert s.mean == 2.5 and round(s.sd, 4) == 1.291
    assert round(s.hi - s.mean, 3) == round(3.182 * s.sd / 2, 3)
    assert t95(19) == 2.093 and t95(30) == 2.042
    assert 1.96 < t95(200) < t95(31) < 2.042
    assert Stat.of([5, 5]).sd == 0.0


def test_render_prints_one_row_per_world(results):
    text = render(results, "showcase", "standin", load_scenario("oona"), 6)
    lines = text.splitlines()
    assert lines[0].startswith("Table 1 (stand-in edition)")
    rows = {
        line.split()[0]: line
        for line in lines
        if line.split()[:1] in (["no"], *[[w] for w in WORLDS])
    }
    assert set(rows) == {"no", "rumor", "glut", "settle"}
    assert "+40.0 ± 0.0" in rows["settle"] and "8/8" in rows["settle"]
    assert all(len(line) <= 100 for line in lines)


def test_the_gambit_command_prints_the_table(tmp_path):
    out = tmp_path / "t1.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "woodmarket.cli",
            "gambit",
            "showcase",
            "--cast",
            "standin",
            "--seeds",
            "3",
            "--turns",
            "5",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = proc.stdout.splitlines()
    assert sum(line.startswith(("no legend", "rumor", "glut", "settle")) for line in lines) == 4
    data = json.loads(out.read_text())
    assert data["settle"]["pnl"] == [40, 40, 40]
    assert data["settle"]["seeds"] == data["glut"]["seeds"] == [0, 1, 2]
