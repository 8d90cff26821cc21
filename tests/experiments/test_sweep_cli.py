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


def test_a_live_sweep_resumed_on_another_thread_count_is_refused(tmp_path):
    """The thread count changes a live run's bytes, so a resumed sweep must not mix two counts
    without being asked; the refusal comes before any model loads or run starts."""
    import json

    from woodmarket.experiments.pool import PoolExecutor
    from woodmarket.experiments.record import OUTCOME

    out = tmp_path / "s"
    sweep = ("sweep", "--world", "council2:rumor", "--seeds", "2", "--turns", "3")
    cli(*sweep, "--no-calibrate", "--estimate-only", "--out", str(out))  # sweep.json only
    here = PoolExecutor(1, str(out)).threads  # what `--workers 1` runs on here
    run = out / "runs" / "council2-rumor" / "seed-0"
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"provenance": {"threads": here + 1}}))
    (run / OUTCOME).write_text(json.dumps({"world": "council2:rumor", "seed": 0}))
    proc = cli(*sweep, "--workers", "1", "--out", str(out), check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert f"(1 on {here + 1})" in proc.stderr and f"would ({here} each)" in proc.stderr
    assert "--mixed-threads" in proc.stderr
    assert sorted(p.name for p in (out / "runs").rglob("*") if p.is_file()) == [
        "outcome.json",
        "run.json",
    ]


def test_check_threads_passes_one_count_stand_in_runs_and_a_cluster(tmp_path):
    import json

    from woodmarket.errors import WoodmarketError
    from woodmarket.experiments.record import OUTCOME
    from woodmarket.experiments.sweep import Plan, check_threads, prepare
    from woodmarket.experiments.worlds import expand

    plan = Plan.make("oona", worlds=expand(["council2:rumor", "standin:rumor"]), seeds=[0, 1])
    root = prepare(plan, tmp_path / "s")
    live = [t for t in plan.tasks() if t.world.cast == "council2"]
    standin = [t for t in plan.tasks() if t.world.cast == "standin"]
    for t, threads in ((live[0], 2), (standin[0], 7)):
        (root / t.folder).mkdir(parents=True)
        (root / t.folder / "run.json").write_text(json.dumps({"provenance": {"threads": threads}}))
        (root / t.folder / OUTCOME).write_text("{}")
    check_threads(root, plan, live[1:], 2)  # the same count: fine (the stand-in's 7 is no run)
    check_threads(root, plan, standin[1:], 1)  # stand-in runs sample nothing
    check_threads(root, plan, live[1:], None)  # a cluster's machines: not known here
    with pytest.raises(WoodmarketError, match=r"\(1 on 2\) than these would \(1 each\)"):
        check_threads(root, plan, live[1:], 1)
