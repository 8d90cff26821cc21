"""Traces: every written line is strict JSON in UTF-8; readers name the damage; schema versions."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from woodmarket.build import build
from woodmarket.errors import ReplayError
from woodmarket.runner import run_json
from woodmarket.spec import RunSpec
from woodmarket.traces import (
    READS,
    SCHEMA_VERSION,
    TRACE,
    RunFolder,
    TraceWriter,
    dumps,
    load_trace,
    read_run,
    read_trace,
    schema_of,
    versions,
)


def _strict(line: str):
    """json.loads that refuses NaN and Infinity, as strict JSON readers do."""

    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(line, parse_constant=refuse)


def _old(record):
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# -- dumps -------------------------------------------------------------------------


def test_non_finite_floats_become_null_at_any_depth():
    record = {
        "turn": 1,
        "kind": "x",
        "a": math.nan,
        "b": [1.5, math.inf, {"c": -math.inf}],
        "d": (math.nan,),
    }
    line = dumps(record)
    assert _strict(line) == {
        "turn": 1,
        "kind": "x",
        "a": None,
        "b": [1.5, None, {"c": None}],
        "d": [None],
    }


def test_a_lone_surrogate_is_written_visibly_escaped():
    line = dumps({"turn": 1, "kind": "decision", "text": "bees \ud83d buzz", "k\udc00": 1})
    line.encode("utf-8")  # would raise if a surrogate were left in
    assert _strict(line) == {
        "turn": 1,
        "kind": "decision",
        "text": "bees \\ud83d buzz",
        "k\\udc00": 1,
    }


def test_both_at_once():
    line = dumps({"a": math.nan, "b": "\udfff"})
    assert _strict(line) == {"a": None, "b": "\\udfff"}


@pytest.mark.parametrize(
    "record",
    [
        {"turn": 3, "kind": "fill", "good": "honey", "price": 9, "qty": 2, "buyer": "Pip"},
        {"turn": 1, "kind": "gossip", "text": "la forêt 🌲 est calme", "listeners": ["Oona"]},
        {"turn": 2, "kind": "decision", "call": {"latency_ms": 12.25, "error": ""}, "z": None},
    ],
)
def test_normal_records_are_byte_identical_to_before(record):
    assert dumps(record) == _old(record)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=6), JSONISH, max_size=6))
def test_any_record_becomes_one_strict_utf8_line(record):
    line = dumps(record)
    assert "\n" not in line
    line.encode("utf-8")
    _strict(line)


FINE_TEXT = st.text(st.characters(exclude_categories=("Cs",)))
FINE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | FINE_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(FINE_TEXT, inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(FINE_TEXT, FINE, max_size=6))
def test_any_normal_record_is_written_as_before(record):
    assert dumps(record) == _old(record)


def test_the_writer_writes_lines_every_reader_takes(tmp_path):
    writer = TraceWriter(tmp_path / TRACE)
    writer.write(
        [{"turn": 0, "kind": "start"}, {"turn": 1, "kind": "x", "v": math.inf, "t": "\ud800"}]
    )
    writer.close()
    raw = (tmp_path / TRACE).read_bytes()
    lines = raw.decode("utf-8").splitlines()
    assert [_strict(line)["kind"] for line in lines] == ["start", "x"]
    assert list(read_trace(tmp_path))[1] == {"turn": 1, "kind": "x", "v": None, "t": "\\ud800"}


# -- reading a trace ------------------------------------------------------------------


def _trace(tmp_path, content: bytes):
    (tmp_path / TRACE).write_bytes(content)
    return tmp_path


GOOD = b'{"kind":"start","turn":0}\n{"kind":"headline","text":"hi","turn":1}\n'


def test_a_clean_trace_reads_whole(tmp_path):
    trace = load_trace(_trace(tmp_path, GOOD))
    assert [r["kind"] for r in trace.records] == ["start", "headline"]
    assert trace.lines == [1, 2] and not trace.torn


@pytest.mark.parametrize(
    "tail",
    [b'{"kind":"hold', b'{"kind":"x","text":"caf\xc3', b"\xe2\x82"],
    ids=["mid-record", "mid-character", "only-bytes"],
)
def test_a_torn_last_line_is_dropped(tmp_path, tail):
    trace = load_trace(_trace(tmp_path, GOOD + tail))
    assert trace.torn and len(trace.records) == 2


def test_a_last_line_without_its_newline_still_counts_when_whole(tmp_path):
    trace = load_trace(_trace(tmp_path, GOOD + b'{"kind":"price","turn":1}'))
    assert not trace.torn and trace.records[-1]["kind"] == "price"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"{}", ":2: a record without 'turn'"),
        (b"null", ":2: a record must be a JSON object, got null"),
        (b"[]", ":2: a record must be a JSON object, got a list"),
        (b'"text"', ":2: a record must be a JSON object, got a string"),
        (b'{"turn":1}', ":2: a record without 'kind'"),
        (b'{"turn":true,"kind":"x"}', ":2: 'turn' must be a whole number >= 0, got True"),
        (b'{"turn":-1,"kind":"x"}', ":2: 'turn' must be a whole number >= 0, got -1"),
        (b'{"turn":1,"kind":3}', ":2: 'kind' must be a name, got 3"),
        (b"", ":2: a blank line"),
        (b"\xff\xfe", ":2: not UTF-8 text (byte 0 of the line)"),
        (b"{nope", ":2: not a JSON record"),
    ],
)
def test_a_damaged_line_is_named(tmp_path, line, message):
    folder = _trace(tmp_path, b'{"kind":"start","turn":0}\n' + line + b"\n" + GOOD)
    with pytest.raises(ReplayError) as err:
        load_trace(folder)
    assert str(err.value) == f"{folder / TRACE}{message}"


def test_a_missing_trace_is_named(tmp_path):
    with pytest.raises(ReplayError, match=r"trace.jsonl: missing \(is .* a run folder\?\)"):
        load_trace(tmp_path)


# -- run.json and its schema version ----------------------------------------------------


def test_run_json_holds_the_spec_provenance_and_schema(tmp_path):
    spec = RunSpec.make("oona", seed=7, turns=3)
    wood = build(spec)
    folder = RunFolder.create(tmp_path / "run", wood, run_json(spec))
    folder.finish({"turns": 0})
    meta = read_run(folder.path)
    assert RunSpec.from_dict(meta) == spec
    assert meta["versions"]["schema"] == str(SCHEMA_VERSION) == "2"
    assert set(meta["provenance"]) >= {"woodmarket", "python", "cpu", "seats", "models"}
    assert versions()["schema"] == "2" and SCHEMA_VERSION in READS


@pytest.mark.parametrize(
    ("meta", "version"),
    [({}, 1), ({"versions": {"schema": "1"}}, 1), ({"versions": {"schema": 2}}, 2)],
)
def test_schema_versions_read(meta, version):
    assert schema_of(meta) == version


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"versions": {"schema": "9"}}, "schema version 9 (written by a newer woodmarket)"),
        ({"versions": {"schema": True}}, "schema version True is not a number"),
        ({"versions": "2"}, "'versions' must be an object, got a string"),
    ],
)
def test_schema_versions_refused(meta, message):
    with pytest.raises(ReplayError, match=message.replace("(", r"\(").replace(")", r"\)")):
        schema_of(meta)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not valid JSON"),
        (b"[]", "expected a JSON object, got a list"),
        (b"7", "expected a JSON object, got a number"),
        (b"\x00\x9f\x92\x96", "not UTF-8 text (byte 1)"),
    ],
)
def test_a_damaged_run_json_is_named(tmp_path, content, message):
    (tmp_path / "run.json").write_bytes(content)
    with pytest.raises(ReplayError) as err:
        read_run(tmp_path)
    assert str(err.value).startswith(f"{tmp_path / 'run.json'}: {message}")


def test_run_json_and_summary_json_are_strict_too(tmp_path):
    spec = RunSpec.make("oona", seed=7, turns=3)
    folder = RunFolder.create(tmp_path / "run", build(spec), run_json(spec))
    folder.finish({"turns": 0, "valid_share": math.nan, "headlines": ["honey \ud83d"]})
    summary = _strict((tmp_path / "run" / "summary.json").read_text(encoding="utf-8"))
    assert summary == {"turns": 0, "valid_share": None, "headlines": ["honey \\ud83d"]}
    _strict((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
