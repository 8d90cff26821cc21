"""Runs are values: a spec round-trips, runs alike anywhere, and woods keep apart."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import threading

import pytest

from woodmarket.build import build
from woodmarket.errors import WoodmarketError
from woodmarket.runner import run
from woodmarket.spec import RunSpec, Sampling


def _spec(key: str, **kw) -> RunSpec:
    return RunSpec.make(key, seed=kw.pop("seed", 3), turns=kw.pop("turns", 8), **kw)


def test_a_spec_round_trips_through_json_and_pickle(scenario_key):
    spec = _spec(scenario_key, sampling=Sampling(0.7, top_p=0.9))
    again = RunSpec.from_json(spec.to_json())
    assert again == spec and pickle.loads(pickle.dumps(spec)) == spec
    assert again.scenario_sha256 == spec.scenario_sha256 and len(spec.scenario_sha256) == 64
    assert spec.load_scenario().name  # rebuilt from its text alone
    data = spec.to_dict()
    data["scenario_text"] += "\n# edited"
    with pytest.raises(WoodmarketError, match="scenario_sha256 does not match"):
        RunSpec.from_dict(data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seed": "3"}, "seed must be a whole number"),
        ({"turns": 0}, "turns must be a whole number >= 1"),
        ({"mechanism": "magic"}, "unknown mechanism 'magic'"),
        ({"mechanism": "settle"}, "add --gambit NAME"),
    ],
)
def test_a_bad_spec_is_refused_in_one_line(change, message):
    with pytest.raises(WoodmarketError, match=message):
        _spec("oona").but(**change)
    with pytest.raises(WoodmarketError, match=r"temperature must lie in 0\.\.5"):
        Sampling(9.0)


def test_run_json_holds_the_spec_and_its_provenance(tmp_path):
    spec = _spec("oona", gambit="showcase")
    result = run(spec, tmp_path / "r")
    data = json.loads((tmp_path / "r" / "run.json").read_text())
    assert RunSpec.from_dict(data) == spec
    prov = data["provenance"]
    assert prov["cpu"] and prov["threads"] >= 1 and prov["sampling"] == {"temperature": 0.0}
    assert prov["seats"]["Oona"] == {"policy": "standin"}
    assert result.complete and result.turns == 8 and result.pnl is not None
    assert result.target == "honey" and len(result.target_path) == 9


def test_the_same_spec_in_a_subprocess_writes_the_same_bytes(tmp_path, scenario_key):
    spec = _spec(scenario_key, turns=10)
    run(spec, tmp_path / "here")
    code = (
        "import sys; from woodmarket.spec import RunSpec; from woodmarket.runner import run; "
        "run(RunSpec.from_json(sys.stdin.read()), sys.argv[1])"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "there")],
        input=spec.to_json(),
        text=True,
        check=True,
    )
    here = (tmp_path / "here" / "trace.jsonl").read_bytes()
    assert here == (tmp_path / "there" / "trace.jsonl").read_bytes()
    assert here.count(b"\n") > 10 * 5  # many records, not an empty file twice


def test_a_wood_steps_on_after_its_run_returned(tmp_path):
    spec = _spec("oona", turns=4)
    wood = build(spec)
    run(spec, tmp_path / "r", wood=wood)
    lines = (tmp_path / "r" / "trace.jsonl").read_text().count("\n")
    state = wood.step()  # the folder's writer is detached, not a closed file
    assert state.turn == 5 and wood.turn == 5
    assert (tmp_path / "r" / "trace.jsonl").read_text().count("\n") == lines


def test_woods_stepped_from_threads_do_not_disturb_each_other(tmp_path, scenario_key):
    specs = [_spec(scenario_key, seed=s, turns=12, gambit=None) for s in (1, 2, 1, 2)]
    alone = [run(s).summary for s in specs[:2]]
    results: dict[int, dict] = {}

    def go(i: int) -> None:
        results[i] = run(specs[i], tmp_path / f"w{i}").summary

    threads = [threading.Thread(target=go, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[i] for i in range(4)] == alone * 2
    traces = [(tmp_path / f"w{i}" / "trace.jsonl").read_bytes() for i in range(4)]
    assert traces[0] == traces[2] and traces[1] == traces[3] and traces[0] != traces[1]
