"""Worlds: what a sweep compares. A world is a cast x a mechanism, optionally with the short's size.

    council:glut           the default council (`council3`; `council2` for two
                           labs), the gambit's legend landing as a glut
    single:smollm2:rumor   one model drives every creature, the legend told as a rumor only
    standin:settle:16      the stand-in, the legend settled, the short sized to 16
    article                the article's Table 1 (see `ARTICLE`)
    standin                the stand-in in every mechanism
    worlds.toml            a file of [[world]] tables: cast, mechanism, short (optional)

Every cast gets its control arm automatically: the same cast (and short
size) under `none`, the gambit without its legend, so a legend's effect is
measured against the same creatures doing without it (`with_controls`).

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


@dataclass(frozen=True, slots=True, order=True)
class World:
    """One arm of a sweep. `short` None keeps the gambit's own size."""

    cast: str
    mechanism: str
    short: int | None = None

    def __post_init__(self) -> None:
        # A world names the council that runs (`council` is the default one's alias).
        object.__setattr__(self, "cast", councils.resolve(self.cast))

    @property
    def label(self) -> str:
        """`CAST:MECHANISM[:SHORT]`, the form `parse_world` reads back."""
        base = f"{self.cast}:{self.mechanism}"
        return base if self.short is None else f"{base}:{self.short}"

    @property
    def slug(self) -> str:
        """A folder name for the world's runs (letters, digits, - and _ only)."""
        return re.sub(r"[^A-Za-z0-9_]+", "-", self.label).strip("-")

    @property
    def is_standin(self) -> bool:
        return self.cast == STANDIN

    @property
    def control(self) -> World:
        """The same cast and short size without the legend."""
        return World(self.cast, CONTROL, self.short)

    def to_dict(self) -> dict[str, Any]:
        return {"cast": self.cast, "mechanism": self.mechanism, "short": self.short}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> World:
        """A world as a sweep recorded it (a recorded `council` is the one it meant then)."""
        cast = councils.recorded(str(data["cast"]))
        return cls(cast, str(data["mechanism"]), data.get("short"))


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


def load_worlds_file(path: str | Path) -> list[World]:
    """[[world]] tables with `cast`, `mechanism` and an optional whole `short`."""
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
        unknown = sorted(set(t) - {"cast", "mechanism", "short"})
        if unknown:
            raise ScenarioError(where, f"{key}.{unknown[0]}", "one of cast, mechanism, short")
        cast, mech, short = t.get("cast"), t.get("mechanism"), t.get("short")
        if not isinstance(cast, str) or not cast:
            raise ScenarioError(where, f"{key}.cast", "a cast: standin, council, single:MODEL")
        if mech not in ARMS:
            raise ScenarioError(where, f"{key}.mechanism", f"one of {', '.join(ARMS)}")
        if short is not None and (isinstance(short, bool) or not isinstance(short, int)):
            raise ScenarioError(where, f"{key}.short", "a whole number of units")
        if short is not None and short < 1:
            raise ScenarioError(where, f"{key}.short", "a whole number >= 1")
        out.append(World(cast, mech, short))
    return out


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
    """`worlds` with each cast's `none` arm (same short size) added where missing, first."""
    out: list[World] = []
    for w in worlds:
        if w.control not in out:
            out.append(w.control)
        if w not in out:
            out.append(w)
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
