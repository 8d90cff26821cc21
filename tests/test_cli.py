"""The command line: run writes a folder, replay checks it, bad input gets a clear error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from woodmarket.cli import main
from woodmarket.replay import replay
from woodmarket.traces import read_trace


def _run(tmp_path, *extra):
    out = tmp_path / "run"
    code = main(["run", "--turns", "6", "--seed", "3", "--out", str(out), *extra])
    assert code == 0
    return out


def test_run_writes_the_folder_and_prints_the_table(tmp_path, capsys):
    out = _run(tmp_path)
    printed = capsys.readouterr().out
    assert "honey" in printed.splitlines()[0] and "headline" in printed.splitlines()[0]
    assert sum(1 for line in printed.splitlines() if line.strip()[:1].isdigit()) >= 6
    assert {p.name for p in out.iterdir()} == {
        "scenario.toml",
        "run.json",
        "trace.jsonl",
        "summary.json",
    }
    meta = json.loads((out / "run.json").read_text())
    assert meta["seed"] == 3 and meta["turns"] == 6 and "woodmarket" in meta["versions"]
    kinds = {r["kind"] for r in read_trace(out)}
    assert {"start", "decision", "order", "fill", "price", "holdings", "headline"} <= kinds
    assert all("turn" in r and "kind" in r for r in read_trace(out))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["turns"] == 6 and summary["valid_share"] == 1.0


def test_replay_matches_and_reports_a_tampered_turn(tmp_path, capsys):
    out = _run(tmp_path)
    assert main(["replay", str(out)]) == 0
    assert "all 6 turns match" in capsys.readouterr().out
    lines = (out / "trace.jsonl").read_text().splitlines()
    i = next(
        k for k, line in enumerate(lines) if '"kind":"holdings"' in line and '"turn":4' in line
    )
    record = json.loads(lines[i])
    record["holders"]["Oona"]["pebbles"] += 1
    lines[i] = json.dumps(record, sort_keys=True, separators=(",", ":"))
    (out / "trace.jsonl").write_text("\n".join(lines) + "\n")
    assert main(["replay", str(out)]) == 1
    said = capsys.readouterr().out
    assert "turn 4 differs" in said and "holdings" in said


def test_a_crashed_run_keeps_its_finished_turns(tmp_path):
    out = _run(tmp_path)
    text = (out / "trace.jsonl").read_text()
    cut = text.rindex('{"holders"')  # tear the last line as a crash mid-write would
    (out / "trace.jsonl").write_text(text[: cut + 30])
    report = replay(out)
    assert report.ok and report.turns == 5


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--turns", "0"], "whole number >= 1"),
        (["run", "--seed", "abc"], "whole-number seed"),
        (["fly"], "invalid choice"),
    ],
)
def test_wrong_arguments_get_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_broken_scenario_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[wood]\nname = "x"\n[goods.honey]\nprice = "ten"\n')
    out = tmp_path / "out"
    assert main(["run", "--scenario", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err and "goods.honey.price" in err
    assert not out.exists()


def test_non_empty_out_folder_is_refused(tmp_path, capsys):
    out = _run(tmp_path)
    assert main(["run", "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err


def test_console_script_runs(tmp_path):
    out = tmp_path / "cli"
    proc = subprocess.run(
        [sys.executable, "-m", "woodmarket.cli", "run", "--turns", "3", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / "summary.json").exists()
    assert proc.stdout.count("\n") >= 4


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("file", "a file is there, not a folder"),
        ("under_file", "cannot write there"),
        ("too_long", "cannot write there"),
        ("read_only", "cannot write there"),
    ],
)
def test_a_bad_out_path_is_one_line(tmp_path, capsys, where, message):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    paths = {
        "file": blocker,
        "under_file": blocker / "run",
        "too_long": tmp_path / ("x" * 300),
        # Unwritable even for root: /proc takes no new folders.
        "read_only": Path("/proc/woodmarket-run"),
    }
    assert main(["run", "--turns", "2", "--out", str(paths[where])]) == 2
    err = capsys.readouterr().err
    assert err.startswith("woodmarket: error: --out ") and message in err
    assert err.count("\n") == 1


def test_ctrl_c_stops_a_run_cleanly_and_keeps_its_turns(tmp_path):
    import signal
    import time

    out = tmp_path / "long"
    proc = subprocess.Popen(
        [sys.executable, "-m", "woodmarket.cli", "run", "--turns", "200000", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    trace = out / "trace.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (
        not trace.exists() or trace.read_text().count('"kind":"holdings"') < 20
    ):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in err and "interrupted; finished turns are on disk" in err
    summary = json.loads((out / "summary.json").read_text())
    done = summary["turns"]
    assert done >= 20 and summary["stopped"] == f"interrupted after {done} of 200000 turns"
    finished = [r for r in read_trace(out) if r["kind"] == "holdings"]
    assert len(finished) == done  # every finished turn is on disk, and only those


def test_a_reader_that_goes_away_ends_the_command_quietly():
    """`woodmarket scenarios | head -0`: the pipe closes before a word is written."""
    import os

    read, write = os.pipe()
    os.close(read)  # nobody will ever read: every write fails
    try:
        done = subprocess.run(
            [sys.executable, "-m", "woodmarket", "scenarios"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write)
    assert done.returncode == 141  # as a shell reports a command ended by a closed pipe
    assert done.stderr == ""  # no traceback, no "Exception ignored" line
