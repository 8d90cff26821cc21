"""Runs as values: `RunSpec`, the frozen description of one run, and `RunResult`, its outcome.

A spec carries everything that shapes a run: texts included (the
scenario file, the legend files it names, a cast file), each with its
sha256; the financier's moves by turn, the narrator and the sampling. So
a worker in another process or on another machine rebuilds the run
without the user's files. It round-trips through JSON (it is what
a run folder's `run.json` holds, beside versions and provenance) and
pickles. `RunResult` is what `runner.run(spec)` returns.

This room reads files only when a spec is made from names (`RunSpec.make`);
it touches no wood.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from woodmarket import councils
from woodmarket.errors import WoodmarketError
from woodmarket.rules import ARMS
from woodmarket.scenario import Gambit, Scenario, load_scenario, parse_scenario
from woodmarket.textfiles import read_text_file
from woodmarket.types import Sampling


def sha256_text(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


# The narrators a run may have: the template (from public facts, no model), or a
# model of the cast writing from the same facts (narrators.py).
NARRATORS = ("template", "model")
Moves = tuple[tuple[int, tuple[str, ...]], ...]


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One run, whole: what to run, with which creatures, for how long, and how to play.

    Everything that decides a run is here: a new knob is a field of the spec
    (or of `Sampling`) and a line where it is used (`build.build`).
    `moves` are the financier's moves by turn typed as a player would (a
    resized gambit's, a recorded game's), submitted just before their turns
    after the gambit's own.
    """

    scenario: str  # the bundled key or path as given; for people, not for rebuilding
    scenario_text: str
    scenario_files: tuple[tuple[str, str], ...] = ()  # legend reference -> file text
    cast: str = "standin"
    cast_text: str = ""  # the cast file's text when `cast` names a file
    seed: int = 0
    turns: int = 15
    gambit: str | None = None
    mechanism: str | None = None  # overrides the gambit's legend; `none` drops it
    financier: bool = False  # a financier the player drives (no script)
    sampling: Sampling = field(default_factory=Sampling)
    moves: Moves = ()
    narrator: str = "template"
    # Model creatures add one short line of why to each answer (`think: ...`).
    thoughts: bool = False
    fork: Fork | None = None  # a branch of a recorded run: its parent and the turn it differs from

    # Fields a run.json leaves out at their default, so older folders read the same.
    QUIET: ClassVar[dict[str, Any]] = {
        "moves": (),
        "narrator": "template",
        "thoughts": False,
        "fork": None,
    }

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise WoodmarketError(f"seed must be a whole number, got {self.seed!r}")
        if isinstance(self.turns, bool) or not isinstance(self.turns, int) or self.turns < 1:
            raise WoodmarketError(f"turns must be a whole number >= 1, got {self.turns!r}")
        if self.mechanism is not None and self.mechanism not in ARMS:
            raise WoodmarketError(f"unknown mechanism {self.mechanism!r}; use {', '.join(ARMS)}")
        if self.mechanism is not None and not (
            self.gambit or self.financier or self.moves or self.fork
        ):
            raise WoodmarketError("--mechanism overrides a gambit's legend; add --gambit NAME")
        if self.narrator not in NARRATORS:
            raise WoodmarketError(
                f"unknown narrator {self.narrator!r}; use {' or '.join(NARRATORS)}"
            )
        if not isinstance(self.thoughts, bool):
            raise WoodmarketError(f"thoughts must be true or false, got {self.thoughts!r}")
        if not isinstance(self.sampling, Sampling):
            raise WoodmarketError(f"sampling must be a Sampling, got {self.sampling!r}")
        object.__setattr__(self, "moves", _moves(self.moves, "moves"))
        # A spec names the council that runs, never the alias, so its run.json does too.
        object.__setattr__(self, "cast", councils.resolve(self.cast))
        if self.fork is not None:
            if self.fork.parent.scenario_text != self.scenario_text:
                raise WoodmarketError("a fork plays its parent's scenario; this one differs")
            if self.fork.at > self.turns:
                raise WoodmarketError(
                    f"a fork at turn {self.fork.at} runs past its {self.turns} turns"
                )
            if any(t < self.fork.at for t, _ in self.moves):
                raise WoodmarketError(
                    f"a fork's own moves start at its turn {self.fork.at}; "
                    "the turns before it are its parent's"
                )

    # -- making --------------------------------------------------------

    @classmethod
    def make(
        cls,
        scenario: str | Path | Scenario = "oona",
        *,
        cast: str = "standin",
        seed: int = 0,
        turns: int | None = None,
        gambit: str | None = None,
        mechanism: str | None = None,
        financier: bool = False,
        sampling: Sampling | None = None,
        moves: Mapping[int, Sequence[str]] | None = None,
        narrator: str = "template",
        thoughts: bool = False,
    ) -> RunSpec:
        """A spec from names and paths: reads the scenario (and cast file) now, once."""
        sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        cast_text = read_text_file(cast, "a cast file") if cast.endswith(".toml") else ""
        spec = cls(
            scenario=str(scenario) if not isinstance(scenario, Scenario) else sc.path,
            scenario_text=sc.text,
            scenario_files=tuple(sorted(_files(sc).items())),
            cast=cast,
            cast_text=cast_text,
            seed=seed,
            turns=sc.turns if turns is None else turns,
            gambit=gambit,
            mechanism=mechanism,
            financier=financier,
            sampling=sampling or Sampling(),
            moves=by_turn(moves or {}),
            narrator=narrator,
            thoughts=thoughts,
        )
        if gambit:
            spec.the_gambit(sc)  # an unknown gambit is refused now, not mid-run
        return spec

    def but(self, **changes: Any) -> RunSpec:
        """This spec with some fields changed (a seed, a mechanism)."""
        return replace(self, **changes)

    # -- reading -------------------------------------------------------

    @property
    def scenario_sha256(self) -> str:
        return sha256_text(self.scenario_text, *(p for kv in self.scenario_files for p in kv))

    @property
    def cast_sha256(self) -> str:
        return sha256_text(self.cast_text) if self.cast_text else ""

    @property
    def plays(self) -> bool:
        """Whether the run has a financier: a gambit, a player's seat, or moves of one."""
        mine = bool(self.gambit or self.financier or self.moves)
        return mine or (self.fork is not None and self.fork.parent.plays)

    @property
    def lineage(self) -> tuple[tuple[int, RunSpec], ...]:
        """(first turn, spec) of the run and each run it was forked from, oldest first."""
        if self.fork is None:
            return ((1, self),)
        return (*self.fork.parent.lineage, (self.fork.at, self))

    def load_scenario(self) -> Scenario:
        """The scenario, rebuilt from the spec's texts alone (parsed once per process)."""
        return _parsed(self.scenario_text, self.scenario, self.scenario_files)

    def the_gambit(self, scenario: Scenario | None = None) -> Gambit | None:
        """The spec's gambit, resolved against its scenario (None without one)."""
        if not self.gambit:
            return None
        sc = scenario or self.load_scenario()
        return sc.gambit(self.gambit)

    def gambit_of(self, scenario: Scenario | None = None) -> Gambit:
        """The spec's gambit; a spec without one is refused (reports need a target)."""
        found = self.the_gambit(scenario)
        if found is None:
            raise WoodmarketError("this run plays no gambit: name one (--gambit NAME)")
        return found

    def moves_by_turn(self) -> dict[int, tuple[str, ...]]:
        return dict(self.moves)

    # -- JSON ------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        for name, default in self.QUIET.items():
            if out[name] == default:
                del out[name]
        out["sampling"] = self.sampling.to_dict()
        if self.fork is not None:
            out["fork"] = self.fork.to_dict()
        if "moves" in out:
            out["moves"] = [[turn, list(cmds)] for turn, cmds in self.moves]
        out["scenario_files"] = dict(self.scenario_files)
        out["scenario_sha256"] = self.scenario_sha256
        out["cast_sha256"] = self.cast_sha256
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "run.json") -> RunSpec:
        """A spec from its JSON form; extra keys (versions, provenance) are ignored."""
        if not isinstance(data, Mapping):
            raise WoodmarketError(f"{where}: expected a JSON object, got {type(data).__name__}")
        names = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        for key in ("scenario", "scenario_text", "seed", "turns"):
            if key not in kwargs:
                raise WoodmarketError(f"{where}: missing {key!r}")
        files = kwargs.get("scenario_files", {})
        if not isinstance(files, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in files.items()
        ):
            raise WoodmarketError(f"{where}: 'scenario_files' must map names to texts")
        kwargs["scenario_files"] = tuple(sorted(files.items()))
        if isinstance(kwargs.get("cast"), str):  # a recorded `council` is the one it meant then
            kwargs["cast"] = councils.recorded(kwargs["cast"])
        try:
            kwargs["sampling"] = Sampling.from_dict(
                kwargs.get("sampling", {}), f"{where}: sampling"
            )
            kwargs["moves"] = _moves(kwargs.get("moves", ()), f"{where}: moves")
            if kwargs.get("fork") is not None:
                kwargs["fork"] = Fork.from_dict(kwargs["fork"], f"{where}: fork")
            spec = cls(**kwargs)
        except TypeError as exc:
            raise WoodmarketError(f"{where}: {exc}") from None
        for key, digest in (
            ("scenario_sha256", spec.scenario_sha256),
            ("cast_sha256", spec.cast_sha256),
        ):
            if key in data and data[key] != digest:
                raise WoodmarketError(f"{where}: {key} does not match the texts it describes")
        return spec

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise WoodmarketError(f"a run spec must be JSON: {exc}") from None
        return cls.from_dict(data)


@dataclass(frozen=True, slots=True)
class Fork:
    """Where a run branches from a recorded one: its parent, and the turn it differs from.

    Turns before `at` are the parent's: rebuilt from the parent's records
    (`parent` is its spec, the moves its player typed before `at` in it),
    byte for byte. From `at` on, the fork's own spec decides: its cast,
    sampling, narrator, mechanism (for legends told from then) and moves;
    the parent's moves from `at` on are made too when `keep_moves`.
    `path` names the parent's run folder relative to the fork's, `sha256`
    its trace as it was forked; `reask` asks the models of the prefix
    again (a continuation that equals the parent's), as resume does.
    """

    at: int
    parent: RunSpec
    path: str = ""
    sha256: str = ""
    keep_moves: bool = True
    reask: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.at, bool) or not isinstance(self.at, int) or self.at < 1:
            raise WoodmarketError(f"a fork's turn must be a whole number >= 1, got {self.at!r}")
        if not isinstance(self.parent, RunSpec):
            raise WoodmarketError("a fork's parent must be a run spec")

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "parent": self.parent.to_dict(),
            "path": self.path,
            "sha256": self.sha256,
            "keep_moves": self.keep_moves,
            "reask": self.reask,
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "fork") -> Fork:
        if not isinstance(data, Mapping) or "at" not in data or "parent" not in data:
            raise WoodmarketError(f"{where}: expected an object with 'at' and 'parent'")
        known = {"at", "parent", "path", "sha256", "keep_moves", "reask"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise WoodmarketError(f"{where}: unknown key {unknown[0]!r}")
        parent = RunSpec.from_dict(data["parent"], f"{where}: parent")
        for key, kind in (("path", str), ("sha256", str), ("keep_moves", bool), ("reask", bool)):
            if key in data and not isinstance(data[key], kind):
                raise WoodmarketError(f"{where}: {key!r} must be a {kind.__name__}")
        return cls(**{**dict(data), "parent": parent})


def timed_move(
    text: str, where: str, expected: str = "TURN:COMMAND, e.g. 3:cover GOOD"
) -> tuple[int, str]:
    """`TURN:COMMAND` (`3:cover honey`) as (turn, command): the one reading of a move typed
    with its turn (`fork --moves`, a sweep's `--arm`); one line naming `where` otherwise."""
    turn, sep, command = text.partition(":")
    turn = turn.strip()
    if not sep or not turn.isascii() or not turn.isdigit():
        raise WoodmarketError(f"{where}: expected {expected}")
    if not command.strip():
        raise WoodmarketError(f"{where}: no command after the turn")
    return int(turn), command.strip()


def by_turn(moves: Mapping[int, Iterable[str]]) -> Moves:
    """Moves as the spec holds them: (turn, commands) in turn order, turns without any left out."""
    return tuple((t, tuple(cmds)) for t, cmds in sorted(moves.items()) if tuple(cmds))


def _moves(value: Any, where: str) -> Moves:
    """Moves from a spec's field or its JSON form: whole turns >= 1, in order, each a list of
    command lines (kept as typed: a recorded game's refused lines are moves too)."""
    pairs = value.items() if isinstance(value, Mapping) else value
    out: list[tuple[int, tuple[str, ...]]] = []
    try:
        for turn, cmds in pairs:
            if isinstance(turn, bool) or not isinstance(turn, int) or turn < 1:
                raise WoodmarketError(f"{where}: a turn must be a whole number >= 1, got {turn!r}")
            if isinstance(cmds, str) or not all(isinstance(c, str) for c in cmds):
                raise WoodmarketError(f"{where}: turn {turn} must hold a list of commands")
            if out and turn <= out[-1][0]:
                raise WoodmarketError(f"{where}: turns must come in order; {turn} is out of order")
            out.append((turn, tuple(cmds)))
    except (TypeError, ValueError):
        raise WoodmarketError(f"{where}: expected [turn, [commands]] pairs") from None
    return tuple(out)


@dataclass(frozen=True, slots=True)
class RunResult:
    """What one run came to. `stopped` is "" for a run that finished all its turns."""

    spec: RunSpec
    turns: int
    summary: Mapping[str, Any]
    pnl: int | None = None  # the financier's P&L, when there is one
    target: str = ""  # the gambit's target good, when there is one
    target_path: tuple[int, ...] = ()  # its reference after each turn, the start first
    stopped: str = ""
    folder: str | None = None

    @property
    def complete(self) -> bool:
        return not self.stopped and self.turns == self.spec.turns


@lru_cache(maxsize=32)
def _parsed(text: str, path: str, files: tuple[tuple[str, str], ...]) -> Scenario:
    # Scenarios are frozen values: one parse serves every wood built from the
    # same texts (a sweep builds thousands; a parse costs about 12 ms).
    return parse_scenario(text, path, dict(files))


def _files(scenario: Scenario) -> dict[str, str]:
    return dict(scenario.files)
