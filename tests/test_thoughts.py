"""Creatures that think aloud: the spec's `thoughts` travels to every model creature, whole.

On, a model creature's prompt asks for one `think:` line and its grammar
admits one of at most 48 characters; the thought is traced and replayed;
the web app shows the thought column only then. Off (the default, and
every sweep's), nothing of it is asked for or shown.
"""

from __future__ import annotations

import json

import pytest

from woodmarket.app import view
from woodmarket.app.session import Sessions
from woodmarket.backends.fake import FunctionBackend
from woodmarket.build import build
from woodmarket.policies.grammar import GRAMMAR_TEXT_CHARS
from woodmarket.policies.llm import LLMPolicy
from woodmarket.replay import replay
from woodmarket.runner import run
from woodmarket.spec import RunSpec
from woodmarket.traces import read_trace


def _thinking(request) -> str:
    assert ("think:" in request.system) == ("think:" in (request.grammar or ""))
    return "hold\nthink: the honey will keep" if "think:" in request.system else "hold"


@pytest.mark.parametrize("thoughts", [True, False])
def test_the_spec_asks_every_model_creature_to_think_aloud_or_not(tmp_path, scenario_key, thoughts):
    spec = RunSpec.make(scenario_key, seed=1, turns=2, thoughts=thoughts)
    assert RunSpec.from_json(spec.to_json()).thoughts is thoughts
    assert ("thoughts" in spec.to_dict()) is thoughts  # off: run.json as it always was
    wood = build(spec)
    name = wood.names[0]
    wood.policies[name] = LLMPolicy(
        FunctionBackend(_thinking), "fake", "fake", thoughts=spec.thoughts
    )
    run(spec, tmp_path / "run", wood=wood)
    said = [r for r in read_trace(tmp_path / "run") if r["kind"] == "decision"]
    mine = [r["thought"] for r in said if r["creature"] == name]
    assert mine == (["the honey will keep"] * 2 if thoughts else ["", ""])
    assert replay(tmp_path / "run").passed


def test_the_page_shows_the_thought_column_only_when_they_think(tmp_path, scenario_key):
    for thoughts in (True, False):
        sessions = Sessions(cap=1, runs=tmp_path / f"runs{thoughts}", thoughts=thoughts)
        try:
            s = sessions.seat("a", scenario=scenario_key)
            s.step()
            page = view.thoughts(s)
            assert ("<th>thought</th>" in page) is thoughts
            assert ("data-wm='thought'" in page) is thoughts
            assert s.wood.turn == 1
        finally:
            sessions.close_all()


def test_a_new_wood_thinks_aloud_as_its_player_chose(tmp_path, scenario_key):
    sessions = Sessions(cap=1, runs=tmp_path / "runs", thoughts=False)
    try:
        for chosen, shown in ((True, True), (None, False), (False, False), ("yes", False)):
            s = sessions.seat("a", scenario=scenario_key, thoughts=chosen)  # type: ignore[arg-type]
            recorded = json.loads((s.run_folder / "run.json").read_text())
            assert s.thoughts is shown and recorded.get("thoughts", False) is shown
            s.step()
            assert ("<th>thought</th>" in view.thoughts(s)) is shown
    finally:
        sessions.close_all()


@pytest.mark.models
def test_a_model_thinks_in_one_short_line(tmp_path, scenario_key):
    spec = RunSpec.make(scenario_key, cast="single:gemma3", seed=2, turns=2, thoughts=True)
    run(spec, tmp_path / "run")
    said = [r for r in read_trace(tmp_path / "run") if r["kind"] == "decision"]
    thoughts = [r["thought"] for r in said if r["thought"]]
    assert thoughts, "no creature thought aloud"
    assert all(len(t) <= GRAMMAR_TEXT_CHARS and "\n" not in t for t in thoughts)
    assert replay(tmp_path / "run").passed
