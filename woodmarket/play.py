"""The terminal game: the financier's loop in plain text over stdin and stdout.

This room draws the wood (creatures, stores, mood, feelings toward the
financier, prices with a short history, headlines, gossip, the
scoreboard) and turns typed lines into financier moves or turns. A move
is checked and queued (`Financier.submit`) and made when the next turn
begins. It changes the wood only through `Financier.submit` and
`wood.step`, and writes the run folder like `woodmarket run` does, so
`woodmarket replay` can re-run a played game. Lines fit in 100 columns;
text from creatures and the player is shown escaped (no terminal escape,
bell or control character reaches the screen).
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable

from woodmarket.financier import FINANCIER, MAINTENANCE_PCT, Financier, ceil_pct
from woodmarket.financier.whispers import legends_of
from woodmarket.memory import bucket
from woodmarket.metrics import Tracker
from woodmarket.runner import stop_between_turns
from woodmarket.state import TurnState
from woodmarket.text import printable
from woodmarket.traces import RunFolder
from woodmarket.wood import Wood

WIDTH = 100
HISTORY_SHOWN = 6

HELP = """\
Commands (one per line); moves are made when the next turn begins:
  f                             the first trade: {first}
  short GOOD QTY                short a good against the house (50% initial margin)
  cover GOOD                    close your short on GOOD at the reference price
  order buy|sell GOOD QTY PRICE a real order in this turn's auction, with your pebbles/stores
  whisper CREATURE TIP          TIP: a number from `tips`, a legend id, or free text (a rumor)
  spring LEGEND [MECHANISM]     tell a legend this turn (see `legends`); MECHANISM:
                                rumor, glut or settle, instead of the legend's own
  tips [GOOD]                   the true tips you can whisper
  legends                       the legends you can spring
  board                         show the wood again
  next                          let the turn run (also: n)
  help, quit                    this text (also: ?); leave the game (also: q)"""


def first_trade(wood: Wood) -> tuple[str, ...]:
    """The scenario's one-click first trade (`[financier] first_trade`)."""
    return wood.scenario.first_trade


class Game:
    """One played wood: reads command lines, returns what to print."""

    def __init__(self, wood: Wood, turns: int, folder: RunFolder | None = None) -> None:
        self.wood = wood
        self.turns = turns
        self.folder = folder
        self.fin: Financier = wood.extensions["financier"]
        self.tracker = Tracker(wood)
        wood.listeners.append(self.tracker)
        self.last: TurnState | None = None
        self.done = False
        # Moves made in past turns, as typed (the first trade is offered once).
        self.played: set[str] = set()
        # Where to show who is still thinking while a turn runs (a terminal), if anywhere.
        self.show: Callable[[str], None] | None = None

    @property
    def over(self) -> bool:
        return self.wood.turn >= self.turns

    def handle(self, line: str) -> str:
        """Carry out one line; sets `done` when the player leaves or the season ends."""
        words = line.split()
        if not words:
            return ""
        verb = words[0].lower()
        help_text = HELP.format(first=" and ".join(first_trade(self.wood)) or "(none here)")
        simple: dict[str, Callable[[], str]] = {
            "help": lambda: help_text,
            "?": lambda: help_text,
            "board": self.board,
            "legends": self.legends,
            "next": self.next_turn,
            "n": self.next_turn,
            "quit": self.quit,
            "q": self.quit,
            "f": self.first_trade,
        }
        if verb in simple:
            if len(words) == 1:
                return simple[verb]()
            return f"refused: {verb} takes nothing after it (try `{verb}`)"
        if verb == "tips" and len(words) <= 2:
            return self.tips(words[1] if len(words) == 2 else None)
        if self.over:
            return "The season is over: only board, help and quit remain."
        out = self.fin.submit(line)
        if not out.ok:
            return "refused: " + printable(out.message)
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
        """A next step that is still open: a legend not yet told."""
        book = self.fin.legends
        told = {s.legend.id for s in book.sprung}
        queued = " ".join(self.fin.queued())
        for lg in legends_of(self.wood):
            if lg.id not in told and f"spring {lg.id}" not in queued:
                return f" Then `spring {lg.id}`, and cover {lg.target} after it lands."
        return ""

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
        if self.over:
            return self.board() + "\n\n" + self.finish()
        return self.board()

    def quit(self) -> str:
        self.done = True
        return self.finish()

    def finish(self, how: str = "left") -> str:
        """End the game: the scoreboard, and the run folder's summary (`how` it ended)."""
        self.done = True
        lines = ["The season is over." if self.over else "You leave the wood.", self.scoreboard()]
        waiting = self.fin.queued()
        if waiting:
            lines.append(f"not made (the wood did not turn again): {'; '.join(waiting)}")
        if self.folder is not None:
            summary = self.tracker.summary()
            summary["turns_requested"] = self.turns
            if not self.over:
                summary["stopped"] = f"{how} after {self.wood.turn} of {self.turns} turns"
            summary["financier"] = {
                "pebbles": self.fin.pebbles,
                "worth": self.fin.worth(),
                "pnl": self.fin.pnl(),
                "objective": self.fin.objective(),
            }
            self.folder.finish(summary)
            self.wood.close()
            lines.append(f"run folder: {self.folder.path}")
            lines.append(f"replay it:  woodmarket replay {self.folder.path}")
            self.folder = None
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
            f"P&L {fin.pnl():+d}, rank {rank} of {of}; free for margin {fin.free_pebbles()}"
        ]
        for good, p in sorted(fin.positions.items()):
            rows.append(
                f"  short {p.qty} {good}: entry {p.entry}, mark {p.mark}, P&L {p.pnl:+d}, "
                f"maintenance {ceil_pct(p.qty * p.mark, MAINTENANCE_PCT)}"
            )
        held = {g: n for g, n in fin.stores.items() if n}
        if held:
            rows.append("  stores: " + ", ".join(f"{n} {g}" for g, n in held.items()))
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


def _clip(text: str) -> str:
    return text if len(text) <= WIDTH else text[: WIDTH - 3] + "..."


def main(args: argparse.Namespace) -> int:
    """`woodmarket play`: build the wood from a spec, then read lines until done."""
    from woodmarket.runner import build_wood, out_folder, run_json
    from woodmarket.spec import RunSpec

    spec = RunSpec.make(
        args.scenario,
        cast=args.cast,
        seed=args.seed,
        turns=args.turns,
        mechanism=args.mechanism,
        financier=True,
    )
    wood = build_wood(spec)
    out = out_folder(args.out, args.scenario, args.seed, "play-")
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
            sys.stdout.flush()
    except KeyboardInterrupt:
        print()
        print(game.finish("interrupted"))
        raise
    finally:
        if game.folder is not None:
            game.finish()
    return 0
