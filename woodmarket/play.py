"""The terminal game: the financier's loop in plain text over stdin and stdout.

This room draws the wood (creatures, stores, mood, feelings toward the
financier, prices with a short history, headlines, gossip, the
scoreboard) and turns typed lines into financier moves or turns. A move
is checked and queued (`Financier.submit`) and made when the next turn
begins. It changes the wood only through `Financier.submit` and
`wood.step`, and writes the run folder like `woodmarket run` does, so
`woodmarket replay` can re-run a played game. A game can be rewound
(`Game.rewind`, the word `rewind TURN`): its run folder is finished and
forked at a past turn (`fork.plan_fork`, `fork.open_fork`) into a new
one, where the player goes on; the web app's Rewind is the same call.
Lines fit in 100 columns; text from creatures and the player is shown
escaped (no terminal escape, bell or control character reaches the
screen).
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from woodmarket.build import build
from woodmarket.commands import VERBS, follow_ups, parse_command
from woodmarket.errors import ActionError, WoodmarketError
from woodmarket.financier import FINANCIER, MAINTENANCE_PCT, Financier, ceil_pct
from woodmarket.financier.whispers import legends_of
from woodmarket.fork import Forked, Parent, open_fork, plan_fork
from woodmarket.memory import bucket
from woodmarket.metrics import Tracker
from woodmarket.recap import Recap, explain, recap
from woodmarket.runner import out_folder, run_json, stop_between_turns, summary_of
from woodmarket.spec import Fork, RunSpec
from woodmarket.state import TurnState, WoodState
from woodmarket.text import printable
from woodmarket.traces import RunFolder, read_trace
from woodmarket.types import Sampling
from woodmarket.wood import Wood

WIDTH = 100
HISTORY_SHOWN = 6

# The game's own words, beside the financier's commands: (word, arguments, what it does).
GAME_WORDS = (
    ("f", "", "the first trade: {first}"),
    ("tips", "[GOOD]", "the true tips you can whisper"),
    ("legends", "", "the legends you can spring"),
    ("board", "", "show the wood again"),
    ("next", "", "let the turn run (also: n)"),
    (
        "rewind",
        "TURN",
        "go back: play on from a past turn TURN in a new run folder, a branch of this "
        "one (queued moves are dropped; both runs replay)",
    ),
    ("help", "", "this text (also: ?)"),
    ("quit", "", "leave the game (also: q)"),
)
ALIASES = {"n": "next", "?": "help", "q": "quit"}


def help_text(first: tuple[str, ...]) -> str:
    """Every command: the financier's verbs (read off the language), then the game's words."""
    done = " and ".join(first) or "(none here)"
    rows = [(cls.usage, cls.summary) for cls in VERBS.values()]
    rows += [(f"{word} {args}".strip(), what.format(first=done)) for word, args, what in GAME_WORDS]
    width = max(len(usage) for usage, _ in rows) + 2
    lines = ["Commands (one per line); moves are made when the next turn begins:"]
    for usage, what in rows:
        said = textwrap.wrap(what, WIDTH - 2 - width) or [""]
        lines.append(f"  {usage:<{width}}{said[0]}")
        lines += [" " * (2 + width) + more for more in said[1:]]
    return "\n".join(lines)


def game_words() -> str:
    return "and in the game: " + ", ".join(word for word, _, _ in GAME_WORDS)


def first_trade(wood: WoodState) -> tuple[str, ...]:
    """The scenario's one-click first trade (`[financier] first_trade`)."""
    return wood.scenario.first_trade


def hint(fin: Financier) -> str:
    """The first trade's next steps that are still open: its legend told, its short covered."""
    first = [parse_command(m) for m in first_trade(fin.wood)]
    ahead = fin.queued_commands()
    steps = []
    for command in follow_ups(first, fin.lexicon):
        try:
            command.check(fin, ahead)
        except ActionError:
            continue  # already told, already covered
        when = " after it lands" if command.covers() is not None else ""
        steps.append(f"`{command.line()}`{when}")
    return f" Then {', and '.join(steps)}." if steps else ""


class Game:
    """One played wood: reads command lines, returns what to print."""

    def __init__(
        self,
        wood: Wood,
        turns: int,
        folder: RunFolder | None = None,
        *,
        tracker: Tracker | None = None,
        fork: Fork | None = None,
    ) -> None:
        """`tracker`: one that saw turns the wood made already (a fork's rebuilt
        past), so the summary counts them; `fork`: where this game branched, if it did."""
        self.wood = wood
        self.turns = turns
        self.folder = folder
        # The run folder's place, kept once it is finished (a finished game can be rewound).
        self.path: Path | None = folder.path if folder is not None else None
        self.fork = fork
        self.fin = Financier.of(wood)
        if tracker is None:
            tracker = Tracker(wood)
            wood.listeners.append(tracker)
        self.tracker = tracker
        self.last: TurnState | None = None
        self.done = False
        # Moves made in past turns, as typed (the first trade is offered once).
        self.played: set[str] = set()
        # Where to show who is still thinking while a turn runs (a terminal), if anywhere.
        self.show: Callable[[str], None] | None = None
        # The game a `rewind` line went on in: the terminal's loop plays that one next.
        self.rewound: Game | None = None

    @property
    def over(self) -> bool:
        return self.wood.turn >= self.turns

    def handle(self, line: str) -> str:
        """Carry out one line; sets `done` when the player leaves or the season ends."""
        words = line.split()
        if not words:
            return ""
        verb = ALIASES.get(words[0].lower(), words[0].lower())
        simple: dict[str, Callable[[], str]] = {
            "help": lambda: help_text(first_trade(self.wood)),
            "board": self.board,
            "legends": self.legends,
            "next": self.next_turn,
            "quit": self.quit,
            "f": self.first_trade,
        }
        if verb in simple:
            if len(words) == 1:
                return simple[verb]()
            return f"refused: {verb} takes nothing after it (try `{verb}`)"
        if verb == "tips":
            if len(words) > 2:
                return "refused: usage: tips [GOOD] (the true tips you can whisper)"
            return self.tips(words[1] if len(words) == 2 else None)
        if verb == "rewind":
            return self._rewind_word(words[1:])
        if self.over:
            return "The season is over: only board, help and quit remain."
        out = self.fin.submit(line)
        if not out.ok:
            known = verb in VERBS
            return "refused: " + printable(out.message) + ("" if known else f"; {game_words()}")
        return f"queued for turn {self.wood.turn + 1}: " + printable(out.message)

    def first_trade(self) -> str:
        if self.over:
            return "The season is over."
        moves = first_trade(self.wood)
        if not moves:
            return "This wood has no first trade; see `help`, `tips` and `legends`."
        made = self.played | set(self.fin.queued())
        if any(m in made for m in moves):
            return "The first trade is made already." + self._hint()
        lines = []
        for cmd in moves:
            out = self.fin.submit(cmd)
            lines.append(f"{cmd}: " + ("queued: " if out.ok else "refused: ") + out.message)
        lines.append("Now `next`." + self._hint())
        return "\n".join(lines)

    def _hint(self) -> str:
        return hint(self.fin)

    def next_turn(self) -> str:
        if self.over:
            return self.quit()
        thinking = Thinking(self.wood, self.show) if self.show is not None else None
        try:
            with stop_between_turns() as asked:  # Ctrl-C waits for the turn to end
                self.last = self.wood.step()
        finally:
            if thinking is not None:
                thinking.done()
        if asked.stop:
            raise KeyboardInterrupt
        self.played |= {
            r["command"]
            for r in self.last.records
            if r["kind"] == "financier" and r["source"] == "player" and r["ok"]
        }
        told = self.board()
        losses = self.losses()
        if losses:  # each loss of the turn, and what caused it
            told += "\n\n" + "\n".join(_wrap(x) for x in losses)
        if self.over:
            return told + "\n\n" + self.finish()
        return told

    def records(self) -> list[dict[str, Any]]:
        """The run's records so far, as its folder holds them (the game's own, without one)."""
        if self.path is not None:
            return list(read_trace(self.path))
        return self.last.records if self.last is not None else []

    def recap(self) -> Recap | None:
        """The season told from its record, once it is over (None before)."""
        if not self.over:
            return None
        return recap(self.records(), summary_of(self.wood, self.tracker, self.turns, ""))

    def losses(self) -> list[str]:
        """What the last turn cost the player, each loss explained from the records."""
        return explain(self.records(), self.wood.turn) if self.last is not None else []

    def quit(self) -> str:
        self.done = True
        return self.finish()

    def finish(self, how: str = "left") -> str:
        """End the game: the scoreboard, and the run folder's summary (`how` it ended)."""
        lines = ["The season is over." if self.over else "You leave the wood.", self.scoreboard()]
        waiting = self.fin.queued()
        if waiting:
            lines.append(f"not made (the wood did not turn again): {'; '.join(waiting)}")
        if self.folder is not None:
            told = self.recap()  # the season told from its record, as its story page tells it
            if told is not None:
                lines[1:1] = [_wrap(x) for x in told.lines()]
            lines.append(f"run folder: {self.folder.path}")
            lines.append(f"replay it:  woodmarket replay {self.folder.path}")
        self._close("" if self.over else f"{how} after {self.wood.turn} of {self.turns} turns")
        return "\n".join(lines)

    def _close(self, stopped: str) -> None:
        """The game ends: summary.json says how (`stopped`, "" for a whole season)."""
        self.done = True
        if self.folder is not None:
            self.folder.finish(summary_of(self.wood, self.tracker, self.turns, stopped))
            self.wood.close()
            self.folder = None

    # -- rewinding -------------------------------------------------------

    def rewind(self, turn: int, out: str | Path | None = None) -> Game:
        """This run forked at `turn` (the next turn played is `turn`), as a new game.

        An undo: this game ends (its summary says it was left for the
        rewind), then its run folder is forked with no change and its moves
        from `turn` on dropped, so turns 1 to `turn`-1 are rebuilt from the
        record and proved, and nothing it did from `turn` on is made again.
        The new game plays on that wood in a new folder (`out`, or one beside
        this one); moves queued here are dropped: they were for this wood.
        Both folders replay. A turn not from 1 to the turns played is one
        `WoodmarketError` line, and then nothing has changed.
        """
        self._can_rewind(turn)
        assert self.path is not None
        target = Path(out) if out is not None else branch_path(self.path, turn)
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise WoodmarketError(f"{target}: a folder that is not empty is there already")
        if self.folder is not None:
            n = self.wood.turn
            self._close(f"left after {n} of {self.turns} turns for a rewind to turn {turn}")
        spec, parent = plan_fork(self.path, turn, out=target, keep_moves=False)
        game = Game.of_fork(open_fork(spec, target, parent), parent)
        game.show = self.show
        return game

    def _can_rewind(self, turn: int) -> None:
        played = self.wood.turn
        if self.path is None:
            raise WoodmarketError("this game keeps no run folder: there is no record to go back to")
        if played < 1:
            raise WoodmarketError("no turn has been played yet: there is nothing to rewind")
        if isinstance(turn, bool) or not isinstance(turn, int) or not 1 <= turn <= played:
            raise WoodmarketError(
                f"cannot rewind to turn {turn}: pick a turn played, from 1 to {played}"
            )

    @classmethod
    def of_fork(cls, forked: Forked, parent: Parent) -> Game:
        """The game on a fork's wood: its rebuilt past as its parent recorded it."""
        assert forked.spec.fork is not None
        at = forked.spec.fork.at
        game = cls(
            forked.wood,
            forked.spec.turns,
            forked.folder,
            tracker=forked.tracker,
            fork=forked.spec.fork,
        )
        made = [r for r in parent.records if r["turn"] < at and r["kind"] == "financier"]
        game.played = {r["command"] for r in made if r["source"] == "player" and r["ok"]}
        if at > 1:  # the last turn as the record holds it: its gossip and thoughts are shown
            game.last = TurnState(at - 1, records=parent.turn(at - 1))
        return game

    def _rewind_word(self, args: list[str]) -> str:
        """`rewind TURN` typed: the new game goes on (`rewound`), or one line says why not."""
        if len(args) != 1 or not re.fullmatch(r"[0-9]{1,9}", args[0]):
            typed = printable(" ".join(args))[:20]
            return f"refused: usage: rewind TURN, the number of a turn played, not '{typed}'"
        waiting = self.fin.queued()
        left = self.path
        try:
            game = self.rewind(int(args[0]))
        except (WoodmarketError, OSError) as exc:
            if not self.done:
                return f"refused: {printable(str(exc))}"
            return f"the rewind failed: {printable(str(exc))}\nthe run you left: {left}"
        self.rewound = game
        lines = [
            game.board(),
            "",
            f"Rewound: the wood as it stood after turn {game.wood.turn}; "
            f"the next turn is {game.wood.turn + 1}.",
            f"run folder: {game.path}, a branch of {left}",
            f"the run you left: {left} (woodmarket replay {left})",
        ]
        if waiting:
            lines.append(f"dropped (they were for the wood you left): {'; '.join(waiting)}")
        return "\n".join(lines)

    # -- drawing ---------------------------------------------------------

    def board(self) -> str:
        wood = self.wood
        title = f"== {wood.scenario.name}: turn {wood.turn} of {self.turns} "
        parts = [title + "=" * max(0, WIDTH - len(title)), self.fin.objective(), ""]
        parts += [*self._creatures(), "", *self._prices(), ""]
        parts += [*self._news(), "", self.scoreboard()]
        return "\n".join(parts)

    def _creatures(self) -> list[str]:
        wood = self.wood
        goods = wood.goods
        head = f"{'creature':<10}{'species':<10}{'pebbles':>8} "
        rows = [head + "".join(f"{g:>10}" for g in goods) + f"{'mood':>6}  toward you"]
        for name, c in wood.creatures.items():
            feel = bucket(wood.memory.score(name, FINANCIER)) or "-"
            stores = "".join(f"{c.account.stores[g]:>10}" for g in goods)
            rows.append(
                f"{printable(name)[:9]:<10}{printable(c.spec.species)[:9]:<10}"
                f"{c.account.pebbles:>8} {stores}{c.mood:>6}  {feel}"
            )
        return rows

    def _prices(self) -> list[str]:
        rows = [f"prices (last {HISTORY_SHOWN} turns, oldest first)"]
        for g in self.wood.goods:
            h = self.wood.history[g][-HISTORY_SHOWN - 1 : -1]
            past = " ".join(f"{p:>3}" for p in h)
            rows.append(f"  {g:<10}{self.wood.prices[g]:>4}   {past}")
        return rows

    def _news(self) -> list[str]:
        wood = self.wood
        rows = ["headlines"]
        heads = wood.headlines[-3:]
        first = wood.turn - len(heads) + 1
        rows += [f"  {first + i:>2}: {printable(h)}" for i, h in enumerate(heads)] or [
            "  (none yet)"
        ]
        recent = [text for when, text in wood.news if wood.turn - when < 2]
        rows += [f"  news: {printable(text)}" for text in recent]
        gossip = [r for r in (self.last.records if self.last else []) if r["kind"] == "gossip"]
        if gossip:
            rows.append("gossip")
            rows += [f"  {r['creature']} -> {r['to']}: {printable(r['text'])}" for r in gossip[-4:]]
        return [_clip(r) for r in rows]

    def scoreboard(self) -> str:
        fin = self.fin
        rank, of = fin.rank()
        rows = [
            f"you, the financier: {fin.pebbles} pebbles, worth {fin.worth()}, "
            f"P&L {fin.pnl():+d}, rank {rank} of {of}; free for margin {fin.free_pebbles()}",
            self._heat(),
        ]
        for good, p in sorted(fin.positions.items()):
            rows.append(
                f"  short {p.qty} {good}: entry {p.entry}, mark {p.mark}, P&L {p.pnl:+d}, "
                f"maintenance {ceil_pct(p.qty * p.mark, MAINTENANCE_PCT)}"
            )
        held = {g: n for g, n in fin.stores.items() if n}
        if held:
            rows.append("  stores: " + ", ".join(f"{n} {g}" for g, n in held.items()))
        for loan in fin.patron.open_loans():
            rows.append(
                f"  loan {loan.id} to {loan.creature}: {loan.principal} at {loan.rate}% a turn, "
                f"owes {loan.owed} now, {loan.repay} due at turn {loan.due}"
            )
        for b in fin.patron.bribes[-2:]:
            did = {True: "complied", False: "ignored the ask", None: "declined"}[b.complied]
            rows.append(
                _clip(f"  bribe to {b.creature}, turn {b.turn}: {b.amount} to {b.ask}: {did}")
            )
        for first, second in sorted(self.wood.pacts):
            rows.append(f"  pact: {first} and {second}")
        for name in self.wood.exiled:
            rows.append(f"  exiled: {name}")
        for move in self.fin.queued():
            rows.append(_clip(f"  queued for turn {self.wood.turn + 1}: {printable(move)}"))
        if fin.closed:
            rows.append(f"  realized P&L {fin.realized():+d} over {len(fin.closed)} closed shorts")
        for w in fin.whispered[-3:]:
            kind = "tip (true)" if w.true else "rumor (unverified)"
            if w.verdict:
                kind = f"rumor ({w.verdict})"
            status = "" if w.delivered else ", refused"
            rows.append(
                _clip(f"  whisper to {w.to}, turn {w.turn}, {kind}{status}: {printable(w.text)}")
            )
        return "\n".join(rows)

    def _heat(self) -> str:
        fin = self.fin
        spec = self.wood.scenario
        judge = fin.judge
        line = f"  magistrate's heat {fin.heat}"
        marks = [f"fines at {spec.magistrate.fine_at}"] if spec.magistrate.fine_at else []
        if spec.magistrate.freeze_at:
            marks.append(f"freezes at {spec.magistrate.freeze_at}")
        if spec.financier.heat_limit:
            marks.append(f"the season is lost at {spec.financier.heat_limit}")
        if marks:
            line += " (" + ", ".join(marks) + ")"
        left = judge.frozen(self.wood.turn + 1)
        if left:
            line += f"; account frozen: {left} more turn{'s' * (left > 1)}"
        if judge.fined:
            line += f"; fined {judge.fined} in all"
        return _clip(line)

    def tips(self, good: str | None) -> str:
        if good is not None and good not in self.wood.goods:
            return f"unknown good {printable(good)!r}; goods are {', '.join(self.wood.goods)}"
        all_tips = self.fin.tips()
        rows = ["tips you can whisper (all true): whisper CREATURE N"]
        for i, tip in enumerate(all_tips, 1):
            if good is None or good in tip.text.lower() or tip.key.startswith(f"state.{good}."):
                rows.append(_clip(f"  {i:>2}  {tip.text}"))
        rows.append("any other text is whispered as a rumor, and may prove false")
        return "\n".join(rows)

    def legends(self) -> str:
        book = self.fin.legends
        rows = ["legends you can spring: spring ID"]
        for lg in legends_of(self.wood):
            told = any(s.legend.id == lg.id for s in book.sprung)
            mech = book.mechanism_of(lg)
            mark = " (told)" if told else ""
            rows.append(_clip(f"  {lg.id:<13} {lg.title}: {lg.target}, {mech}{mark}"))
        return "\n".join(rows)


def branch_path(path: Path, turn: int) -> Path:
    """A free folder beside `path` for its rewind to `turn`: NAME-atTURN, then -2, -3, ...

    NAME is the folder's name without an earlier rewind's `-atK[-N]`, so the
    branches of one game sit side by side and a name never grows with each rewind.
    """
    root = re.sub(r"-at[0-9]+(-[0-9]+)?$", "", path.name)
    for n in itertools.count(1):
        place = path.with_name(f"{root}-at{turn}" + (f"-{n}" if n > 1 else ""))
        if not place.exists():
            return place
    raise AssertionError("unreachable")


class Thinking:
    """Shows which creatures are still deciding while a turn runs (models take seconds)."""

    def __init__(self, wood: Wood, show: Callable[[str], None]) -> None:
        self.wood, self.show = wood, show
        self.waiting = [n for n, p in wood.policies.items() if getattr(p, "concurrent", False)]
        self.lock = threading.Lock()
        wood.on_decided.append(self.decided)
        self._draw()

    def decided(self, name: str) -> None:
        with self.lock:
            if name in self.waiting:
                self.waiting.remove(name)
                self._draw()

    def _draw(self) -> None:
        if self.waiting:
            self.show(_clip(f"thinking: {', '.join(self.waiting)}"))

    def done(self) -> None:
        self.wood.on_decided.remove(self.decided)
        self.show("")


def _status_line(text: str) -> None:
    """One line redrawn in place (\r, then clear to the end of the line)."""
    sys.stdout.write("\r\x1b[K" + text)
    sys.stdout.flush()


def _wrap(text: str) -> str:
    """A long line of prose folded to the terminal's width, continued with an indent."""
    return "\n".join(textwrap.wrap(text, WIDTH, subsequent_indent="    ")) or text


def _clip(text: str) -> str:
    return text if len(text) <= WIDTH else text[: WIDTH - 3] + "..."


def main(args: argparse.Namespace, sampling: Sampling) -> int:
    """`woodmarket play`: build the wood from a spec, then read lines until done."""
    spec = RunSpec.make(
        args.scenario,
        cast=args.cast,
        seed=args.seed,
        turns=args.turns,
        mechanism=args.mechanism,
        financier=True,
        sampling=sampling,
        thoughts=args.thoughts,
    )
    out = out_folder(args.out, args.scenario, args.seed, "play-")
    wood = build(spec)
    folder = RunFolder.create(out, wood, run_json(spec))
    game = Game(wood, spec.turns, folder)
    if any(getattr(p, "concurrent", False) for p in wood.policies.values()):
        game.show = _status_line
    print("You are the financier, working from the shadows. Type help for commands.")
    print(game.board())
    try:
        while not game.done:
            try:
                line = input("> ")
            except EOFError:
                print(game.quit())
                break
            reply = game.handle(line)
            if reply:
                print(reply)
            if game.rewound is not None:  # `rewind`: play on in the branch
                game = game.rewound
            sys.stdout.flush()
    except KeyboardInterrupt:
        print()
        print(game.finish("interrupted"))
        raise
    finally:
        if game.folder is not None:
            game.finish()
    return 0
