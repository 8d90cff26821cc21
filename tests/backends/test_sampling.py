"""Sampling travels whole: from the command line or a cast file, through the spec, to the request.

`top_p` and `min_p` are sent to a model only when set, so a request, a
trace and a run.json that do not set them are what they always were. They
are range-checked where they are read (the command line, a cast file, a
spec), and a cast seat's own knob wins over the run's.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import pytest
from fakes import FakeServer, Reply, completion_json

from woodmarket.app.session import Sessions
from woodmarket.backends._chat import chat_body
from woodmarket.casts import parse_cast
from woodmarket.cli import main
from woodmarket.errors import ScenarioError, WoodmarketError
from woodmarket.experiments.sweep import Plan
from woodmarket.experiments.worlds import World
from woodmarket.spec import RunSpec
from woodmarket.traces import read_trace
from woodmarket.types import CompletionRequest, Sampling

NAMES = ("Oona", "Mossback", "Birch", "Pip", "Rusk")


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"top_p": 1.5}, "top_p must lie in 0..1, got 1.5"),
        ({"min_p": -0.1}, "min_p must lie in 0..1"),
        ({"top_p": math.nan}, "top_p must lie in 0..1"),
        ({"top_p": True}, "top_p must be a number"),
        ({"temperature": None}, "temperature must be a number"),
        ({"serial": "yes"}, "serial must be true or false"),
    ],
)
def test_each_knob_is_checked_where_it_is_made(knobs, message):
    with pytest.raises(WoodmarketError, match=message):
        Sampling(**knobs)


def test_knobs_left_unset_are_not_sent_nor_written():
    plain = Sampling(0.7)
    assert plain.to_dict() == {"temperature": 0.7, "serial": False}
    body = chat_body(CompletionRequest("s", "u", sampling=plain))
    assert body["temperature"] == 0.7 and "top_p" not in body and "min_p" not in body
    set_ = Sampling(0.7, top_p=0.9, min_p=0.05)
    body = chat_body(CompletionRequest("s", "u", sampling=set_))
    assert (body["top_p"], body["min_p"]) == (0.9, 0.05)
    assert Sampling.from_dict(set_.to_dict()) == set_
    with pytest.raises(WoodmarketError, match="unknown key 'top_k'"):
        Sampling.from_dict({"top_k": 40})


def test_a_spec_without_the_new_knobs_writes_the_run_json_it_always_did():
    spec = RunSpec.make("oona", seed=1)
    data = spec.to_dict()
    assert data["sampling"] == {"temperature": 0.0, "serial": False}
    assert "moves" not in data and "narrator" not in data
    richer = spec.but(
        sampling=Sampling(0.3, top_p=0.8), moves=((2, ("short honey 3",)),), narrator="model"
    )
    again = RunSpec.from_json(richer.to_json())
    assert again == richer and again.sampling.top_p == 0.8
    assert json.loads(richer.to_json())["moves"] == [[2, ["short honey 3"]]]


def test_a_cast_seat_may_set_its_own_knobs(tmp_path):
    cast = tmp_path / "cast.toml"
    cast.write_text(
        '[defaults]\nmodel = "m"\nbackend = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
        "top_p = 0.5\n[creatures.Oona]\nmin_p = 0.1\n[creatures.Rusk]\n"
    )
    seats = {s.creature: s for s in parse_cast(str(cast), NAMES)}
    assert dict(seats["Oona"].sampling) == {"top_p": 0.5, "min_p": 0.1}
    assert dict(seats["Rusk"].sampling) == {"top_p": 0.5}
    cast.write_text('[creatures.Oona]\nmodel = "m"\ntop_p = 2\n')
    with pytest.raises(ScenarioError) as err:
        parse_cast(str(cast), NAMES)
    assert err.value.key == "creatures.Oona.top_p" and "top_p must lie in 0..1" in str(err.value)


def test_the_knobs_reach_a_served_model_from_the_command_line(
    tmp_path, fake_server: Callable[..., FakeServer]
):
    """`woodmarket run --top-p --min-p`: in run.json, and in every request; a seat's own wins."""
    fake = fake_server(Reply(200, completion_json("hold")))
    cast = tmp_path / "cast.toml"
    cast.write_text(
        f'[defaults]\nbackend = "openai"\nbase_url = "{fake.url}"\nmodel = "m"\n'
        "[creatures.Oona]\n[creatures.Rusk]\nmin_p = 0.2\n"
    )
    out = tmp_path / "run"
    argv = ["run", "--cast", str(cast), "--turns", "2", "--out", str(out)]
    assert main([*argv, "--temperature", "0.4", "--top-p", "0.9", "--min-p", "0.05"]) == 0
    meta = json.loads((out / "run.json").read_text())
    assert meta["sampling"] == {"temperature": 0.4, "top_p": 0.9, "min_p": 0.05, "serial": False}
    assert meta["provenance"]["sampling"] == {"temperature": 0.4, "top_p": 0.9, "min_p": 0.05}
    sent = [r["json"] for r in fake.requests]
    assert len(sent) == 4  # two creatures, two turns
    assert {(b["temperature"], b["top_p"]) for b in sent} == {(0.4, 0.9)}
    assert sorted(b["min_p"] for b in sent) == [0.05, 0.05, 0.2, 0.2]
    assert any(r["kind"] == "decision" for r in read_trace(out))


@pytest.mark.parametrize("command", ["run", "play", "sweep", "app"])
def test_a_knob_out_of_range_is_one_line_on_every_command(command, capsys):
    with pytest.raises(SystemExit) as ended:
        main([command, "--top-p", "1.5"])
    assert ended.value.code == 2
    err = capsys.readouterr().err
    assert "--top-p: expected top_p in 0..1, got 1.5" in err and "Traceback" not in err


def test_a_sweep_and_the_app_carry_the_knobs_to_their_runs(tmp_path):
    knobs = Sampling(0.7, top_p=0.9, min_p=0.05, serial=True)
    plan = Plan.make("oona", worlds=[World("council", "rumor")], seeds=[0], sampling=knobs)
    live = plan.spec(World("council", "rumor"), 0).sampling
    standin = plan.spec(World("standin", "rumor"), 0).sampling
    assert live == knobs and standin == Sampling()  # the stand-in decodes nothing
    assert Plan.from_dict(json.loads(json.dumps(plan.to_dict()))).sampling == knobs
    sessions = Sessions(cap=1, runs=tmp_path / "runs", sampling=Sampling(top_p=0.8))
    try:
        seated = sessions.seat("a")
        meta = json.loads((seated.run_folder / "run.json").read_text())
        assert meta["sampling"]["top_p"] == 0.8
    finally:
        sessions.close_all()
