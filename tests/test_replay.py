"""Replay: a recorded run replays record for record; any edit, cut or forgery is named.

Three runs are recorded once for the module: a stand-in run with a gambit
(through the CLI), a model-driven run over a `FunctionBackend` (no model
loaded), and a played game. Each tamper test copies a run's folder, edits
it, and checks through the CLI that replay names the first differing
record by turn, kind and index, and exits non-zero.
"""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from woodmarket.backends.fake import FunctionBackend
from woodmarket.build import build
from woodmarket.cli import main
from woodmarket.errors import ReplayError
from woodmarket.play import Game
from woodmarket.policies.llm import LLMPolicy
from woodmarket.replay import replay
from woodmarket.runner import run, run_json
from woodmarket.spec import RunSpec
from woodmarket.traces import TRACE, RunFolder, Timings, dumps, read_trace
from woodmarket.types import Completion, CompletionRequest

STANDIN_TURNS = 8
LLM_TURNS = 6
# Every kind each recorded run must hold (a test below checks the lists are whole).
STANDIN_KINDS = (
    "start",
    "decision",
    "order",
    "fill",
    "hungry",
    "cold",
    "legend",
    "financier",
    "book",
    "magistrate",
    "sentiment",
    "headline",
    "price",
    "holdings",
)
LLM_KINDS = (*STANDIN_KINDS, "gossip", "spoil")
# Fields replay takes from the record (docs/traces.md says why): an edit there
# that keeps the field's shape is not caught, so the tampering below leaves them.
COPIED = {
    ("call", "model"),
    ("call", "backend"),
    ("call", "response"),
    ("call", "prompt_tokens"),
    ("call", "cached_tokens"),
    ("call", "generated_tokens"),
    ("call", "latency_ms"),
}
WHICH = ("first", "middle", "last")
EDITS = ("flip", "number", "delete", "duplicate")


# -- the recorded runs -------------------------------------------------------


@pytest.fixture(scope="module")
def standin_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("standin") / "run"
    argv = ["run", "--turns", str(STANDIN_TURNS), "--seed", "3", "--out", str(out)]
    assert main([*argv, "--gambit", "showcase"]) == 0
    return out


def _creature_replies(request: CompletionRequest, turns: Counter[str]) -> Completion:
    """A stand-in model: each creature answers in its own way, turn by turn."""
    name = request.system.split()[2]
    turns[name] += 1
    t = turns[name]
    replies = {
        "Oona": "sell 2 honey 9\nsay all: honey is scarce" if t % 2 else "sell 1 honey 8",
        "Mossback": "buy 2 honey 11",
        "Pip": "sell 1 berries 4\nsay Birch: berries are dear",
        "Birch": "buy 1 berries 7",
        "Rusk": "buy 1 honey 12\nbuy 1 berries 6" if t % 3 else "sell 9 acorns 1",
    }
    if name == "Rusk" and t == 4:
        raise ConnectionError("the fox's den is out of reach")
    text = replies[name]
    return Completion(
        text=text,
        model="fake",
        prompt_tokens=len(request.user) // 4,
        cached_tokens=len(request.system) // 4,
        generated_tokens=len(text) // 3,
        latency_ms=12.5 + t,
    )


@pytest.fixture(scope="module")
def llm_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("llm") / "run"
    spec = RunSpec.make("oona", seed=1, turns=LLM_TURNS, gambit="showcase")
    wood = build(spec)
    turns: Counter[str] = Counter()
    backend = FunctionBackend(lambda request: _creature_replies(request, turns))
    for name in wood.names:
        wood.policies[name] = LLMPolicy(backend, model="fake", backend_name="fake")
    run(spec, out=out, wood=wood)
    return out


def _played(folder: Path, lines: list[str]) -> Path:
    spec = RunSpec.make("oona", seed=1, turns=5, financier=True)
    wood = build(spec)
    game = Game(wood, 5, RunFolder.create(folder, wood, run_json(spec)))
    for line in lines:
        game.handle(line)
    if not game.done:
        game.quit()
    return folder


PLAYED = ["f", "next", "spring oona_run", "order buy acorns 3 5", "next", "next"]
PLAYED += ["cover honey", "whisper Pip berries will crash", "next", "next"]


@pytest.fixture(scope="module")
def played_run(tmp_path_factory) -> Path:
    return _played(tmp_path_factory.mktemp("played") / "game", PLAYED)


@pytest.fixture(scope="module")
def runs(standin_run, llm_run) -> dict[str, Path]:
    return {"standin": standin_run, "llm": llm_run}


# -- helpers -------------------------------------------------------------------


def _records(folder: Path) -> list[dict]:
    return list(read_trace(folder))


def _copy(src: Path, dst: Path, records: list[dict] | None = None) -> Path:
    shutil.copytree(src, dst)
    if records is not None:
        (dst / TRACE).write_text("".join(dumps(r) + "\n" for r in records), encoding="utf-8")
    return dst


def _replay(folder: Path, capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["replay", str(folder)])
    captured = capsys.readouterr()
    return code, captured.out.strip(), captured.err.strip()


def _leaves(value, path=()):
    """(path, value) of every scalar in a record, `turn` and `kind` and copied fields left out."""
    if isinstance(value, dict):
        for k in sorted(value):
            if path or k not in ("turn", "kind"):
                yield from _leaves(value[k], (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, (*path, i))
    elif path not in COPIED:
        yield path, value


def _set(record: dict, path: tuple, value) -> None:
    target = record
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _flip(record: dict) -> dict:
    """Change one word or truth of a record (a number when it has neither)."""
    out = copy.deepcopy(record)
    leaves = [(p, v) for p, v in _leaves(record) if not _is_number(v)]
    if not leaves:
        return _number(record)
    path, value = leaves[len(leaves) // 2]
    if isinstance(value, bool):
        new = not value
    elif isinstance(value, str):
        new = value + "!" if value else "x"
    else:  # None
        new = "x"
    _set(out, path, new)
    return out


def _number(record: dict) -> dict:
    """Change one number of a record (add one, when it has none)."""
    out = copy.deepcopy(record)
    leaves = [(p, v) for p, v in _leaves(record) if _is_number(v)]
    if not leaves:
        out["forged"] = 1
        return out
    path, value = leaves[len(leaves) // 2]
    _set(out, path, value + 1)
    return out


def _pick(records: list[dict], kind: str, which: str) -> int:
    """The position in the trace of the first, middle or last record of `kind`."""
    where = [i for i, r in enumerate(records) if r["kind"] == kind]
    assert where, f"the recorded run has no {kind} record"
    return where[{"first": 0, "middle": len(where) // 2, "last": -1}[which]]


def _number_in_turn(records: list[dict], i: int) -> int:
    r = records[i]
    return sum(1 for x in records[: i + 1] if x["turn"] == r["turn"] and x["kind"] == r["kind"])


# -- a clean run replays -------------------------------------------------------------


@pytest.mark.parametrize("name", ["standin", "llm"])
def test_a_recorded_run_replays_exactly(runs, name, capsys):
    turns = STANDIN_TURNS if name == "standin" else LLM_TURNS
    assert _replay(runs[name], capsys) == (0, f"all {turns} turns match", "")
    report = replay(runs[name])
    assert report.passed and report.ok and report.complete
    assert (report.turns, report.checked, report.requested) == (turns, turns, turns)


def test_the_recorded_runs_hold_every_kind_they_are_tampered_with(runs):
    assert set(STANDIN_KINDS) == {r["kind"] for r in _records(runs["standin"])}
    assert set(LLM_KINDS) == {r["kind"] for r in _records(runs["llm"])}


def test_the_model_run_used_its_calls(llm_run):
    decisions = [r for r in _records(llm_run) if r["kind"] == "decision"]
    assert all(r["policy"] == "llm" and r["call"]["user"] for r in decisions)
    assert any(r["call"]["error"] for r in decisions)  # a failed call replays as its hold
    assert any(r["call"]["latency_ms"] > 0 and r["call"]["prompt_tokens"] for r in decisions)


def test_a_played_game_replays_the_players_moves(played_run, capsys):
    moves = [r for r in _records(played_run) if r["kind"] == "financier"]
    assert {r["source"] for r in moves} == {"player"} and len(moves) >= 4
    assert _replay(played_run, capsys) == (0, "all 5 turns match", "")


# -- the tamper test -------------------------------------------------------------------


CASES = [
    (name, kind, which, edit)
    for name, kinds in (("standin", STANDIN_KINDS), ("llm", LLM_KINDS))
    for kind in kinds
    for which in (WHICH if kind != "start" else ("first",))
    for edit in EDITS
]


@pytest.mark.parametrize(("name", "kind", "which", "edit"), CASES)
def test_every_edit_of_every_kind_is_named(runs, tmp_path, capsys, name, kind, which, edit):
    records = _records(runs[name])
    i = _pick(records, kind, which)
    r = records[i]
    n = _number_in_turn(records, i)
    if edit == "flip":
        records[i] = _flip(r)
    elif edit == "number":
        records[i] = _number(r)
    elif edit == "delete":
        del records[i]
    else:
        records.insert(i + 1, copy.deepcopy(r))
    code, said, err = _replay(_copy(runs[name], tmp_path / "run", records), capsys)
    assert code == 1 and err == ""
    assert said.startswith(f"turn {r['turn']} differs: {kind} #"), said
    if edit in ("flip", "number"):
        assert said.startswith(f"turn {r['turn']} differs: {kind} #{n}: "), said
        assert " recorded " in said and ", replayed " in said
    elif edit == "delete":
        assert "is missing from the trace" in said
    else:
        assert "is in the trace but not replayed" in said


@pytest.fixture(scope="module")
def recorded(runs) -> dict[str, list[dict]]:
    return {name: _records(folder) for name, folder in runs.items()}


EDITABLE = st.one_of(
    st.booleans(), st.integers(-3, 3), st.text(max_size=3), st.none(), st.just(0.5)
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_field_edit_of_any_record_is_caught(runs, recorded, data):
    """A random record, a random field, a random new value: replay never passes it."""
    name = data.draw(st.sampled_from(["standin", "llm"]))
    records = copy.deepcopy(recorded[name])
    i = data.draw(st.integers(0, len(records) - 1))
    leaves = list(_leaves(records[i]))
    path, old = data.draw(st.sampled_from(leaves))
    new = data.draw(EDITABLE.filter(lambda v: json.dumps(v) != json.dumps(old)))
    _set(records[i], path, new)
    with tempfile.TemporaryDirectory() as tmp:
        report = replay(_copy(runs[name], Path(tmp) / "run", records))
    assert not report.passed
    assert report.mismatch_turn == records[i]["turn"], report.line()
    assert f"{records[i]['kind']} #" in report.detail


def test_a_number_that_becomes_true_is_caught(standin_run, tmp_path, capsys):
    records = _records(standin_run)
    i = _pick(records, "fill", "first")
    records[i]["qty"] = True if records[i]["qty"] == 1 else float(records[i]["qty"])
    code, said, _ = _replay(_copy(standin_run, tmp_path / "run", records), capsys)
    assert code == 1 and said.startswith(f"turn {records[i]['turn']} differs: fill #1: qty")


def test_a_forged_record_of_an_unknown_kind_is_named(standin_run, tmp_path, capsys):
    records = _records(standin_run)
    i = _pick(records, "headline", "middle")
    records.insert(i, {"turn": records[i]["turn"], "kind": "omen", "text": "crows"})
    code, said, _ = _replay(_copy(standin_run, tmp_path / "run", records), capsys)
    assert code == 1
    assert (
        said
        == f"turn {records[i]['turn']} differs: omen #1 is in the trace but not replayed"
        + (" (forged or duplicated)")
    )


def test_a_record_moved_to_a_later_turn_is_named(standin_run, tmp_path, capsys):
    records = _records(standin_run)
    i = _pick(records, "headline", "first")
    records.append(records.pop(i))  # same content, at the end of the trace
    code, said, _ = _replay(_copy(standin_run, tmp_path / "run", records), capsys)
    assert code == 1 and said.startswith(f"turn {records[-1]['turn']} differs: headline #1")


def test_a_report_names_what_else_differs_in_the_turn(played_run, tmp_path, capsys):
    path = _copy(played_run, tmp_path / "game") / TRACE
    text = path.read_text()
    path.write_text(text.replace('"command":"short honey 8"', '"command":"short honey 4"'))
    code, said, _ = _replay(path.parent, capsys)
    assert code == 1
    assert said.startswith("turn 1 differs: financier #1: outcome recorded"), said
    assert said.endswith("(also differ this turn: book)")


def test_a_long_value_is_cut_short(llm_run, tmp_path, capsys):
    records = _records(llm_run)
    i = _pick(records, "decision", "first")
    records[i]["call"]["user"] = "x" * 500
    code, said, _ = _replay(_copy(llm_run, tmp_path / "run", records), capsys)
    assert code == 1 and said.startswith("turn 1 differs: decision #1: call.user recorded")
    assert len(said) < 200 and "…" in said


# -- cut, emptied, and edited folders -----------------------------------------------------


@pytest.mark.parametrize("cut", [1, 3, STANDIN_TURNS])
def test_cutting_the_last_turns_is_a_stopped_run(standin_run, tmp_path, capsys, cut):
    kept = [r for r in _records(standin_run) if r["turn"] <= STANDIN_TURNS - cut]
    code, said, _ = _replay(_copy(standin_run, tmp_path / "run", kept), capsys)
    left = STANDIN_TURNS - cut
    assert code == 1
    assert said == (
        f"stopped after {left} of {STANDIN_TURNS} turns "
        f"(summary.json says {STANDIN_TURNS} turns: the trace was cut)"
    )
    report = replay(tmp_path / "run")
    assert report.ok and not report.complete and report.checked == left


def test_a_torn_last_line_replays_the_finished_turns(standin_run, tmp_path, capsys):
    folder = _copy(standin_run, tmp_path / "run")
    text = (folder / TRACE).read_text()
    cut = text.rindex('{"holders"')  # tear the last line as a crash mid-write would
    (folder / TRACE).write_text(text[: cut + 30])
    summary = json.loads((folder / "summary.json").read_text())
    summary.update(turns=STANDIN_TURNS - 1, stopped="stopped after 7 of 8 turns: killed")
    (folder / "summary.json").write_text(json.dumps(summary))
    code, said, _ = _replay(folder, capsys)
    assert code == 1
    assert said == "stopped after 7 of 8 turns (stopped after 7 of 8 turns: killed)"
    report = replay(folder)
    assert report.ok and report.turns == 7


def test_a_run_without_its_summary_did_not_finish(standin_run, tmp_path, capsys):
    folder = _copy(standin_run, tmp_path / "run")
    (folder / "summary.json").unlink()
    code, said, _ = _replay(folder, capsys)
    assert code == 1
    assert said == "all 8 turns match, but no summary.json: the run did not finish"


def test_a_summary_that_miscounts_is_named(standin_run, tmp_path, capsys):
    folder = _copy(standin_run, tmp_path / "run")
    summary = json.loads((folder / "summary.json").read_text())
    summary["turns"] = 9
    (folder / "summary.json").write_text(json.dumps(summary))
    assert _replay(folder, capsys)[:2] == (1, "summary.json says 9 turns, the trace holds 8")


def test_an_empty_trace_is_an_error(standin_run, tmp_path, capsys):
    folder = _copy(standin_run, tmp_path / "run", [])
    code, said, err = _replay(folder, capsys)
    assert (code, said) == (2, "")
    assert err == f"woodmarket: error: {folder / TRACE}: empty: no start record, nothing to replay"


def test_a_trace_without_its_start_record_is_named(standin_run, tmp_path, capsys):
    records = _records(standin_run)[1:]
    code, said, _ = _replay(_copy(standin_run, tmp_path / "run", records), capsys)
    assert code == 1
    assert said == "turn 0 differs: start #1 is missing from the trace (the replay made it)"


@pytest.mark.parametrize(
    ("field", "path"), [("prices", ("prices", "honey")), ("purse", ("holders", "Oona", "pebbles"))]
)
def test_an_edited_start_record_is_named(standin_run, tmp_path, capsys, field, path):
    records = _records(standin_run)
    start = records[0]
    _set(start, path, start[path[0]][path[1]] + 3 if field == "prices" else 999)
    code, said, _ = _replay(_copy(standin_run, tmp_path / "run", records), capsys)
    assert code == 1 and said.startswith(f"turn 0 differs: start #1: {'.'.join(path)} recorded")


def _edit_run_json(folder: Path, **changes) -> None:
    meta = json.loads((folder / "run.json").read_text())
    meta.update(changes)
    (folder / "run.json").write_text(json.dumps(meta))


def test_an_edited_seed_is_caught(standin_run, tmp_path, capsys):
    folder = _copy(standin_run, tmp_path / "run")
    _edit_run_json(folder, seed=4)
    code, said, _ = _replay(folder, capsys)
    assert code == 1 and said.startswith("turn 1 differs: decision #")


def test_more_turns_in_run_json_is_a_stopped_run(standin_run, tmp_path, capsys):
    folder = _copy(standin_run, tmp_path / "run")
    _edit_run_json(folder, turns=10)
    code, said, _ = _replay(folder, capsys)
    assert code == 1 and said == "stopped after 8 of 10 turns (summary.json does not say why)"


def test_fewer_turns_in_run_json_leaves_records_unreplayed(standin_run, tmp_path, capsys):
    folder = _copy(standin_run, tmp_path / "run")
    _edit_run_json(folder, turns=6)
    code, said, _ = _replay(folder, capsys)
    assert code == 1
    assert said == (
        "turn 7 differs: decision #1 is in the trace but not replayed (the run was for 6 turns)"
    )


def test_a_different_world_in_run_json_is_caught_where_it_first_shows(
    standin_run, tmp_path, capsys
):
    folder = _copy(standin_run, tmp_path / "run")
    _edit_run_json(folder, mechanism="rumor")  # the run was the showcase's `settle` world
    code, said, _ = _replay(folder, capsys)
    assert code == 1
    assert said.startswith('turn 2 differs: legend #1: mechanism recorded "settle", replayed')


def test_an_edited_player_move_is_named(played_run, tmp_path, capsys):
    records = _records(played_run)
    i = next(k for k, r in enumerate(records) if r.get("command") == "cover honey")
    records[i]["command"] = "cover acorns"
    code, said, _ = _replay(_copy(played_run, tmp_path / "game", records), capsys)
    assert code == 1
    assert said.startswith(f"turn {records[i]['turn']} differs: financier #1: ok recorded true")


def test_a_deleted_player_move_is_caught_where_its_effect_shows(played_run, tmp_path, capsys):
    records = _records(played_run)
    i = next(k for k, r in enumerate(records) if r.get("command") == "spring oona_run")
    turn = records.pop(i)["turn"]
    code, said, _ = _replay(_copy(played_run, tmp_path / "game", records), capsys)
    assert code == 1 and said.startswith(f"turn {turn} differs: legend #1")


# -- damaged folders: one clear line, never a traceback ---------------------------------------


def _damage(folder: Path, file: str, content: bytes | None) -> None:
    if content is None:
        (folder / file).unlink()
    else:
        (folder / file).write_bytes(content)


def _without(folder: Path, key: str) -> bytes:
    meta = json.loads((folder / "run.json").read_text())
    del meta[key]
    return json.dumps(meta).encode()


def _with(folder: Path, **changes) -> bytes:
    meta = json.loads((folder / "run.json").read_text())
    meta.update(changes)
    return json.dumps(meta).encode()


def _trace_with(folder: Path, line: bytes, at: int = 3) -> bytes:
    lines = (folder / TRACE).read_bytes().splitlines(keepends=True)
    lines.insert(at, line + b"\n")
    return b"".join(lines)


DAMAGE = [
    ("run.json", lambda f: None, "run.json: missing"),
    ("run.json", lambda f: b"{not json", "run.json: not valid JSON"),
    ("run.json", lambda f: b"[1, 2]", "run.json: expected a JSON object, got a list"),
    ("run.json", lambda f: b"\x89PNG\r\n\x1a\n\xff\xfe", "run.json: not UTF-8 text"),
    ("run.json", lambda f: _without(f, "seed"), "run.json: missing 'seed'"),
    ("run.json", lambda f: _with(f, seed="3"), "run.json: seed must be a whole number"),
    ("run.json", lambda f: _with(f, seed=3.5), "run.json: seed must be a whole number"),
    ("run.json", lambda f: _with(f, turns=0), "run.json: turns must be a whole number >= 1"),
    (
        "run.json",
        lambda f: _with(f, gambit="bogus"),
        "run.json: the run cannot be rebuilt: unknown gambit 'bogus'",
    ),
    (TRACE, lambda f: None, "trace.jsonl: missing"),
    (TRACE, lambda f: b"\x00\xff\xfe\x00" * 8 + b"\n", "trace.jsonl:1: not UTF-8 text"),
    (TRACE, lambda f: _trace_with(f, b"{}"), "trace.jsonl:4: a record without 'turn'"),
    (TRACE, lambda f: _trace_with(f, b"null"), "trace.jsonl:4: a record must be a JSON object"),
    (TRACE, lambda f: _trace_with(f, b"[]"), "trace.jsonl:4: a record must be a JSON object"),
    (TRACE, lambda f: _trace_with(f, b'{"turn":1}'), "trace.jsonl:4: a record without 'kind'"),
    (TRACE, lambda f: _trace_with(f, b'{"kind":"x"}'), "trace.jsonl:4: a record without 'turn'"),
    (
        TRACE,
        lambda f: _trace_with(f, b'{"turn":"1","kind":"x"}'),
        "trace.jsonl:4: 'turn' must be a whole number >= 0, got '1'",
    ),
    (
        TRACE,
        lambda f: _trace_with(f, b'{"turn":1.5,"kind":"x"}'),
        "trace.jsonl:4: 'turn' must be a whole number",
    ),
    (TRACE, lambda f: _trace_with(f, b"{torn"), "trace.jsonl:4: not a JSON record"),
    ("scenario.toml", lambda f: None, "scenario.toml: missing"),
    ("scenario.toml", lambda f: b"\xff\xfe[wood]", "scenario.toml: not UTF-8 text"),
    (
        "scenario.toml",
        lambda f: (f / "scenario.toml").read_bytes() + b"\n# edited\n",
        "scenario.toml: differs from the scenario text in",
    ),
    ("summary.json", lambda f: b"{", "summary.json: not valid JSON"),
]


@pytest.mark.parametrize(("file", "content", "message"), DAMAGE)
def test_a_damaged_folder_is_one_clear_line(standin_run, tmp_path, capsys, file, content, message):
    folder = _copy(standin_run, tmp_path / "run")
    _damage(folder, file, content(folder))
    code, said, err = _replay(folder, capsys)
    assert (code, said) == (2, "")
    assert err.startswith(f"woodmarket: error: {folder}") and message in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_replaying_a_file_is_an_error(standin_run, capsys):
    code, _, err = _replay(standin_run / "run.json", capsys)
    assert (
        code == 2
        and err == f"woodmarket: error: {standin_run / 'run.json'}: a file there, not a run folder"
    )


# -- schema versions ---------------------------------------------------------------------------


def test_a_run_folder_carries_schema_version_2(standin_run):
    meta = json.loads((standin_run / "run.json").read_text())
    assert meta["versions"]["schema"] == "2"
    assert meta["scenario_text"] and "provenance" in meta and meta["seed"] == 3


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ("3", "schema version 3 (written by a newer woodmarket); this woodmarket reads 1, 2"),
        (0, "schema version 0; this woodmarket reads 1, 2"),
        ("two", "schema version 'two' is not a number; this reads 1, 2"),
    ],
)
def test_an_unknown_schema_version_is_refused(standin_run, tmp_path, capsys, schema, message):
    folder = _copy(standin_run, tmp_path / "run")
    meta = json.loads((folder / "run.json").read_text())
    meta["versions"]["schema"] = schema
    (folder / "run.json").write_text(json.dumps(meta))
    code, _, err = _replay(folder, capsys)
    assert code == 2 and err == f"woodmarket: error: {folder / 'run.json'}: {message}"


OONA_SCHEMA_1 = Path(__file__).parent / "data" / "oona_schema1.toml"


def _schema_1(folder: Path) -> None:
    """A folder as schema 1 wrote it: settings beside the seed, the scenario without stories."""
    meta = json.loads((folder / "run.json").read_text())
    old = {k: meta[k] for k in ("seed", "turns", "cast", "gambit", "mechanism")}
    old.update(scenario="Oona's Wood", scenario_arg="oona", versions={"schema": "1"})
    (folder / "run.json").write_text(json.dumps(old))
    (folder / "scenario.toml").write_text(OONA_SCHEMA_1.read_text())


def test_a_schema_1_folder_still_replays(tmp_path, capsys):
    folder = tmp_path / "plain"
    assert main(["run", "--turns", "8", "--seed", "3", "--out", str(folder)]) == 0
    _schema_1(folder)
    assert _replay(folder, capsys)[:2] == (0, "all 8 turns match")
    _edit_run_json(folder, seed=5)
    code, said, _ = _replay(folder, capsys)
    assert code == 1 and said.startswith("turn 1 differs: decision #")


def test_a_schema_1_gambit_run_is_refused_in_one_line(standin_run, tmp_path, capsys):
    folder = _copy(standin_run, tmp_path / "run")
    _schema_1(folder)
    code, _, err = _replay(folder, capsys)
    assert code == 2 and "a schema 1 run of the gambit 'showcase'" in err
    assert "\n" not in err.strip()


def test_a_schema_2_folder_must_hold_a_spec(standin_run, tmp_path, capsys):
    folder = _copy(standin_run, tmp_path / "run")
    _schema_1(folder)
    _edit_run_json(folder, versions={"schema": "2"})
    code, _, err = _replay(folder, capsys)
    assert code == 2 and "schema 2 but no spec in it" in err


# -- what replay takes from the record ---------------------------------------------------------

MEASURES = ("prompt_tokens", "cached_tokens", "generated_tokens", "latency_ms")
TEXTS = ("model", "backend", "response")
MISSHAPEN = {
    **dict.fromkeys(MEASURES, st.one_of(st.integers(-9, -1), st.booleans(), st.text(), st.none())),
    **dict.fromkeys(TEXTS, st.one_of(st.integers(), st.booleans(), st.none(), st.lists(st.text()))),
}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_a_misshapen_call_field_is_named(llm_run, recorded, data):
    """A copied field replay cannot redo is still checked for its shape, and named."""
    records = copy.deepcopy(recorded["llm"])
    i = data.draw(st.sampled_from([k for k, r in enumerate(records) if r["kind"] == "decision"]))
    field = data.draw(st.sampled_from(MEASURES + TEXTS))
    records[i]["call"][field] = data.draw(MISSHAPEN[field])
    with tempfile.TemporaryDirectory() as tmp:
        report = replay(_copy(llm_run, Path(tmp) / "run", records))
    assert report.mismatch_turn == records[i]["turn"], report.line()
    assert f"call.{field} recorded" in report.detail or field == "response", report.detail


def test_a_failed_call_has_no_reply_and_no_tokens(llm_run, tmp_path, capsys):
    records = _records(llm_run)
    i = next(k for k, r in enumerate(records) if r["kind"] == "decision" and r["call"]["error"])
    records[i]["call"]["generated_tokens"] = 7
    code, said, _ = _replay(_copy(llm_run, tmp_path / "run", records), capsys)
    assert code == 1 and "call.generated_tokens recorded 7, replayed 0" in said


def test_a_plausible_latency_edit_is_beyond_replay(llm_run, tmp_path, capsys):
    """Documented limit (docs/traces.md): a measurement only the model could redo."""
    records = _records(llm_run)
    i = _pick(records, "decision", "middle")
    records[i]["call"]["latency_ms"] += 100.0
    assert _replay(_copy(llm_run, tmp_path / "run", records), capsys)[0] == 0


class _Slow(LLMPolicy):
    """A model policy whose call on turn 2 comes too late for its deadline."""

    def decide(self, observation):
        if observation.turn == 2 and observation.creature == "Rusk":
            time.sleep(0.4)
        return super().decide(observation)


def test_a_call_abandoned_at_its_deadline_replays_as_its_hold(tmp_path, capsys):
    spec = RunSpec.make("oona", seed=2, turns=3)
    wood = build(spec)
    turns: Counter[str] = Counter()
    backend = FunctionBackend(lambda request: _creature_replies(request, turns))
    for name in wood.names:
        wood.policies[name] = _Slow(backend, model="fake", backend_name="fake", timeout_s=0.1)
    run(spec, out=tmp_path / "run", wood=wood)
    wood.close()
    late = [r for r in _records(tmp_path / "run") if "deadline" in r.get("reason", "")]
    assert [(r["turn"], r["creature"], "call" in r) for r in late] == [(2, "Rusk", False)]
    assert _replay(tmp_path / "run", capsys)[:2] == (0, "all 3 turns match")
    # Its hold cannot carry orders: one forged onto it is named.
    records = _records(tmp_path / "run")
    i = records.index(late[0])
    records[i]["offers"] = [
        {"creature": "Rusk", "side": "buy", "good": "honey", "qty": 1, "price": 9}
    ]
    code, said, _ = _replay(_copy(tmp_path / "run", tmp_path / "forged", records), capsys)
    assert code == 1 and said.startswith("turn 2 differs: decision #5: ")


# -- summary.json ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "said"),
    [
        (("financier", "pnl"), 41, "financier.pnl recorded 41, replayed 40"),
        (("gini_end",), 0.1, "gini_end recorded 0.1, replayed"),
        (("trades_per_turn",), [1], "trades_per_turn recorded [1], replayed"),
        (("valid_actions",), 39, "valid_actions recorded 39, replayed 40"),
    ],
)
def test_an_edited_summary_figure_is_named(standin_run, tmp_path, capsys, path, value, said):
    folder = _copy(standin_run, tmp_path / "run")
    summary = json.loads((folder / "summary.json").read_text())
    _set(summary, path, value)
    (folder / "summary.json").write_text(json.dumps(summary))
    code, line, _ = _replay(folder, capsys)
    assert code == 1 and line.startswith(f"every record matches, but summary.json differs: {said}")


def test_a_figure_missing_from_the_summary_is_named(standin_run, tmp_path, capsys):
    folder = _copy(standin_run, tmp_path / "run")
    summary = json.loads((folder / "summary.json").read_text())
    del summary["gini_end"]
    summary["figure of a newer woodmarket"] = 1  # keys replay does not compute are left alone
    (folder / "summary.json").write_text(json.dumps(summary))
    code, line, _ = _replay(folder, capsys)
    assert code == 1 and line.endswith(
        "summary.json differs: gini_end recorded (absent), replayed 0.3509"
    )


def test_a_run_whose_timings_left_the_trace_replays(tmp_path):
    """Timings kept apart (a sweep's runs, byte-identical traces) go back in for replay."""
    spec = RunSpec.make("oona", seed=1, turns=4, gambit="showcase")
    wood = build(spec)
    turns: Counter[str] = Counter()
    for n in wood.names:
        wood.policies[n] = LLMPolicy(
            FunctionBackend(lambda r: _creature_replies(r, turns)),
            model="fake",
            backend_name="fake",
        )
    folder = tmp_path / "timed"
    timings = Timings(folder)
    wood.listeners.append(timings)
    seen: list[dict] = []
    wood.listeners.append(lambda t: seen.extend(t.records))  # after the writer, too
    run(spec, folder, wood=wood, apart=True)
    timings.close()
    # Listeners read the records as they are: the trace writer only projects them.
    assert all("latency_ms" in r["call"] for r in seen if r["kind"] == "decision")
    calls = [r["call"] for r in read_trace(folder) if r["kind"] == "decision"]
    assert calls and all("latency_ms" not in c and "cached_tokens" not in c for c in calls)
    assert replay(folder).ok
    (folder / "timings.jsonl").write_text('{"turn": 9, "creature": "Oona", "latency_ms": 1}\n')
    with pytest.raises(ReplayError, match="no model call of Oona on that turn"):
        replay(folder)
