"""The sweep, gambit and export commands: one table, one folder, one clear line per mistake."""

from __future__ import annotations

import pytest
from sweepkit import cli


def test_sweep_writes_runs_and_report_and_replays_it(tmp_path):
    out = tmp_path / "sw"
    proc = cli("sweep", "--worlds", "standin", "--seeds", "2", "--turns", "4", "--out", str(out))
    table = proc.stdout.split("\nCost:")[0]
    assert "standin:settle" in table and "agreement" in table
    for name in ("sweep.json", "table.txt", "report.md", "report.csv", "runs.csv"):
        assert (out / name).exists(), name
    assert len(list(out.glob("runs/*/seed-*/trace.jsonl"))) == 8
    replayed = cli("sweep", "--replay", str(out), "--no-plots")
    assert replayed.stdout.split("\nCost:")[0] == table
    again = cli("sweep", "--worlds", "standin", "--seeds", "2", "--turns", "4", "--out", str(out))
    assert "8 runs were already finished" in again.stderr
    assert again.stdout.split("\nCost:")[0] == table
    exported = cli("export", str(out), "--parquet", str(tmp_path / "pq"))
    assert "runs 8 rows" in exported.stdout
    run = next(out.glob("runs/standin-glut/seed-0"))
    assert cli("replay", str(run)).stdout.startswith("all 4 turns match")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--world", "council:boil"], "unknown mechanism 'boil'"),
        (["--world", "wizards:glut"], "unknown cast"),
        (["--world", "single:gpt9:rumor"], "unknown model 'gpt9'"),
        (["--worlds", "nowhere.toml"], "a worlds file; none there"),
        (["--world", "standin:glut", "--turns", "2"], "end before the legend's settlement"),
        (["--world", "standin:glut", "--gambit", "nope"], "unknown gambit 'nope'"),
    ],
)
def test_mistakes_are_one_line(tmp_path, args, message):
    proc = cli("sweep", *args, "--out", str(tmp_path / "x"), check=False)
    assert proc.returncode == 2
    assert message in proc.stderr and proc.stderr.count("\n") == 1
    assert not (tmp_path / "x").exists()


def test_sweep_needs_an_out_folder():
    proc = cli("sweep", "--worlds", "standin", check=False)
    assert proc.returncode == 2 and "--out DIR" in proc.stderr
