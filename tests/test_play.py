"""The terminal game, driven like a player through a pseudo-terminal, and its replay.

Also the rewind: a game forked at a past turn into a new run folder, on
both bundled scenarios, by hand and through `Game.rewind`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pexpect
import pytest

from woodmarket.build import build
from woodmarket.errors import WoodmarketError
from woodmarket.financier.whispers import legends_of
from woodmarket.play import WIDTH, Game
from woodmarket.replay import replay
from woodmarket.runner import run_json
from woodmarket.spec import RunSpec
from woodmarket.traces import RunFolder, read_trace

PROMPT = "\r\n> "  # at a line start: headlines carry arrows like "9 -> 5"


def _spawn(tmp_path, *extra):
    out = tmp_path / "played"
    child = pexpect.spawn(
        sys.executable,
        ["-m", "woodmarket.cli", "play", "--seed", "2", "--out", str(out), *extra]
        + ([] if "--cast" in extra else ["--cast", "standin"]),
        encoding="utf-8",
        timeout=30,
        dimensions=(50, WIDTH),
        cwd=str(tmp_path),
    )
    child.expect_exact(PROMPT)
    return child, out


def _say(child, line):
    child.sendline(line)
    child.expect_exact(PROMPT)
    return child.before


def test_the_showcase_played_by_hand(tmp_path):
    child, out = _spawn(tmp_path)
    board = child.before
    assert "turn 0 of 15" in board and "objective: 140 pebbles by turn 12" in board
    assert "Oona" in board and "honey" in board and "toward you" in board
    assert "short honey 8" in _say(child, "help")
    said = _say(child, "f")  # the one-key first trade
    assert "short 8 honey at 10" in said and "whispered to Oona" in said
    assert "turn 1 of 15" in _say(child, "next")
    assert "The Run on Oona's Hoard is told" in _say(child, "spring oona_run")
    _say(child, "next")
    crash = _say(child, "next")
    assert "comes true" in crash and "Honey crashes" in crash
    assert "objective met" in crash
    assert "P&L +40" in _say(child, "cover honey")
    assert "refused: unknown good 'hony'" in _say(child, "short hony 3")
    assert "refused: unknown creature 'Oon'" in _say(child, "whisper Oon psst")
    assert "refused: nothing to cover" in _say(child, "cover acorns")
    assert "rumor whispered to Rusk" in _say(child, "whisper Rusk honey will soar")
    assert "Oona is the only creature who makes honey" in _say(child, "tips honey")
    _say(child, "next")  # the queued moves are made as turn 4 begins
    child.sendline("quit")
    child.expect_exact("run folder:")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    moves = [
        (r["turn"], r["command"], r["ok"])
        for r in read_trace(out)
        if r["kind"] == "financier" and r["source"] == "player"
    ]
    assert moves[:3] == [
        (1, "short honey 8", True),
        (1, "whisper Oona oona_run", True),
        (2, "spring oona_run", True),
    ]
    assert (4, "cover honey", True) in moves and (4, "short hony 3", False) in moves
    summary = json.loads((out / "summary.json").read_text())
    assert summary["financier"]["pnl"] == 40
    report = replay(out)
    assert report.ok and report.turns == 4


def test_the_season_ends_and_every_line_fits(tmp_path):
    child, out = _spawn(tmp_path, "--turns", "2")
    seen = child.before
    seen += _say(child, "next")
    child.sendline("next")
    child.expect_exact("The season is over.")
    child.expect(pexpect.EOF)
    seen += child.before
    wide = [line for line in seen.splitlines() if len(line.rstrip("\r")) > WIDTH]
    assert [line for line in wide if str(out) not in line] == []  # only the folder's path
    assert replay(out).ok


def test_end_of_input_leaves_cleanly(tmp_path):
    child, out = _spawn(tmp_path)
    _say(child, "short honey 2")
    child.sendeof()
    child.expect_exact("You leave the wood.")
    child.expect_exact("not made (the wood did not turn again): short honey 2")
    child.expect(pexpect.EOF)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stopped"] == "left after 0 of 15 turns"
    # A queued move is made only when a turn begins: none did, so none is on the record.
    assert [r for r in read_trace(out) if r["kind"] == "financier"] == []


def _played(tmp_path, lines, seed=1):
    spec = RunSpec.make("oona", seed=seed, turns=5, financier=True)
    wood = build(spec)
    folder = RunFolder.create(tmp_path / "game", wood, run_json(spec))
    game = Game(wood, 5, folder)
    replies = [game.handle(line) for line in lines]
    if not game.done:
        game.quit()  # closes the trace, as leaving the game does
    return game, folder.path, replies


def test_replay_runs_the_players_moves_again(tmp_path):
    lines = ["f", "next", "spring oona_run", "order buy acorns 3 5", "next", "next"]
    lines += ["cover honey", "whisper Pip berries will crash", "next", "quit"]
    game, out, replies = _played(tmp_path, lines)
    assert game.done and replies[-1].startswith("You leave the wood.")
    assert replay(out).ok
    # Change one recorded move: the replayed book no longer matches the record.
    path = out / "trace.jsonl"
    text = path.read_text().replace('"command":"short honey 8"', '"command":"short honey 4"')
    path.write_text(text)
    report = replay(out)
    assert not report.ok and report.mismatch_turn == 1
    assert "financier #1" in report.detail and "book" in report.detail


def test_the_board_shows_the_wood_and_the_scoreboard(tmp_path):
    game, _, replies = _played(tmp_path, ["f", "next", "board", "f"])
    board = replies[-2]
    lines = board.splitlines()
    assert all(len(line) <= WIDTH for line in lines)
    assert lines[0].startswith("== Oona's Wood: turn 1 of 5")
    for name in game.wood.names:
        assert any(line.startswith(name) for line in lines)
    assert "prices (last 6 turns" in board and "headlines" in board
    assert "short 8 honey: entry 10" in board and "tip (true)" in board
    assert "rank" in board and "free for margin" in board
    assert "first trade is made already" in replies[-1]


@pytest.mark.parametrize("line", ["", "   "])
def test_blank_lines_do_nothing(tmp_path, line):
    game, _, replies = _played(tmp_path, [line])
    assert replies == [""] and game.wood.turn == 0


@pytest.mark.models
def test_the_game_starts_on_the_bundled_council(tmp_path):
    """The default game: real models decide, the player's first trade goes through."""
    child, out = _spawn(tmp_path, "--cast", "council", "--turns", "2")
    child.timeout = 300
    assert "queued: short 8 honey" in _say(child, "f")
    _say(child, "next")
    child.sendline("quit")
    child.expect(pexpect.EOF)
    decisions = [r for r in read_trace(out) if r["kind"] == "decision"]
    assert len(decisions) == 5
    assert all(r["policy"] == "llm" and r["call"]["response"] for r in decisions)
    assert replay(out).ok


def test_a_turn_shows_who_is_still_thinking(tmp_path):
    import threading

    from woodmarket.types import Action

    release = threading.Event()

    class Slow:
        concurrent = True

        def __init__(self, wait: bool) -> None:
            self.wait = wait

        def decide(self, obs):
            if self.wait:
                release.wait(5)
            return Action()

    game, _, _ = _played(tmp_path, [])
    names = game.wood.names
    for i, n in enumerate(names):
        game.wood.policies[n] = Slow(wait=i == 0)
    shown: list[str] = []

    def show(text: str) -> None:
        shown.append(text)
        if text == f"thinking: {names[0]}":
            release.set()  # everyone else has answered; let the slow one go

    game.show = show
    game.done = False
    game.folder = None
    game.next_turn()
    assert shown[0] == "thinking: " + ", ".join(names)
    assert f"thinking: {names[0]}" in shown and shown[-1] == ""
    assert game.wood.on_decided == []


def test_the_patrons_levers_are_played_by_hand_and_replay(tmp_path):
    lines = ["help", "lend Pip 20 10 3", "bribe Oona 10 sell honey", "ally Rusk Birch"]
    lines += ["lend Pip 20 10 3", "bribe Oona 10 dance", "next", "board", "next", "quit"]
    _, out, replies = _played(tmp_path, lines)
    assert "lend CREATURE AMOUNT RATE TURNS" in replies[0] and "ally CREATURE" in replies[0]
    assert replies[1].startswith("queued for turn 1: loan offered to Pip: 20 pebbles at 10%")
    assert replies[2].startswith("queued for turn 1: bribe offered to Oona: 10 pebbles to sell")
    assert replies[3].startswith("queued for turn 1: pact offered to Rusk and Birch")
    assert replies[4] == "refused: a loan to Pip is already offered; one loan at a time"
    assert replies[5].startswith("refused: the ask is `sell GOOD`")
    board = replies[7]
    assert all(len(line) <= WIDTH for line in board.splitlines())
    assert "loan L1 to Pip: 20 at 10% a turn, owes 20 now, 26 due at turn 4" in board
    assert "bribe to Oona, turn 1: 10 to sell honey: complied" in board
    assert "pact: Birch and Rusk" in board and "magistrate's heat" in board
    assert replay(out).ok


def test_text_from_creatures_reaches_the_screen_escaped(tmp_path):
    from woodmarket.text import printable
    from woodmarket.types import Action, Gossip

    game, _, _ = _played(tmp_path, [])
    game.done, game.folder = False, None
    loud = game.wood.names[0]
    game.wood.policies[loud] = lambda obs: Action(gossip=Gossip("all", "boo\x1b[2J\x07 ha\r"))
    board = game.next_turn()
    # Gossip must be one printable line: the escape never left the creature.
    assert "\x1b" not in board and "\x07" not in board and "\r" not in board
    (decision,) = [
        r for r in game.last.records if r["kind"] == "decision" and r["creature"] == loud
    ]
    assert not decision["valid"] and "printable" in decision["reason"]
    said = game.handle("whisper Nobody \x1b[31mred")
    assert "\x1b" not in said and said.startswith("refused: unknown creature")
    assert printable("boo\x1b[2J\x07 ha\r") == "boo\\x1b[2J\\x07 ha\\r"


# -- rewinding ------------------------------------------------------------


def lines_before(folder: Path, at: int) -> list[str]:
    """A trace's lines of the turns before `at`, as written."""
    text = (folder / "trace.jsonl").read_text(encoding="utf-8").splitlines()
    return [line for line in text if json.loads(line)["turn"] < at]


def moves_from(folder: Path, at: int) -> list[tuple[int, str, str, bool]]:
    """The financier's records from turn `at` on: (turn, command, source, ok)."""
    return [
        (r["turn"], r["command"], r["source"], r["ok"])
        for r in read_trace(folder)
        if r["kind"] == "financier" and r["turn"] >= at
    ]


def _game(tmp_path, key="oona", turns=6, seed=1, folder=True):
    spec = RunSpec.make(key, seed=seed, turns=turns, financier=True)
    wood = build(spec)
    run = RunFolder.create(tmp_path / "game", wood, run_json(spec)) if folder else None
    return Game(wood, turns, run)


def test_a_rewound_game_plays_on_from_a_past_turn_and_both_replay(tmp_path, scenario_key):
    game = _game(tmp_path, scenario_key)
    for line in ["f", "next", "next", "next"]:
        game.handle(line)
    good = game.wood.goods[0]
    assert game.handle(f"short {good} 1").startswith("queued for turn 4")
    parent = game.path
    branch = game.rewind(2)
    # The game left is finished, its summary saying why; the branch is the wood after turn 1.
    assert game.done and game.folder is None
    summary = json.loads((parent / "summary.json").read_text())
    assert summary["stopped"] == "left after 3 of 6 turns for a rewind to turn 2"
    assert branch.path == tmp_path / "game-at2" and branch.fork is not None
    assert (branch.fork.at, branch.fork.path) == (2, "../game")
    assert branch.wood.turn == 1 and branch.fin.queued() == []  # the queued short dropped
    assert lines_before(branch.path, 2) == lines_before(parent, 2)
    assert "first trade is made already" in branch.handle("f")  # it was, in turn 1
    legend = legends_of(branch.wood)[0].id
    assert branch.handle(f"spring {legend} settle").startswith("queued for turn 2")
    branch.handle("next")
    # Only the move typed in the branch: the parent's from turn 2 on are not made again.
    assert moves_from(branch.path, 2) == [(2, f"spring {legend} settle", "player", True)]
    # A rewind of the rewind: a fork of a fork, beside the others.
    again = branch.rewind(1)
    assert again.path == tmp_path / "game-at1" and again.wood.turn == 0
    meta = json.loads((again.path / "run.json").read_text())
    assert meta["fork"]["at"] == 1 and meta["fork"]["parent"]["fork"]["at"] == 2
    again.handle("next")
    again.quit()
    assert lines_before(again.path, 1) == lines_before(parent, 1)
    for folder in (parent, branch.path, again.path):
        report = replay(folder)
        assert report.ok, (folder, report.line())
    assert json.loads((branch.path / "summary.json").read_text())["turns"] == 2


def test_a_finished_season_can_be_rewound(tmp_path):
    game = _game(tmp_path, turns=3)
    for _ in range(3):
        game.handle("next")
    assert game.over and game.done and game.folder is None
    branch = game.rewind(3)  # play the last turn again
    assert branch.wood.turn == 2 and not branch.done
    assert "The season is over." in branch.handle("next")
    assert lines_before(branch.path, 3) == lines_before(game.path, 3)
    assert replay(game.path).passed and replay(branch.path).passed


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("rewind", "usage: rewind TURN, the number of a turn played, not ''"),
        ("rewind x", "not 'x'"),
        ("rewind 1 2", "not '1 2'"),
        ("rewind -1", "not '-1'"),
        ("rewind ²", "not '²'"),
        ("rewind 1.5", "not '1.5'"),
        ("rewind \x1b[2J", "not '\\x1b[2J'"),
        ("rewind " + "9" * 5000, "not '99999"),
        ("rewind 0", "cannot rewind to turn 0: pick a turn played, from 1 to 2"),
        ("rewind 3", "cannot rewind to turn 3: pick a turn played, from 1 to 2"),
        ("rewind 999999999", "from 1 to 2"),
    ],
)
def test_a_bad_rewind_is_one_line_and_changes_nothing(tmp_path, line, said):
    game = _game(tmp_path)
    game.handle("next")
    game.handle("next")
    game.handle("short honey 1")
    reply = game.handle(line)
    assert reply.startswith("refused: ") and said in reply and "\n" not in reply, reply
    assert "\x1b" not in reply and len(reply) <= WIDTH
    assert not game.done and game.rewound is None and game.wood.turn == 2
    assert game.fin.queued() == ["short honey 1"]
    assert not (tmp_path / "game-at1").exists() and not (tmp_path / "game-at2").exists()
    game.handle("next")
    game.quit()
    assert replay(game.path).ok


def test_a_rewind_is_refused_before_a_turn_without_a_folder_or_onto_a_full_one(tmp_path):
    game = _game(tmp_path)
    with pytest.raises(WoodmarketError, match="no turn has been played yet"):
        game.rewind(1)
    game.handle("next")
    for turn in (True, "1", 1.0, 2):
        with pytest.raises(WoodmarketError, match="pick a turn played, from 1 to 1"):
            game.rewind(turn)  # type: ignore[arg-type]
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("")
    with pytest.raises(WoodmarketError, match="not empty"):
        game.rewind(1, full)
    assert not game.done and game.folder is not None
    unrecorded = _game(tmp_path / "bare", folder=False)
    unrecorded.handle("next")
    with pytest.raises(WoodmarketError, match="keeps no run folder"):
        unrecorded.rewind(1)
    unrecorded.quit()
    game.quit()
    assert replay(game.path).ok


def test_a_game_rewound_by_hand(tmp_path):
    """Three turns, back to turn 2, the legend sprung a turn earlier; both runs replay."""
    child, out = _spawn(tmp_path, "--turns", "6")
    assert "rewind TURN" in _say(child, "help")
    _say(child, "f")
    for _ in range(3):
        _say(child, "next")
    assert "refused: cannot rewind to turn 4" in _say(child, "rewind 4")
    assert "refused: usage: rewind TURN" in _say(child, "rewind two")
    _say(child, "short acorns 1")
    said = _say(child, "rewind 2")
    branch = tmp_path / "played-at2"
    assert "turn 1 of 6" in said and "the next turn is 2" in said
    assert f"run folder: {branch}, a branch of {out}" in said
    assert "dropped (they were for the wood you left): short acorns 1" in said
    assert "The Run on Oona's Hoard is told" in _say(child, "spring oona_run settle")
    assert "turn 2 of 6" in _say(child, "next")
    child.sendline("quit")
    child.expect_exact(f"run folder: {branch}")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    stopped = json.loads((out / "summary.json").read_text())["stopped"]
    assert stopped == "left after 3 of 6 turns for a rewind to turn 2"
    assert lines_before(branch, 2) == lines_before(out, 2)
    assert moves_from(branch, 2) == [(2, "spring oona_run settle", "player", True)]
    assert replay(out).ok and replay(branch).ok
