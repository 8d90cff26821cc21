"""Worlds: parsing, the article's table, control arms, move arms, clear errors for unknown names."""

from __future__ import annotations

import pytest

from woodmarket import councils
from woodmarket.errors import ScenarioError, WoodmarketError
from woodmarket.experiments.worlds import (
    Trunk,
    World,
    arms_of,
    check_casts,
    expand,
    load_worlds_file,
    parse_world,
    shorts,
    sized_script,
    with_arms,
    with_controls,
)

NAMES = ("Oona", "Mossback", "Birch", "Pip", "Rusk")


@pytest.mark.parametrize(
    ("text", "world"),
    [
        ("council:glut", World(councils.DEFAULT, "glut")),
        ("council2:glut", World("council2", "glut")),
        ("single:gemma3:rumor", World("single:gemma3", "rumor")),
        ("standin:settle:16", World("standin", "settle", 16)),
        ("single:smollm2:none:4", World("single:smollm2", "none", 4)),
        ("casts/mine.toml:glut", World("casts/mine.toml", "glut")),
    ],
)
def test_a_world_is_a_cast_a_mechanism_and_maybe_a_short(text, world):
    assert parse_world(text) == world
    assert parse_world(world.label) == world
    assert all(c.isalnum() or c in "-_" for c in world.slug)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("council:crash", "unknown mechanism 'crash'"),
        ("council", "expected CAST:MECHANISM"),
        (":glut", "no cast"),
        ("standin:glut:0", "size must be >= 1"),
    ],
)
def test_a_bad_world_is_one_clear_error(text, message):
    with pytest.raises(WoodmarketError, match=message):
        parse_world(text)


def test_the_article_table_gets_a_control_arm_per_cast():
    worlds = with_controls(expand(["article"]))
    labels = [w.label for w in worlds]
    for cast in ("single:smollm2", "single:gemma3", "single:qwen", councils.DEFAULT, "standin"):
        assert f"{cast}:none" in labels
        assert labels.index(f"{cast}:none") < min(
            i for i, w in enumerate(worlds) if w.cast == cast and w.mechanism != "none"
        )
    every = {"none", "rumor", "glut", "settle"}
    assert {w.mechanism for w in worlds if w.cast == "standin"} == every
    assert {w.mechanism for w in worlds if w.cast == councils.DEFAULT} == every
    assert len(labels) == len(set(labels)) == 14


def test_sized_worlds_have_sized_controls():
    worlds = with_controls(shorts(expand(["standin:glut"]), [8, 16]))
    assert [w.label for w in worlds] == [
        "standin:none:8", "standin:glut:8", "standin:none:16", "standin:glut:16",
    ]  # fmt: skip


def test_a_worlds_file(tmp_path):
    path = tmp_path / "worlds.toml"
    path.write_text(
        '[[world]]\ncast = "council"\nmechanism = "glut"\n\n'
        '[[world]]\ncast = "standin"\nmechanism = "settle"\nshort = 16\n'
    )
    assert expand([str(path)]) == [World("council", "glut"), World("standin", "settle", 16)]
    path.write_text('[[world]]\ncast = "council"\nmechanism = "boil"\n')
    with pytest.raises(ScenarioError, match=r"world\[0\]\.mechanism"):
        load_worlds_file(path)
    with pytest.raises(ScenarioError, match="none there"):
        load_worlds_file(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("world", "message"),
    [
        (World("bogus", "glut"), "unknown cast"),
        (World("single:gpt9", "rumor"), "unknown model 'gpt9'"),
        (World("replay:runs/x", "rumor"), "cannot replay"),
    ],
)
def test_unknown_casts_and_models_are_refused_before_any_run(world, message):
    with pytest.raises(WoodmarketError, match=message):
        check_casts([world], NAMES)


def test_resizing_the_short_rewrites_only_the_short():
    script = {1: ("short honey 8", "whisper Oona oona_run"), 2: ("spring oona_run",)}
    assert sized_script(script, 16) == {
        1: ("short honey 16", "whisper Oona oona_run"),
        2: ("spring oona_run",),
    }
    assert sized_script(script, None) == script


def test_move_arms_are_siblings_of_each_world_paired_with_it():
    arms = arms_of(["cover-early:3:cover honey", "late:3:spring oona_run", "late:4:cover honey"])
    assert arms == {
        "cover-early": ((3, ("cover honey",)),),
        "late": ((3, ("spring oona_run",)), (4, ("cover honey",))),
    }
    worlds = with_controls(with_arms(expand(["council2:settle", "standin:glut:16"]), arms))
    assert [w.label for w in worlds] == [
        "council2:none", "council2:settle", "council2:settle+cover-early", "council2:settle+late",
        "standin:none:16", "standin:glut:16", "standin:glut:16+cover-early",
        "standin:glut:16+late",
    ]  # fmt: skip
    armed = worlds[2]
    assert (
        armed.control == World("council2", "settle") and armed.slug == "council2-settle-cover-early"
    )
    assert World.from_dict(armed.to_dict()) == armed
    assert World("council2", "glut").to_dict() == {
        "cast": "council2",
        "mechanism": "glut",
        "short": None,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("early", "expected NAME:TURN:COMMAND"),
        ("early:three:cover honey", "expected NAME:TURN:COMMAND"),
        ("a b:3:cover honey", "expected NAME:TURN:COMMAND"),
        ("early:3:", "no command after the turn"),
    ],
)
def test_a_bad_arm_is_one_clear_error(text, message):
    with pytest.raises(WoodmarketError, match=message):
        arms_of([text])


def test_a_worlds_file_names_a_move_arm_as_a_gambit_writes_moves(tmp_path):
    path = tmp_path / "worlds.toml"
    path.write_text(
        '[[world]]\ncast = "council"\nmechanism = "settle"\narm = "cover-early"\n'
        'moves = [{ turn = 3, commands = ["cover honey"] }]\n'
    )
    assert expand([str(path)]) == [
        World("council", "settle", None, "cover-early", ((3, ("cover honey",)),))
    ]
    path.write_text('[[world]]\ncast = "council"\nmechanism = "settle"\narm = "x"\n')
    with pytest.raises(ScenarioError, match=r"world\[0\]\.moves"):
        load_worlds_file(path)
    path.write_text(
        '[[world]]\ncast = "council"\nmechanism = "settle"\narm = "x"\n'
        'moves = [{ turn = 0, commands = ["cover honey"] }]\n'
    )
    with pytest.raises(ScenarioError, match=r"world\[0\]\.moves\[0\]\.turn"):
        load_worlds_file(path)


def test_a_trunk_is_named_by_what_its_arms_share():
    assert Trunk("council").label == "trunk council:*" and Trunk("council").slug == "council"
    assert Trunk("standin", 16, "settle").slug == "standin-settle-16"
