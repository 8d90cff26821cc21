"""Worlds: what a sweep compares. A world is a cast x a mechanism, optionally with the short's size.

    council:glut           the default council (`council3`; `council2` for two
                           labs), the gambit's legend landing as a glut
    single:smollm2:rumor   one model drives every creature, the legend told as a rumor only
    standin:settle:16      the stand-in, the legend settled, the short sized to 16
    article                the article's Table 1 (see `ARTICLE`)
    standin                the stand-in in every mechanism
    worlds.toml            a file of [[world]] tables: cast, mechanism, short (optional),
                           arm and moves (optional: a move arm, below)

Every cast gets its control arm automatically: the same cast (and short
size) under `none`, the gambit without its legend, so a legend's effect is
measured against the same creatures doing without it (`with_controls`).

A **move arm** (a sweep forked at turn K only) is a world whose gambit
moves from turn K on are replaced by its own: `--arm NAME:TURN:COMMAND`
(repeatable; one name's moves add up) gives every world named a sibling
`CAST:MECHANISM[:SHORT]+NAME`, e.g. `council:settle+cover-early` for
`--arm "cover-early:3:cover honey"`. Its control is the same world
without its moves, so its paired effect is the intervention's alone.

A **trunk** is the history a sweep's forked arms share: one run per seed
of turns 1 to K-1, per cast and short size, and per mechanism too when
the gambit's legend is told before K (the mechanism is then part of the
history).

The short's size is applied by rewriting the `short GOOD QTY` move of the
gambit's script (`sized_script`); the sweep makes those moves as typed
moves so that `replay` makes them again (see `task.build`).

This room only parses and checks names; it runs nothing.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from woodmarket import councils
from woodmarket.errors import ScenarioError, WoodmarketError
from woodmarket.rules import ARMS
from woodmarket.spec import Moves, by_turn, timed_move

CONTROL = "none"
STANDIN = "standin"

# The article's Table 1: the single model's rumor (once per bundled model: the
# article's "original" ran one model), the council under each lever, and the
# stand-in in every mechanism, the cheap simulator the article warns about.
ARTICLE = (
    "single:smollm2:rumor",
    "single:gemma3:rumor",
    "single:qwen:rumor",
    "council:rumor",
    "council:glut",
    "council:settle",
    "standin:rumor",
    "standin:glut",
    "standin:settle",
)
PRESETS: dict[str, tuple[str, ...]] = {
    "article": ARTICLE,
    "standin": ("standin:rumor", "standin:glut", "standin:settle"),
}


ARM_NAME = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True, order=True)
class World:
    """One arm of a sweep. `short` None keeps the gambit's own size; a move arm has a
    name (`arm`) and the moves (turn -> commands) that replace the gambit's from the
    sweep's fork turn on."""

    cast: str
    mechanism: str
    short: int | None = None
    arm: str = ""
    moves: Moves = ()

    def __post_init__(self) -> None:
        # A world names the council that runs (`council` is the default one's alias).
        object.__setattr__(self, "cast", councils.resolve(self.cast))

    @property
    def label(self) -> str:
        """`CAST:MECHANISM[:SHORT][+ARM]` (`parse_world` reads it back without the arm)."""
        base = f"{self.cast}:{self.mechanism}"
        base = base if self.short is None else f"{base}:{self.short}"
        return f"{base}+{self.arm}" if self.arm else base

    @property
    def slug(self) -> str:
        """A folder name for the world's runs (letters, digits, - and _ only)."""
        return re.sub(r"[^A-Za-z0-9_]+", "-", self.label).strip("-")

    @property
    def is_standin(self) -> bool:
        return self.cast == STANDIN

    @property
    def control(self) -> World:
        """What its paired effect is measured against: a move arm's is the same world
        without its moves; any other world's the same cast and short size without the
        legend (a `none` world is its own)."""
        if self.arm:
            return World(self.cast, self.mechanism, self.short)
        return World(self.cast, CONTROL, self.short)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cast": self.cast, "mechanism": self.mechanism, "short": self.short}
        if self.arm:
            out |= {"arm": self.arm, "moves": [[t, list(cmds)] for t, cmds in self.moves]}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> World:
        """A world as a sweep recorded it (a recorded `council` is the one it meant then)."""
        moves = by_turn({int(t): tuple(cmds) for t, cmds in data.get("moves", ())})
        return cls(
            councils.recorded(str(data["cast"])),
            str(data["mechanism"]),
            data.get("short"),
            str(data.get("arm", "")),
            moves,
        )


@dataclass(frozen=True, slots=True, order=True)
class Trunk:
    """The history a forked sweep's arms share, per seed: turns 1 to K-1 of the gambit
    for one cast and short size, and one mechanism (`None`: every mechanism shares it,
    the legend being told from K on)."""

    cast: str
    short: int | None = None
    mechanism: str | None = None

    @property
    def label(self) -> str:
        """`trunk CAST:MECHANISM[:SHORT]`, `*` for the mechanism when every one shares it."""
        short = "" if self.short is None else f":{self.short}"
        return f"trunk {self.cast}:{self.mechanism or '*'}{short}"

    @property
    def slug(self) -> str:
        """A folder name: the cast, the mechanism when it has one, the short's size."""
        parts = [self.cast, self.mechanism or "", "" if self.short is None else str(self.short)]
        return re.sub(r"[^A-Za-z0-9_]+", "-", "-".join(p for p in parts if p)).strip("-")


def parse_world(text: str) -> World:
    """`CAST:MECHANISM[:SHORT]`; the cast may itself hold a colon (`single:gemma3:rumor`)."""
    parts = text.strip().split(":")
    short: int | None = None
    if len(parts) >= 3 and parts[-1].isdigit() and parts[-2] in ARMS:
        short = int(parts.pop())
        if short < 1:
            raise WoodmarketError(f"world {text!r}: the short's size must be >= 1")
    if len(parts) < 2 or not parts[-1]:
        raise WoodmarketError(
            f"world {text!r}: expected CAST:MECHANISM[:SHORT], e.g. council:glut or "
            "standin:settle:16; or a preset (article, standin) or a worlds .toml file"
        )
    mechanism = parts.pop()
    cast = ":".join(parts)
    if mechanism not in ARMS:
        raise WoodmarketError(
            f"world {text!r}: unknown mechanism {mechanism!r}; use {', '.join(ARMS)}"
        )
    if not cast:
        raise WoodmarketError(f"world {text!r}: no cast before the mechanism")
    return World(cast, mechanism, short)


def parse_arm(text: str) -> tuple[str, int, str]:
    """`NAME:TURN:COMMAND` (`cover-early:3:cover honey`) as (name, turn, command)."""
    expected = (
        "NAME:TURN:COMMAND, e.g. cover-early:3:cover GOOD (a name of letters, digits, - and _)"
    )
    name, sep, rest = text.strip().partition(":")
    if not sep or not ARM_NAME.fullmatch(name):
        raise WoodmarketError(f"--arm {text!r}: expected {expected}")
    turn, command = timed_move(rest, f"--arm {text!r}", expected)
    return name, turn, command


def arms_of(texts: Iterable[str]) -> dict[str, Moves]:
    """`--arm` options as name -> moves, in the order named; one name's moves add up."""
    found: dict[str, dict[int, list[str]]] = {}
    for text in texts:
        name, turn, command = parse_arm(text)
        found.setdefault(name, {}).setdefault(turn, []).append(command)
    return {name: by_turn(moves) for name, moves in found.items()}


def with_arms(worlds: Sequence[World], arms: Mapping[str, Moves]) -> list[World]:
    """Each world, followed by one sibling per move arm (the world with the arm's moves)."""
    out: list[World] = []
    for w in worlds:
        out.append(w)
        out += [World(w.cast, w.mechanism, w.short, name, moves) for name, moves in arms.items()]
    return list(dict.fromkeys(out))


def load_worlds_file(path: str | Path) -> list[World]:
    """[[world]] tables with `cast`, `mechanism`, an optional whole `short`, and an
    optional move arm: `arm` (its name) with `moves`, as a gambit's
    (`[{ turn = 3, commands = ["cover honey"] }]`)."""
    where = str(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(where, "(file)", "a worlds file; none there") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(where, "(syntax)", f"valid TOML: {exc}") from None
    tables = data.get("world")
    if not isinstance(tables, list) or not tables:
        raise ScenarioError(where, "world", "one or more [[world]] tables")
    out = []
    for i, t in enumerate(tables):
        key = f"world[{i}]"
        if not isinstance(t, dict):
            raise ScenarioError(where, key, "a table")
        unknown = sorted(set(t) - {"cast", "mechanism", "short", "arm", "moves"})
        if unknown:
            raise ScenarioError(
                where, f"{key}.{unknown[0]}", "one of cast, mechanism, short, arm, moves"
            )
        cast, mech, short = t.get("cast"), t.get("mechanism"), t.get("short")
        if not isinstance(cast, str) or not cast:
            raise ScenarioError(where, f"{key}.cast", "a cast: standin, council, single:MODEL")
        if mech not in ARMS:
            raise ScenarioError(where, f"{key}.mechanism", f"one of {', '.join(ARMS)}")
        if short is not None and (isinstance(short, bool) or not isinstance(short, int)):
            raise ScenarioError(where, f"{key}.short", "a whole number of units")
        if short is not None and short < 1:
            raise ScenarioError(where, f"{key}.short", "a whole number >= 1")
        arm, moves = _arm_of(t, where, key)
        out.append(World(cast, mech, short, arm, moves))
    return out


def _arm_of(table: Mapping[str, Any], where: str, key: str) -> tuple[str, Moves]:
    """A worlds file's move arm: `arm` and `moves` together, or neither."""
    arm, moves = table.get("arm"), table.get("moves")
    if arm is None and moves is None:
        return "", ()
    if not isinstance(arm, str) or not ARM_NAME.fullmatch(arm):
        raise ScenarioError(where, f"{key}.arm", "a name of letters, digits, - and _")
    if not isinstance(moves, list) or not moves or not all(isinstance(m, dict) for m in moves):
        raise ScenarioError(where, f"{key}.moves", "a list of { turn = N, commands = [...] }")
    found: dict[int, list[str]] = {}
    for i, m in enumerate(moves):
        turn, cmds = m.get("turn"), m.get("commands")
        if isinstance(turn, bool) or not isinstance(turn, int) or turn < 1:
            raise ScenarioError(where, f"{key}.moves[{i}].turn", "a whole number >= 1")
        if not isinstance(cmds, list) or not all(isinstance(c, str) for c in cmds):
            raise ScenarioError(where, f"{key}.moves[{i}].commands", "a list of commands")
        found.setdefault(turn, []).extend(cmds)
    return arm, by_turn(found)


def expand(names: Iterable[str]) -> list[World]:
    """Worlds from presets, `CAST:MECHANISM[:SHORT]` words and worlds files, in order, once each."""
    out: list[World] = []
    for name in names:
        if name in PRESETS:
            found = [parse_world(w) for w in PRESETS[name]]
        elif name.endswith(".toml"):
            found = load_worlds_file(name)
        else:
            found = [parse_world(name)]
        out.extend(w for w in found if w not in out)
    return out


def with_controls(worlds: Sequence[World]) -> list[World]:
    """`worlds` with each one's control added where missing, before it: each cast's `none`
    arm (same short size), and a move arm's world without its moves (and that one's)."""
    out: list[World] = []
    for w in worlds:
        chain = [w]
        while chain[0].control != chain[0]:
            chain.insert(0, chain[0].control)
        out += [c for c in chain if c not in out]
    return out


def shorts(worlds: Sequence[World], sizes: Sequence[int]) -> list[World]:
    """Each world once per short size (the article's third attempt: size the short up)."""
    return [World(w.cast, w.mechanism, s) for w in worlds for s in sizes]


def check_casts(worlds: Sequence[World], names: tuple[str, ...]) -> None:
    """Refuse an unknown cast or model now, with one clear line, not mid-sweep."""
    from woodmarket.casts import parse_cast

    seen: set[str] = set()
    for w in worlds:
        if w.cast in seen:
            continue
        seen.add(w.cast)
        if w.cast.startswith("replay:"):
            raise WoodmarketError(f"world {w.label!r}: a sweep cannot replay a cast; use --replay")
        try:
            seats = parse_cast(w.cast, names)
        except ScenarioError as exc:
            what = exc.expected if exc.path != "--cast" else f"unknown cast; use {exc.expected}"
            raise WoodmarketError(f"world {w.label!r}: {what}") from None
        for seat in seats:
            if seat.policy == "llm" and seat.backend == "embedded":
                from woodmarket.models import MODELS

                model = seat.model
                if model not in MODELS and not model.lower().endswith(".gguf"):
                    raise WoodmarketError(
                        f"world {w.label!r}: unknown model {model!r}; "
                        f"use {', '.join(MODELS)} or a .gguf path"
                    )


def is_live(cast: str, names: tuple[str, ...], cast_text: str | None = None) -> bool:
    """Does this cast put any creature on a model (and so sample)?"""
    from woodmarket.casts import parse_cast

    if cast == STANDIN:
        return False
    return any(s.policy == "llm" for s in parse_cast(cast, names, cast_text))


def sized_script(
    script: Mapping[int, Sequence[str]], short: int | None
) -> dict[int, tuple[str, ...]]:
    """The gambit's moves with every `short GOOD QTY` resized to `short` units."""
    out: dict[int, tuple[str, ...]] = {}
    for turn, moves in script.items():
        out[turn] = tuple(_resize(m, short) for m in moves)
    return out


def _resize(move: str, short: int | None) -> str:
    words = move.split()
    if short is None or len(words) != 3 or words[0] != "short":
        return move
    return f"short {words[1]} {short}"


def short_size(script: Mapping[int, Sequence[str]]) -> int | None:
    """The size of the gambit's own short, for reports."""
    for moves in script.values():
        for m in moves:
            words = m.split()
            if len(words) == 3 and words[0] == "short" and words[2].isdigit():
                return int(words[2])
    return None
