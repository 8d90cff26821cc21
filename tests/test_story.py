"""The season told: every loss explained from the records, a recap, and a story page to share.

The recap and the explanations are read off the trace alone (the council
game of tests/data, where one thin trade forced a cover before the legend
landed; and stand-in games of both scenarios); the story page escapes
every text a model or a player wrote and, opened in a real Chromium,
requests nothing from any network.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from woodmarket.backends.fake import FunctionBackend
from woodmarket.build import build
from woodmarket.cli import main
from woodmarket.policies.llm import LLMPolicy
from woodmarket.recap import explain, recap
from woodmarket.runner import run
from woodmarket.spec import RunSpec
from woodmarket.story import story
from woodmarket.traces import read_trace

SQUEEZE = Path(__file__).parent / "data" / "squeeze-oona-council-seed0"
HOSTILE = [
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=2">',
    "${window.__pwned=3} {{constructor}}",
    "\x1b[2J bell\x07",
]


def test_the_forced_cover_is_explained_by_the_trade_that_moved_the_mark():
    records = list(read_trace(SQUEEZE))
    (said,) = explain(records, 3)
    assert "Pip bought 1 honey from Mossback at 20" in said
    assert "mark went 9 -> 20 on one trade" in said
    assert "leaving 20 pebbles, below the maintenance of 40 (25% of 8 x 20)" in said
    assert "P&L -80" in said and "settles on turn 4" in said
    assert explain(records, 2) == [] and explain(records, 4) == []


def test_the_recap_tells_the_season_from_the_record(scenario_key, tmp_path):
    spec = RunSpec.make(scenario_key, seed=2, turns=6, gambit="showcase", mechanism="settle")
    out = tmp_path / "run"
    run(spec, out)
    records = list(read_trace(out))
    summary = json.loads((out / "summary.json").read_text())
    target = spec.gambit_of().target
    told = recap(records, summary, target)
    assert [m[1] for m in told.moves] == [r["command"] for r in records if r["kind"] == "financier"]
    prices = [r["reference"] for r in records if r["kind"] == "price" and r["good"] == target]
    assert told.path[1:] == prices and len(told.path) == 7
    assert (told.spring, told.settlement) == (2, 2 + spec.gambit_of().legend.delay)
    fills = [r for r in records if r["kind"] == "fill" and r["good"] == target]
    assert sum(d["bought"] for d in told.creatures.values()) == sum(f["qty"] for f in fills)
    assert told.objective == summary["financier"]["objective"] and told.why
    lines = told.lines()
    assert lines[0].startswith("The season") and any(target in x for x in lines)


def _hostile_run(tmp_path: Path, key: str) -> Path:
    spec = RunSpec.make(key, seed=1, turns=3, financier=True)
    wood = build(spec)
    name = wood.names[0]
    answer = FunctionBackend(lambda r: f"hold\nsay all: {HOSTILE[1]}")
    wood.policies[name] = LLMPolicy(answer, model="fake", backend_name="fake")
    fin = wood.financier
    assert fin is not None
    for text in HOSTILE[:3]:
        fin.submit(f"whisper {wood.names[1]} {text}")  # queued or refused: traced either way
    out = tmp_path / "hostile"
    run(spec, out, wood=wood)
    return out


def test_a_story_page_escapes_every_text(tmp_path, scenario_key):
    folder = _hostile_run(tmp_path, scenario_key)
    page = story(folder)
    assert "<script>" not in page and "<img" not in page and "${window" not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    assert "\x1b" not in page and "\x07" not in page
    decisions = [r for r in read_trace(folder) if r["kind"] == "decision"]
    assert page.count("data-wm='answer'") == len(decisions) > 0


def test_story_writes_one_page_or_one_line(tmp_path, capsys):
    out = tmp_path / "season.html"
    assert main(["story", str(SQUEEZE), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Pip bought 1 honey from Mossback" in page
    assert page.count("data-wm='answer'") == 30  # five creatures, six turns
    for args, message in [
        ([str(tmp_path / "nowhere"), "--out", str(out)], "nowhere: nothing there, not a run"),
        ([str(out), "--out", str(tmp_path / "s.html")], "a file there, not a run folder"),
        ([str(SQUEEZE), "--out", str(tmp_path)], "a folder is there"),
        ([str(SQUEEZE), "--out", str(tmp_path / "no" / "x.html")], "no folder"),
    ]:
        assert main(["story", *args]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1


@pytest.mark.browser
def test_a_story_page_requests_nothing_and_runs_nothing(tmp_path, scenario_key):
    sys.path.insert(0, str(Path(__file__).parent / "app"))
    from appkit import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "season.html"
    page_file.write_text(story(_hostile_run(tmp_path, scenario_key)), encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            asked: list[str] = []
            page.on("request", lambda r: asked.append(r.url))
            page.goto(page_file.as_uri())
            page.wait_for_load_state("load")
            assert asked == [page_file.as_uri()]  # the page itself, and nothing else
            assert page.evaluate("typeof window.__pwned") == "undefined"
            assert page.locator("img").count() == 0
            assert HOSTILE[0] in page.inner_text("body")  # shown as text
            assert page.locator("svg").count() == len(build(RunSpec.make(scenario_key)).goods)
        finally:
            browser.close()


def test_the_terminal_explains_the_squeeze_as_it_happens_and_recaps_the_season(tmp_path):
    """The fixture's game played again in the terminal: its creatures' recorded decisions, the
    player's moves typed at their turns; turn 3 says which trade forced the cover."""
    from woodmarket.play import Game
    from woodmarket.policies.replay import replay_policies
    from woodmarket.runner import run_json
    from woodmarket.traces import RunFolder

    spec = RunSpec.from_dict(json.loads((SQUEEZE / "run.json").read_text())).but(cast="standin")
    records = list(read_trace(SQUEEZE))
    names = records[0]["creatures"]
    wood = build(spec, policies=replay_policies(records, names))
    game = Game(wood, 6, RunFolder.create(tmp_path / "game", wood, run_json(spec)))
    moves = {1: ["short honey 8", "whisper Oona oona_run"], 3: ["spring oona_run"]}
    said = {}
    for turn in range(1, 7):
        for move in moves.get(turn, []):
            assert game.handle(move).startswith("queued")
        said[turn] = game.handle("next")
    assert "forced cover" not in said[2]
    flat = " ".join(said[3].split())
    assert "Pip bought 1 honey from Mossback at 20" in flat and "P&L -80" in flat
    end = " ".join(said[6].split())
    assert "The season, as the record tells it" in end
    assert "honey: 10 -> 10 -> 9 -> 20 -> 4 -> 3 -> 2" in end
    assert all(len(line) <= 100 for line in said[3].splitlines())
    assert game.done and game.folder is None  # the season over: its folder finished


@pytest.mark.parametrize("level", ["oona:hard", "reedmere:hard"])
def test_a_fine_is_explained_by_the_win_and_its_levers(tmp_path, level):
    from woodmarket.play import Game
    from woodmarket.runner import run_json
    from woodmarket.scenario import load_scenario
    from woodmarket.traces import RunFolder

    sc = load_scenario(level)
    g = sc.gambit("showcase")
    spec = RunSpec.make(level, seed=0, financier=True)
    wood = build(spec)
    game = Game(wood, spec.turns, RunFolder.create(tmp_path / "g", wood, run_json(spec)))
    fined = []
    plan = {1: [f"short {g.target} 12", sc.first_trade[1]], 2: [f"spring {g.legend.id} settle"]}
    for turn in range(1, 8):
        for move in plan.get(turn, []):
            game.handle(move)
        told = " ".join(game.handle("next").split())
        fined += [told] if "the magistrate fined you" in told else []
    game.quit()
    events = [r for r in read_trace(tmp_path / "g") if r.get("event") == "fined"]
    assert len(fined) == len(events) > 0
    assert "after your spring" in fined[0] and f"on {g.target}" in fined[0]
