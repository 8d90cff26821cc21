"""`woodmarket gambit`: Table 1 for one cast, a thin alias of a one-cast sweep."""

from __future__ import annotations

import json
import subprocess
import sys


def test_the_gambit_command_is_a_one_cast_sweep(tmp_path):
    out, data = tmp_path / "sweep", tmp_path / "t1.json"
    proc = subprocess.run(
        [
            sys.executable, "-m", "woodmarket.cli", "gambit", "showcase",
            "--cast", "standin", "--seeds", "3", "--turns", "5",
            "--out", str(out), "--json", str(data),
        ],
        capture_output=True,
        text=True,
        check=True,
    )  # fmt: skip
    rows = [line.split()[0] for line in proc.stdout.splitlines() if line.startswith("standin:")]
    assert rows == ["standin:none", "standin:rumor", "standin:glut", "standin:settle"]
    assert (out / "sweep.json").exists() and (out / "table.txt").exists()
    table = json.loads(data.read_text())
    assert table["settle"]["pnl"] == [40, 40, 40]
    assert table["settle"]["seeds"] == table["glut"]["seeds"] == [0, 1, 2]
    assert table["rumor"]["pnl"] == table["none"]["pnl"]  # the stand-in reads no text


def test_a_json_path_that_cannot_be_written_is_refused_before_the_sweep(tmp_path, capsys):
    from woodmarket.cli import main

    out = tmp_path / "sweep"
    code = main(
        ["gambit", "showcase", "--seeds", "1", "--turns", "4", "--out", str(out),
         "--json", str(tmp_path / "missing" / "t.json")]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "no folder" in err and "missing" in err and err.count("\n") == 1
    assert not out.exists()  # refused before any run
