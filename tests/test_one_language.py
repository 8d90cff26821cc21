"""One command language: the terminal and the web app give the same verdict in the same words.

The same hostile moves, typed as lines in the terminal (`play.Game`) and
sent as form fields from the web app (`Session.form`), on both bundled
scenarios. The fields are laid out here by hand from the verbs' fields,
not by the parser, so a difference between the two paths shows. And a
verb added to the language appears in the help, the unknown-command
reply, the first trade's hint and the app's forms, with nothing else
changed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from toyverb import Hedge

from woodmarket.app.session import Sessions
from woodmarket.build import build
from woodmarket.commands import VERBS, Command, parse_command, register, unregister
from woodmarket.play import Game, help_text, hint
from woodmarket.scenario import load_scenario, parse_scenario
from woodmarket.spec import RunSpec

HERE = Path(__file__).parent


def hostile(wood) -> list[str]:
    """Moves a player might type, most of them wrong, in the words of this wood."""
    good, other = wood.goods[0], wood.goods[1]
    who, second = wood.names[0], wood.names[1]
    legend = wood.scenario.legends[0].id
    return [
        f"short {good} ²",
        f"short {good} 0",
        f"short {good} 9999999",
        f"short {good} -3",
        "short hony 3",
        f"short {good}",
        f"cover {good}",
        f"order steal {good} 1 5",
        f"order buy {good} 1 0",
        f"order buy {good} 999 5",
        f"order sell {other} 1 1",
        "whisper Nobody psst",
        f"whisper {who} ²",
        f"whisper {who} {legend}.9",
        f"whisper {who} {legend}.x",
        f"whisper {who} a\x1bb",
        f"whisper {who} a\u200bb",
        f"whisper {who} " + "x" * 400,
        f"whisper {who.upper()} 99",
        "spring nope",
        f"spring {legend} fire",
        "lend Nobody 10 10 2",
        f"lend {who} ten 10 2",
        f"lend {who} 10 101 2",
        f"lend {who} 10 10 0",
        f"lend {who} 100000 10 2",
        f"bribe {who} 5 steal {good}",
        f"bribe {who} 5 sell gold",
        f"bribe {who} x sell {good}",
        f"bribe {who} 5 sell",
        f"bribe {who} 5 gossip <script>alert(1)</script>",
        f"bribe {who} 5 gossip " + "w" * 81,
        f"ally {who} {who.lower()}",
        f"ally {who} Nobody<b>",
        f"ally {who}",
        # and some that hold, so the verdicts are not all alike
        f"short {good} 2",
        f"whisper {second} 1",
        f"whisper {second} the {good} will fall",
        f"spring {legend} settle",
        f"bribe {second} 5 gossip prices fall",
        f"lend {second} 10 10 2",
        f"ally {who} {second}",
        f"cover {good}",
    ]


def form_fields(line: str) -> tuple[str, dict[str, str]]:
    """A typed line as a visitor would fill the verb's form, field by field."""
    verb, *words = line.split(" ")
    if verb == "whisper":
        return verb, {"creature": words[0], "tip": " ".join(words[1:])}
    if verb == "spring":
        return verb, {"legend": words[0], "mechanism": " ".join(words[1:])}
    if verb == "bribe":
        ask, rest = (words[2:3] or [""])[0], " ".join(words[3:])
        fields = {"creature": words[0], "amount": words[1], "ask": ask}
        return verb, fields | ({"words": rest} if ask == "gossip" else {"good": rest})
    return verb, dict(zip((f.name for f in VERBS[verb].fields), words, strict=False))


@pytest.fixture
def seated(tmp_path, scenario_key) -> Iterator[tuple[Game, object]]:
    sessions = Sessions(cap=1, runs=tmp_path / "runs", scenario=scenario_key)
    session = sessions.seat("a", scenario=scenario_key)
    game = Game(build(RunSpec.make(scenario_key, financier=True)), 15)
    yield game, session
    sessions.close_all()


def test_the_terminal_and_the_app_refuse_alike(seated):
    game, session = seated
    lines = hostile(game.wood)
    for line in lines:
        typed = game.handle(line)
        verb, fields = form_fields(line)
        sent = session.form(verb, fields)
        # The record format is the line: the app's is the canonical one, so only the
        # turn's prefix and the verdict are compared for accepted moves.
        if typed.startswith("refused: "):
            assert sent == typed, line
        else:
            assert sent.startswith("queued for turn 1: "), (line, sent)
            assert sent == typed, line
    refused = sum(game.handle(x).startswith("refused") for x in [lines[0], lines[-2]])
    assert refused == 2  # the same move twice: a second short, a second spring, refused


def test_a_form_field_longer_than_any_command_is_refused_as_typed(seated):
    game, session = seated
    line = f"short {game.wood.goods[0]} " + "9" * 2000
    assert session.form(*form_fields(line)) == game.handle(line)


@pytest.fixture
def toy() -> Iterator[type[Command]]:
    register(Hedge)
    yield Hedge
    unregister("hedge")


def test_a_new_verb_is_found_everywhere(toy, tmp_path, scenario_key):
    wood = build(RunSpec.make(scenario_key, financier=True))
    good = wood.goods[0]
    game = Game(wood, 15)
    assert "hedge GOOD QTY" in help_text(()) and "a toy short" in help_text(())
    assert "hedge" in game.handle("dance")  # the unknown-command reply lists it
    assert parse_command(f"HEDGE {good} 3") == Hedge(good, 3)
    assert game.handle(f"hedge {good} 3") == f"queued for turn 1: hedged 3 {good} at " + str(
        wood.prices[good]
    )
    game.handle("next")
    assert game.fin.positions[good].qty == 3  # made in the events phase, by the verb
    # A scenario may open with it, checked as its file loads; the hint follows its plan.
    sc = load_scenario(scenario_key)
    first = sc.first_trade[0]
    text = sc.text.replace(f'"{first}"', f'"hedge {good} 4"', 1)
    mine = parse_scenario(text, sc.path, sc.files)
    assert mine.first_trade[0] == f"hedge {good} 4"
    with pytest.raises(Exception, match="unknown good 'gold'"):
        parse_scenario(text.replace(f"hedge {good} 4", "hedge gold 4"), sc.path, sc.files)
    played = Game(build(RunSpec.make(mine, financier=True)), 15)
    played.handle("f")
    played.handle("next")  # the hedge is made: its plan's cover is open now
    assert f"`cover {good}` after it lands" in hint(played.fin)
    # The web app draws a form for it and builds the move from its fields.
    sessions = Sessions(cap=1, runs=tmp_path / "runs", scenario=scenario_key)
    try:
        s = sessions.seat("a", scenario=scenario_key)
        assert s.form("hedge", {"good": good, "qty": "2"}).startswith("queued")
        assert s.form("hedge", {"good": good, "qty": "²"}) == game.handle(f"hedge {good} ²")
    finally:
        sessions.close_all()
    # The page, built where the toy verb is registered (in a process of its own:
    # Gradio's page keeps an event loop of its own), has a form for it.
    code = (
        "import toyverb\n"
        "from woodmarket.commands import register\n"
        "register(toyverb.Hedge)\n"
        "from woodmarket.app.session import Sessions\n"
        "from woodmarket.app.ui import build\n"
        "page = build(Sessions(cap=1))\n"
        "print(sorted(str(getattr(b, 'elem_id', '')) for b in page.blocks.values()))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path])}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    for elem in ("'wm-hedge'", "'wm-hedge-good'", "'wm-hedge-qty'", "'wm-short'"):
        assert elem in out.stdout
