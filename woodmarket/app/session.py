"""Sessions of the web app: one wood per browser session, capped, and cleaned up when idle.

A `Session` is the terminal game's `play.Game` held for one browser tab:
the same wood, financier and run folder, so a session's game is an
ordinary run folder that `woodmarket replay` checks. Moves reach the
financier only as commands that their verb built from a form's fields
(`form`), read and refused by the same code and in the same words as a
line typed in the terminal. The browser never names a file, a model path
or an import path: a legend is one of the wood's, a cast one of `CASTS`,
a scenario one of the bundled levels (`level_keys`).

A session can be rewound (`Session.rewind`): its game's run is forked at
a past turn into a new run folder (`play.Game.rewind`, the terminal's
`rewind`), and the tab plays on in that branch, in the same seat.

`Sessions` holds every open session by the browser's session key, caps
how many are open (past the cap a visitor is told they wait, not shown an
error), and closes a session when its tab goes or when it has been idle
too long: its summary is written and its wood closed (threads and model
slots freed).

This room imports no UI toolkit; the Gradio page (`ui.py`) and the load
benchmark drive it.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from woodmarket import councils
from woodmarket.build import build
from woodmarket.commands import MAX_COMMAND_CHARS, VERBS, unknown
from woodmarket.errors import ActionError, WoodmarketError
from woodmarket.financier import Financier
from woodmarket.play import Game, first_trade, hint
from woodmarket.runner import run_json
from woodmarket.scenario import LEVEL_SEP, bundled_levels, bundled_scenarios, load_scenario
from woodmarket.spec import RunSpec
from woodmarket.state import TurnState
from woodmarket.story import write_story
from woodmarket.traces import RunFolder, read_trace
from woodmarket.types import Sampling

# Casts a visitor may pick: names, never files or paths.
# (`council`, the default council, is taken too, as the council it names.)
CASTS = councils.PICKED
CAST_LABELS = {
    "standin": "stand-in (rules, instant)",
    "single:smollm2": "one model: SmolLM2-135M",
    "single:gemma3": "one model: Gemma 3 270M",
    "single:qwen": "one model: Qwen2.5-Coder 0.5B",
    **councils.TITLES,
}
NARRATORS = ("template", "model")
DEFAULT_CAP = 8
DEFAULT_IDLE_S = 15 * 60
MAX_FIELD_CHARS = 2000  # longer than any move can be; refused before any parsing
MAX_SEED = 10**9
GOSSIP_KEPT = 40


def scenario_keys() -> tuple[str, ...]:
    """The bundled scenarios, by key."""
    return bundled_scenarios()


def level_keys() -> tuple[str, ...]:
    """Every bundled scenario at every level (`oona`, `oona:hard`, ...): what a visitor may pick."""
    return tuple(level for key in scenario_keys() for level in bundled_levels(key))


@functools.cache
def level_label(key: str) -> str:
    """A level as a player reads it: "Oona's Wood", "Oona's Wood — hard"."""
    base, _, level = key.partition(LEVEL_SEP)
    name = load_scenario(base).name
    return f"{name} — {level}" if level else name


class Refused(WoodmarketError):
    """A form field the page cannot turn into a move; the message says why."""


def shown(text: str, limit: int = 40) -> str:
    """A piece of visitor text quoted in a message, cut short when long."""
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def whole(text: object, what: str, low: int = 1, high: int = 999_999) -> int:
    """A whole number typed in a box, within [low, high]; `Refused` saying what is wrong."""
    raw = "" if text is None else str(text).strip()
    if isinstance(text, float) and text.is_integer():
        raw = str(int(text))
    if not raw:
        raise Refused(f"{what} is empty: type a whole number from {low} to {high}")
    if len(raw) > MAX_FIELD_CHARS or not re.fullmatch(r"[+-]?[0-9]+", raw):
        raise Refused(f"{what} must be a whole number from {low} to {high}, not {shown(raw)}")
    if len(raw) > 12:
        raise Refused(f"{what} {shown(raw, 15)} is far too large: at most {high}")
    value = int(raw)
    if value < low:
        raise Refused(f"{what} must be at least {low}; {value} is not")
    if value > high:
        raise Refused(f"{what} must be at most {high}; {value} is too many")
    return value


def _field(text: object, what: str) -> str:
    raw = "" if text is None else str(text)
    if len(raw) > MAX_FIELD_CHARS:
        raise Refused(f"{what} is {len(raw)} characters long; nothing that long is a move")
    return raw.strip()


@dataclass
class Session:
    """One browser session's game: a wood, its financier, its run folder."""

    key: str
    game: Game
    cast: str
    scenario: str
    narrator: str = "template"
    opened: float = field(default_factory=time.monotonic)
    used: float = field(default_factory=time.monotonic)
    status: str = ""  # who is still thinking, while a turn runs
    message: str = ""  # what the last move or turn said
    ok: bool = True
    gossip: list[dict[str, object]] = field(default_factory=list)
    busy: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False
    run_folder: Path = field(default=Path("."))
    thoughts: bool = False  # model creatures think aloud: the page shows their thought

    @property
    def wood(self):  # type: ignore[no-untyped-def]  # the engine's Wood
        return self.game.wood

    @property
    def fin(self) -> Financier:
        return self.game.fin

    @property
    def last(self) -> TurnState | None:
        return self.game.last

    def touch(self) -> None:
        self.used = time.monotonic()

    def _say(self, ok: bool, text: str) -> str:
        self.ok, self.message = ok, text
        return text

    def _cannot(self, busy: str) -> str:
        """Why the wood cannot be acted on now ("" when it can: then `busy` is held)."""
        self.touch()
        if self.closed:
            return self._say(False, "this wood is closed; start a new one")
        if self.game.over:
            return self._say(False, "the season is over; start a new wood to play again")
        if not self.busy.acquire(blocking=False):
            return self._say(False, busy)
        return ""

    def submit(self, command: str) -> str:
        """Queue one built command; the message says what it will do or why not."""
        refused = self._cannot("a turn is running: make your move when it is done")
        if refused:
            return refused
        try:
            out = self.fin.submit(command)
        finally:
            self.busy.release()
        if not out.ok:
            return self._say(False, f"refused: {out.message}")
        return self._say(True, f"queued for turn {self.wood.turn + 1}: {out.message}")

    def form(self, verb: str, values: Mapping[str, object]) -> str:
        """A move from a form's fields, built by its verb as a typed line would be.

        Each field is read by the same code that reads the word typed in
        the terminal, so a field is refused for what is wrong with it in the
        same words; the command then goes through `submit` as its line. A
        web page never names a legend by a file on the server.
        """
        self.touch()
        cls = VERBS.get(verb)
        if cls is None:
            return self._say(False, f"refused: {unknown(verb)}")
        raw = {
            f.name: "" if values.get(f.name) is None else str(values[f.name]) for f in cls.fields
        }
        if len(" ".join([verb, *raw.values()])) > MAX_COMMAND_CHARS:
            return self._say(False, f"refused: a command is at most {MAX_COMMAND_CHARS} characters")
        try:
            lexicon = dataclasses.replace(self.fin.lexicon, legend_files=False)
            command = cls.from_fields(raw).named(lexicon)
        except ActionError as exc:
            return self._say(False, f"refused: {exc}")
        return self.submit(command.line())

    def first_trade(self) -> str:
        self.touch()
        if self.closed:
            return self._say(False, "this wood is closed; start a new one")
        if not self.busy.acquire(blocking=False):
            return self._say(False, "a turn is running: make your move when it is done")
        try:
            return self._first_trade()
        finally:
            self.busy.release()

    def _first_trade(self) -> str:
        moves = first_trade(self.wood)
        said = [ln for ln in self.game.first_trade().splitlines() if not ln.startswith("Now `")]
        made = all(m in self.fin.queued() for m in moves) and bool(moves)
        if made:
            said.append("Now press Next turn." + hint(self.fin))
        return self._say(made, " ".join(said))

    # -- turns ---------------------------------------------------------

    def step(self) -> str:
        """Run one turn (the caller's thread); refuses while another turn of it runs."""
        refused = self._cannot("a turn is already running; wait for it")
        if refused:
            return refused
        try:
            self.game.show = self._thinking
            self.game.next_turn()
            last = self.game.last
            if last is not None:
                self.gossip += [r for r in last.records if r["kind"] == "gossip"]
                del self.gossip[:-GOSSIP_KEPT]
            ended = " The season is over; the run folder is complete." if self.game.over else ""
            # What the turn cost the player, and why, from the turn's records.
            losses = " ".join(self.game.losses())
            said = f"turn {self.wood.turn} is done.{ended}" + (f" {losses}" if losses else "")
            return self._say(not losses, said)
        finally:
            self.status = ""
            self.busy.release()
            self.touch()

    def story(self) -> Path:
        """This game's season as one self-contained page (`story.py`), beside its run folder."""
        self.touch()
        page = self.run_folder.with_name(self.run_folder.name + "-story.html")
        return write_story(self.run_folder, page)

    def rewind(self, turn: object) -> str:
        """Go back to a past turn typed in a box: the game forked there, played on in this seat.

        The turn is read like any number in a box (one line when it is not
        one); the game refuses a turn not played. The game is swapped for the
        rewound one under `busy`, so no turn runs meanwhile; the cast,
        scenario, narrator and seat stay, the run folder is the branch's, and
        queued moves are dropped (they were for the wood left). Rewinding a
        season that is over is allowed: an undo is wanted most then.
        """
        self.touch()
        if self.closed:
            return self._say(False, "this wood is closed; start a new one")
        try:
            k = whole(turn, "the turn to rewind to", 1, self.game.turns)
        except Refused as exc:
            return self._say(False, f"refused: {exc}")
        if not self.busy.acquire(blocking=False):
            return self._say(False, "a turn is running: rewind when it is done")
        try:
            return self._rewind(k)
        finally:
            self.busy.release()
            self.touch()

    def _rewind(self, turn: int) -> str:
        old, waiting = self.game, self.fin.queued()
        try:
            game = old.rewind(turn)
        except (WoodmarketError, OSError) as exc:
            if not old.done:  # refused: nothing changed
                return self._say(False, f"refused: {exc}")
            # The run was finished for the rewind, and the branch could not be made.
            self.closed = True
            return self._say(False, f"the rewind failed: {exc}; start a new wood")
        self.game = game
        self.run_folder = game.path or self.run_folder
        kept = [r for r in read_trace(self.run_folder) if r["kind"] == "gossip"]
        self.gossip = kept[-GOSSIP_KEPT:]
        dropped = f"; dropped: {'; '.join(waiting)}" if waiting else ""
        return self._say(
            True,
            f"rewound to turn {turn}: the wood as it stood after turn {turn - 1}, in a new run "
            f"folder, a branch of {old.path.name if old.path else 'the run'}{dropped}",
        )

    def _thinking(self, line: str) -> None:
        self.status = line

    @property
    def running(self) -> bool:
        return self.busy.locked()

    def close(self) -> None:
        """End the game: the summary is written, threads and model slots are freed."""
        with self.busy:
            if self.closed:
                return
            self.closed = True
            if self.game.folder is not None:
                self.game.finish()  # writes summary.json and closes the wood
            else:
                self.wood.close()


class Full(WoodmarketError):
    """Every seat is taken; the message is what a waiting visitor reads."""


class Sessions:
    """The open sessions, by browser session key; at most `cap` at once."""

    def __init__(
        self,
        *,
        cap: int = DEFAULT_CAP,
        idle_s: float = DEFAULT_IDLE_S,
        runs: str | Path = "runs/app",
        cast: str = "standin",
        scenario: str | None = None,
        sampling: Sampling | None = None,
        thoughts: bool = False,
    ) -> None:
        if cap < 1:
            raise WoodmarketError(f"the session cap must be at least 1, got {cap}")
        cast = councils.resolve(cast)
        if cast not in CASTS:
            raise WoodmarketError(f"unknown cast {cast!r}; the app offers {', '.join(CASTS)}")
        keys = level_keys()
        scenario = scenario or keys[0]
        if scenario not in keys:
            raise WoodmarketError(f"unknown scenario {scenario!r}; bundled: {', '.join(keys)}")
        self.cap, self.idle_s, self.runs = cap, idle_s, Path(runs)
        self.cast, self.scenario = cast, scenario
        # How model casts decode in every game of this server (greedy by default), and
        # whether its model creatures think aloud (a line of why; the page shows it).
        self.sampling = sampling or Sampling()
        self.thoughts = thoughts
        self.open: dict[str, Session] = {}
        self.lock = threading.Lock()
        self._seq = 0
        self._reaper: threading.Thread | None = None
        self._stop = threading.Event()

    def __len__(self) -> int:
        return len(self.open)

    def get(self, key: str) -> Session | None:
        """The session of `key`, if it has one ready (a seat being set up is not)."""
        s = self.open.get(key)
        if s is None or isinstance(s, _Placeholder):
            return None
        s.touch()
        return s

    def waiting_message(self) -> str:
        minutes = max(1, round(self.idle_s / 60))
        return (
            f"The wood is full: {self.cap} games are being played now, the most this server "
            f"runs at once. You are in the queue: this page takes a seat by itself as soon as "
            f"one is free (a game left idle for {minutes} minutes gives up its seat)."
        )

    def seat(
        self,
        key: str,
        *,
        scenario: str | None = None,
        cast: str | None = None,
        seed: object = 0,
        narrator: str = "template",
        thoughts: bool | None = None,
    ) -> Session:
        """A new game for `key` (its old one closed); `Full` when every seat is taken.

        `scenario` is a bundled level's key (`oona`, `oona:hard`), never a path;
        `thoughts` (model creatures think aloud) is the app's own setting unless given.
        """
        scenario = _field(scenario, "the scenario") or self.scenario
        cast = councils.resolve(cast or self.cast)
        if scenario not in level_keys():
            raise Refused(f"unknown scenario {shown(scenario)}; bundled: {', '.join(level_keys())}")
        if cast not in CASTS:
            raise Refused(f"unknown cast {shown(cast)}; choose one of {', '.join(CASTS)}")
        if narrator not in NARRATORS:
            raise Refused(f"unknown narrator {shown(narrator)}; choose {' or '.join(NARRATORS)}")
        number = whole(seed, "the seed", 0, MAX_SEED)
        if narrator == "model" and cast == "standin":
            raise Refused("the stand-in cast has no model to narrate: pick a model cast")
        with self.lock:
            old = self.open.pop(key, None)
            if old is None and len(self.open) >= self.cap:
                raise Full(self.waiting_message())
            self._seq += 1
            seq = self._seq
            # Hold the seat while the wood is built (models may take seconds to load).
            self.open[key] = placeholder = _Placeholder.make(key)  # type: ignore[assignment]
        if old is not None:
            old.close()
        try:
            session = _build(
                key,
                scenario,
                cast,
                number,
                narrator,
                self.runs,
                seq,
                self.sampling,
                self.thoughts if thoughts is None else thoughts is True,
            )
        except BaseException:
            with self.lock:
                if self.open.get(key) is placeholder:
                    del self.open[key]
            raise
        with self.lock:
            self.open[key] = session
        return session

    def close(self, key: str) -> bool:
        with self.lock:
            s = self.open.pop(key, None)
        if s is None or isinstance(s, _Placeholder):
            return False
        s.close()
        return True

    def reap(self, now: float | None = None) -> list[str]:
        """Close sessions idle longer than `idle_s` (never one whose turn is running)."""
        now = time.monotonic() if now is None else now
        with self.lock:
            idle = [
                k
                for k, s in self.open.items()
                if not isinstance(s, _Placeholder) and not s.running and now - s.used > self.idle_s
            ]
        return [k for k in idle if self.close(k)]

    def start_reaper(self, every_s: float = 30.0) -> None:
        if self._reaper is not None:
            return

        def loop() -> None:
            while not self._stop.wait(every_s):
                self.reap()

        self._reaper = threading.Thread(target=loop, name="wood-reaper", daemon=True)
        self._reaper.start()

    def close_all(self) -> None:
        self._stop.set()
        for key in list(self.open):
            self.close(key)


@dataclass
class _Placeholder:
    """A seat being set up; counts against the cap, is never played."""

    key: str
    running: bool = True
    used: float = 0.0

    @classmethod
    def make(cls, key: str) -> _Placeholder:
        return cls(key, True, time.monotonic())

    def touch(self) -> None:
        pass


def _build(
    key: str,
    scenario: str,
    cast: str,
    seed: int,
    narrator: str,
    runs: Path,
    seq: int,
    sampling: Sampling,
    thoughts: bool = False,
) -> Session:
    spec = RunSpec.make(
        scenario,
        cast=cast,
        seed=seed,
        financier=True,
        narrator=narrator,
        sampling=sampling,
        thoughts=thoughts,
    )
    wood = build(spec)
    try:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        # Names made safe for a folder: `oona:hard` is `oona-hard`, `single:gemma3` `single-gemma3`.
        place, tag = (re.sub(r"[^a-z0-9]+", "-", k.lower()).strip("-") for k in (scenario, cast))
        path = runs / f"{place}-{tag}-seed{seed}-{stamp}-{seq:04d}"
        folder = RunFolder.create(path, wood, run_json(spec))
    except BaseException:
        wood.close()
        raise
    game = Game(wood, spec.turns, folder)
    return Session(key, game, cast, scenario, narrator, run_folder=path, thoughts=thoughts)
