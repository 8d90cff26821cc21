"""Casts: spec parsing, cast files, and live runs on the bundled models and a real server."""

from __future__ import annotations

import json

import pytest

from woodmarket import councils
from woodmarket.backends.serve import serve_http
from woodmarket.casts import parse_cast
from woodmarket.cli import main
from woodmarket.errors import ScenarioError
from woodmarket.replay import replay
from woodmarket.traces import read_trace

NAMES = ("Oona", "Mossback", "Birch", "Pip", "Rusk")


def test_specs():
    assert {s.policy for s in parse_cast("standin", NAMES)} == {"standin"}
    two, three = parse_cast("council2", NAMES), parse_cast("council3", NAMES)
    assert {s.model for s in two} == {"smollm2", "gemma3"}  # both labs have creatures
    assert {s.model for s in three} == {"smollm2-q4_0", "gemma3", "qwen"}  # all three labs do
    assert parse_cast("council", NAMES) == parse_cast(councils.DEFAULT, NAMES)
    assert [s.model for s in parse_cast("single:gemma3", NAMES)] == ["gemma3"] * 5
    assert parse_cast("replay:/some/run", NAMES)[0].policy == "replay"
    with pytest.raises(ScenarioError, match="single:MODEL"):
        parse_cast("chorus", NAMES)


def test_a_spec_records_the_council_that_runs_and_a_recorded_council_keeps_its_meaning():
    from woodmarket.spec import RunSpec

    spec = RunSpec.make("oona", cast="council", turns=1)
    assert spec.cast == councils.DEFAULT and spec.to_dict()["cast"] == councils.DEFAULT
    assert RunSpec.from_dict(spec.to_dict()) == spec  # the resolved name reads back as itself
    # run.json written before councils had names says `council`: the two-lab council.
    old = {**spec.to_dict(), "cast": "council"}
    assert RunSpec.from_dict(old).cast == "council2"
    forked = {**spec.to_dict(), "fork": {"at": 1, "parent": old}}
    assert RunSpec.from_dict(forked).fork.parent.cast == "council2"


def test_cast_file_mixes_backends(tmp_path):
    f = tmp_path / "cast.toml"
    f.write_text(
        '[defaults]\nbackend = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'api_key_env = "WOOD_KEY"\n'
        '[creatures.Oona]\nmodel = "gpt-oss-20b"\n'
        '[creatures.Mossback]\nmodel = "smollm2"\nbackend = "embedded"\n'
        '[creatures.Rusk]\npolicy = "standin"\n'
    )
    seats = {s.creature: s for s in parse_cast(str(f), NAMES)}
    assert seats["Oona"].backend == "openai" and seats["Oona"].model == "gpt-oss-20b"
    assert seats["Mossback"].backend == "embedded"
    assert seats["Rusk"].policy == "standin" and seats["Pip"].policy == "standin"
    assert seats["Oona"].describe()["api_key_env"] == "WOOD_KEY"


@pytest.mark.parametrize(
    ("body", "key", "expected"),
    [
        ('[creatures.Owl]\nmodel = "x"\n', "creatures.Owl", "one of Oona"),
        (
            '[creatures.Oona]\nbackend = "grpc"\nmodel = "x"\n',
            "creatures.Oona.backend",
            "embedded or openai",
        ),
        ('[creatures.Oona]\nbackend = "openai"\nmodel = "x"\n', "creatures.Oona.base_url", "URL"),
        ('[creatures.Oona]\npolicy = "llm"\n', "creatures.Oona.model", "model name"),
        ('[creatures.Oona]\nmodel = "x"\ntemprature = 1\n', "creatures.Oona.temprature", "one of"),
        ("[creatures.Oona\n", "(syntax)", "valid TOML"),
        # An embedded model's batching is probed, never declared; a declaration is a boolean.
        (
            '[creatures.Oona]\nmodel = "x"\nbatch_invariant = true\n',
            "creatures.Oona.batch_invariant",
            "--probe",
        ),
        (
            '[creatures.Oona]\nbackend = "openai"\nbase_url = "http://h/v1"\nmodel = "x"\n'
            'batch_invariant = "yes"\n',
            "creatures.Oona.batch_invariant",
            "true or false",
        ),
    ],
)
def test_broken_cast_files_name_the_key(tmp_path, body, key, expected):
    f = tmp_path / "cast.toml"
    f.write_text(body)
    with pytest.raises(ScenarioError) as err:
        parse_cast(str(f), NAMES)
    assert err.value.key == key and expected in str(err.value)
    assert str(f) in str(err.value)


@pytest.mark.models
def test_live_council_run_replays_exactly(tmp_path, capsys):
    out = tmp_path / "live"
    assert main(["run", "--cast", "council", "--turns", "2", "--seed", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "valid" in printed
    decisions = [r for r in read_trace(out) if r["kind"] == "decision"]
    assert len(decisions) == 10
    models = {r["call"]["model"] for r in decisions}
    assert models == set(councils.SEATING[councils.DEFAULT])
    for r in decisions:
        call = r["call"]
        assert r["policy"] == "llm"
        assert call["system"] and call["user"] and call["prompt_tokens"] > 0
        assert call["generated_tokens"] > 0 and call["latency_ms"] > 0
    meta = json.loads((out / "run.json").read_text())
    seated = councils.seats(councils.DEFAULT, len(NAMES))
    assert [meta["provenance"]["seats"][n]["model"] for n in NAMES] == list(seated)
    assert meta["cast"] == councils.DEFAULT  # the alias is never what a run keeps
    # Replay loads no model: it re-parses the recorded outputs and must match turn by turn.
    report = replay(out)
    assert report.ok, report.detail


@pytest.mark.models
def test_openai_cast_against_a_real_llama_server(tmp_path, monkeypatch):
    secret = "sk-wood-test-31337"
    monkeypatch.setenv("WOOD_TEST_KEY", secret)
    with serve_http("smollm2", 2, n_ctx=1024, api_key=secret) as url:
        cast = tmp_path / "cast.toml"
        cast.write_text(
            f'[defaults]\nbackend = "openai"\nbase_url = "{url}"\napi_key_env = "WOOD_TEST_KEY"\n'
            'model = "smollm2"\nbatch_invariant = false\n[creatures.Oona]\n[creatures.Rusk]\n'
        )
        out = tmp_path / "served"
        # The nucleus and min-p filters as llama.cpp's own server reads them.
        argv = ["run", "--cast", str(cast), "--turns", "2", "--out", str(out)]
        assert main([*argv, "--temperature", "0.7", "--top-p", "0.9", "--min-p", "0.05"]) == 0
    decisions = [r for r in read_trace(out) if r["kind"] == "decision"]
    served = [r for r in decisions if r["creature"] in ("Oona", "Rusk")]
    assert all(r["call"]["backend"] == "openai" and r["call"]["response"] for r in served)
    assert all(not r["call"].get("error") for r in served)  # the server took every knob
    meta = json.loads((out / "run.json").read_text())
    assert meta["sampling"]["top_p"] == 0.9
    # The served model's batching is recorded as the cast file declared it, not probed.
    assert meta["provenance"]["seats"]["Oona"]["batch_invariant"] is False
    assert meta["provenance"]["batching"]["smollm2"] == {
        "verdict": "no",
        "batch_invariant": False,
        "source": "declared",
    }
    assert all(r["policy"] == "standin" for r in decisions if r["creature"] not in ("Oona", "Rusk"))
    for path in out.iterdir():
        assert secret not in path.read_text()  # the key never reaches the run folder
    assert replay(out).ok


def test_dead_server_turns_decisions_into_holds(tmp_path):
    cast = tmp_path / "cast.toml"
    cast.write_text(
        '[defaults]\nbackend = "openai"\nbase_url = "http://127.0.0.1:9/v1"\nretries = 1\n'
        'timeout_s = 2\nmodel = "m"\n[creatures.Oona]\n'
    )
    out = tmp_path / "dead"
    assert main(["run", "--cast", str(cast), "--turns", "2", "--out", str(out)]) == 0
    oona = [r for r in read_trace(out) if r["kind"] == "decision" and r["creature"] == "Oona"]
    assert len(oona) == 2
    assert all(not r["valid"] and r["reason"].startswith("backend:") for r in oona)
    assert all("127.0.0.1:9" in r["call"]["error"] for r in oona)
    others = [r for r in read_trace(out) if r["kind"] == "decision" and r["creature"] != "Oona"]
    assert all(r["valid"] for r in others)  # the turn went on for everyone else
    assert replay(out).ok


@pytest.mark.models
def test_models_command_lists_and_verifies(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for needle in ("smollm2", "gemma3", "qwen", "Hugging Face", "Google", "Alibaba", "Gemma Terms"):
        assert needle in out
    keys = [["smollm2"], ["gemma3"], ["qwen"], ["smollm2-q4_0"]]
    rows = [line for line in out.splitlines() if line.split()[:1] in keys]
    assert len(rows) == 4 and all(" ok " in row for row in rows)
    # Under each council, every creature appears under exactly one model: its seat.
    for council in councils.SEATING:
        seated = {}
        for row in rows:
            for part in row.split(";"):
                if f"{council}:" in part:
                    for name in part.split(f"{council}:")[1].split(","):
                        seated.setdefault(name.strip(), []).append(row.split()[0])
        assert sorted(seated) == sorted(NAMES)
        assert [seated[n][0] for n in NAMES] == list(councils.seats(council, len(NAMES)))
        assert all(len(models) == 1 for models in seated.values())


def test_a_recorded_run_is_a_cast(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(["run", "--turns", "5", "--seed", "4", "--out", str(first)]) == 0
    assert (
        main(
            [
                "run",
                "--cast",
                f"replay:{first}",
                "--turns",
                "5",
                "--seed",
                "4",
                "--out",
                str(second),
            ]
        )
        == 0
    )

    def state(folder):
        return [r for r in read_trace(folder) if r["kind"] in ("fill", "price", "holdings")]

    assert state(first) == state(second)
    policies = {r["policy"] for r in read_trace(second) if r["kind"] == "decision"}
    assert policies == {"replay"}


AGENTS = '''
from woodmarket.types import Action, Order


class Lowball:
    """Bids one pebble under the reference for one unit of the first good it lacks."""

    def decide(self, obs):
        for good, short in obs.short_of.items():
            lo, _ = obs.bands[good]
            price = max(lo, obs.prices[good] - 1)
            if short > 0 and obs.pebbles >= price:
                return Action(orders=(Order(obs.creature, "buy", good, 1, price),))
        return Action()


def quiet(obs):
    return Action()
'''


@pytest.fixture
def agents_module(tmp_path, monkeypatch):
    (tmp_path / "my_agents.py").write_text(AGENTS)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "my_agents"


def test_a_cast_file_names_a_policy_by_import_path(tmp_path, agents_module):
    from woodmarket.build import build
    from woodmarket.spec import RunSpec

    cast = tmp_path / "cast.toml"
    cast.write_text(
        f'[creatures.Rusk]\npolicy = "{agents_module}:Lowball"\n'
        f'[creatures.Pip]\npolicy = "{agents_module}:quiet"\n'
    )
    spec = RunSpec.make("oona", cast=str(cast), seed=2, turns=4)
    wood = build(spec)
    assert type(wood.policies["Rusk"]).__name__ == "Lowball"
    bids = []
    for _ in range(4):
        state = wood.step()
        bids += [r for r in state.records if r["kind"] == "order" and r["creature"] == "Rusk"]
        assert [r["offers"] for r in state.records if r["kind"] == "decision"][3] == []  # Pip
    assert bids and all(r["side"] == "buy" and r["qty"] == 1 for r in bids)
    assert spec.cast_text and RunSpec.from_json(spec.to_json()).cast_text == spec.cast_text


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("no_such_module_xyz:Agent", "an importable module; 'no_such_module_xyz'"),
        ("my_agents:Missing", "a class or function 'Missing' in my_agents"),
        ("my_agents:", "MODULE:NAME"),
    ],
)
def test_an_import_path_that_cannot_be_had_is_one_clear_error(
    tmp_path, agents_module, capsys, policy, expected
):
    cast = tmp_path / "cast.toml"
    cast.write_text(f'[creatures.Rusk]\npolicy = "{policy}"\n')
    assert main(["run", "--cast", str(cast), "--turns", "1", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "creatures.Rusk.policy" in err and expected in err and err.count("\n") == 1
