"""Gambits: scenario data, checked at load, run from the CLI, rebuilt from run.json by replay."""

from __future__ import annotations

import json

import pytest

from woodmarket.cli import main
from woodmarket.errors import ActionError, ScenarioError
from woodmarket.replay import replay
from woodmarket.scenario import bundled_scenarios, load_scenario, parse_scenario
from woodmarket.traces import read_trace

KEYS = bundled_scenarios()


def test_the_showcase_is_short_whisper_spring_cover():
    s = load_scenario("oona")
    g = s.gambit("showcase")
    script = g.script("settle")
    assert script == {
        1: ("short honey 8", "whisper Oona oona_run"),
        2: ("spring oona_run",),
        4: ("cover honey",),
    }
    assert (g.spring_turn, g.reckoning, g.target) == (2, 3, "honey")
    assert g.legend is s.legend("oona_run")
    assert max(script) > g.reckoning  # the cover comes after the settlement
    assert script[1] == s.first_trade
    assert g.script("none") == {1: script[1], 4: script[4]}
    with pytest.raises(ActionError, match="unknown gambit 'bogus'; gambits are showcase"):
        s.gambit("bogus")


@pytest.mark.parametrize("key", KEYS)
def test_every_gambit_names_a_real_legend_and_springs_it(key):
    s = load_scenario(key)
    assert s.gambits and s.gambit("showcase")
    for g in s.gambits:
        legend = g.legend
        assert legend in s.legends and g.target in s.good_names
        moves = [m for _, ms in g.moves for m in ms]
        assert f"spring {legend.id}" in moves
        assert any(m.startswith(f"short {legend.target} ") for m in moves)
        assert any(m == f"cover {legend.target}" for m in moves)
        # The cover comes after the reckoning's settlement, where a `settle` legend lands.
        cover = next(t for t, ms in g.moves if f"cover {legend.target}" in ms)
        assert g.spring_turn < g.reckoning < cover


@pytest.mark.parametrize("key", KEYS)
def test_the_first_trade_is_the_showcases_opening(key):
    s = load_scenario(key)
    assert s.first_trade == dict(s.gambit("showcase").moves)[1]


def _with(key: str, extra: str) -> str:
    return load_scenario(key).text + "\n" + extra


@pytest.mark.parametrize(
    ("extra", "key", "expected"),
    [
        (
            '[gambits.g]\nlegend = "oona_run"\nmoves = [{ turn = 1, commands = '
            '["spring oona_run", "whisper Ona oona_run"] }]',
            "gambits.g.moves[0].commands[1]",
            "unknown creature 'Ona'; creatures are Oona, Mossback, Birch, Pip, Rusk",
        ),
        (
            '[gambits.g]\nlegend = "oona_run"\nmoves = [{ turn = 1, commands = '
            '["short gold 3", "spring oona_run"] }]',
            "gambits.g.moves[0].commands[0]",
            "unknown good 'gold'",
        ),
        (
            '[gambits.g]\nlegend = "gold_rush"\nmoves = [{ turn = 1, commands = ["spring x"] }]',
            "gambits.g.legend",
            "a legend of this scenario",
        ),
        (
            '[gambits.g]\nlegend = "oona_run"\nmoves = [{ turn = 1, commands = ["cover honey"] }]',
            "gambits.g.moves",
            "springs the gambit's legend",
        ),
        (
            '[gambits.g]\nlegend = "oona_run"\nmoves = [{ turn = 1, commands = '
            '["spring oona_run", "order buy honey 11 9"] }]',
            "gambits.g.moves[0].commands[1]",
            "quantity 11 above the limit of 10",
        ),
        (
            '[gambits.g]\nlegend = "oona_run"\nmoves = [{ turn = 1, commands = '
            '["spring oona_run", "dance honey"] }]',
            "gambits.g.moves[0].commands[1]",
            "unknown command 'dance honey'; commands: short, cover, order, whisper, spring, "
            "lend, bribe, ally",
        ),
        (
            '[gambits.g]\nlegend = "oona_run"\nmoves = [{ turn = 1, commands = '
            '["spring oona_run", "whisper Pip oona_run.9"] }]',
            "gambits.g.moves[0].commands[1]",
            "no tip 'oona_run.9'",
        ),
        (
            '[gambits.g]\nlegend = "oona_run"\nmoves = [{ turn = 2, commands = '
            '["spring oona_run"] }, { turn = 1, commands = ["cover honey"] }]',
            "gambits.g.moves[1].turn",
            "a turn after the previous move's",
        ),
    ],
)
def test_a_gambit_naming_what_the_scenario_lacks_fails_to_load(extra, key, expected):
    with pytest.raises(ScenarioError) as err:
        parse_scenario(_with("oona", extra), "oona.toml", load_scenario("oona").files)
    assert err.value.key == key
    assert expected in str(err.value)
    assert str(err.value).startswith(f"oona.toml: key '{key}': ")


def test_the_first_trade_is_checked_like_a_gambit():
    s = load_scenario("oona")
    text = s.text.replace('"whisper Oona oona_run"]', '"spring nope"]', 1)
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text, "oona.toml", s.files)
    assert err.value.key == "financier.first_trade[1]"
    assert "unknown legend 'nope'; legends are" in str(err.value)


def _run(tmp_path, *extra, name="run"):
    out = tmp_path / name
    code = main(["run", "--turns", "6", "--seed", "2", "--out", str(out), *extra])
    return code, out


def test_run_with_a_gambit_records_every_move_and_replays(tmp_path, capsys):
    code, out = _run(tmp_path, "--gambit", "showcase", "--mechanism", "settle")
    assert code == 0
    printed = capsys.readouterr().out
    assert "financier: 140 pebbles, gambit P&L +40" in printed
    meta = json.loads((out / "run.json").read_text())
    assert (meta["gambit"], meta["mechanism"]) == ("showcase", "settle")
    records = list(read_trace(out))
    moves = [(r["turn"], r["command"]) for r in records if r["kind"] == "financier"]
    assert moves == [
        (1, "short honey 8"),
        (1, "whisper Oona oona_run"),
        (2, "spring oona_run"),
        (4, "cover honey"),
    ]
    assert all(r["source"] == "gambit" and r["ok"] for r in records if r["kind"] == "financier")
    assert [r["event"] for r in records if r["kind"] == "legend"] == ["sprung", "settled"]
    assert main(["replay", str(out)]) == 0
    assert "all 6 turns match" in capsys.readouterr().out


@pytest.mark.parametrize("key", KEYS)
def test_each_scenarios_showcase_runs_every_move_and_replays(tmp_path, capsys, key):
    code, out = _run(tmp_path, "--scenario", key, "--gambit", "showcase", "--mechanism", "settle")
    assert code == 0
    records = list(read_trace(out))
    moves = [r for r in records if r["kind"] == "financier"]
    wanted = [c for _, cs in load_scenario(key).gambit("showcase").moves for c in cs]
    assert [r["command"] for r in moves] == wanted
    assert all(r["ok"] for r in moves), moves
    assert main(["replay", str(out)]) == 0


def test_replay_rebuilds_the_gambit_from_run_json(tmp_path, capsys):
    _, out = _run(tmp_path, "--gambit", "showcase", "--mechanism", "settle")
    meta = json.loads((out / "run.json").read_text())
    meta["mechanism"] = "rumor"  # a different world: the replay must notice
    (out / "run.json").write_text(json.dumps(meta))
    report = replay(out)
    # The legend is sprung on turn 2 with another mechanism: its record differs there first.
    assert not report.ok and report.mismatch_turn == 2
    assert "legend" in report.detail and "mechanism" in report.detail


def test_run_refuses_a_bad_gambit_or_a_lone_mechanism(tmp_path, capsys):
    code, _ = _run(tmp_path, "--gambit", "bogus", name="a")
    assert code == 2
    assert "unknown gambit 'bogus'" in capsys.readouterr().err
    code, _ = _run(tmp_path, "--mechanism", "glut", name="b")
    assert code == 2
    assert "add --gambit NAME" in capsys.readouterr().err


def test_whisper_chars_bounds_free_whispers_at_load_and_in_play():
    from woodmarket.financier import Financier
    from woodmarket.wood import Wood

    s = load_scenario("oona")
    long = "honey " * 10
    text = s.text.replace(
        "objective_turn = 12", "objective_turn = 12\nwhisper_chars = 300", 1
    ).replace('"whisper Oona oona_run"]', f'"whisper Oona {long.strip()}"]', 1)
    assert parse_scenario(text, s.path, s.files).first_trade[1].startswith("whisper Oona honey")
    tight = text.replace("whisper_chars = 300", "whisper_chars = 40")
    with pytest.raises(ScenarioError) as err:
        parse_scenario(tight, "oona.toml", s.files)
    # The legends' own tips are longer than 40 characters: the first legend file fails.
    assert "at most 40 characters" in str(err.value) and err.value.path.endswith(".toml")
    fin = Financier.attach(Wood(s, 0))
    assert fin.submit(f"whisper Pip {'x' * 300}").ok
    refused = fin.submit(f"whisper Pip {'x' * 301}")
    assert not refused.ok and "at most 300 characters" in refused.message


def test_commands_are_read_as_the_financier_reads_them():
    s = load_scenario("oona")
    text = s.text.replace('commands = ["spring oona_run"]', 'commands = ["Spring  oona_run"]', 1)
    g = parse_scenario(text, s.path, s.files).gambit("showcase")
    assert g.moves == s.gambit("showcase").moves and g.spring_turn == 2
