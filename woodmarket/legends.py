"""Legends as data: Wood Legends parsed and validated, from a file or a scenario's table.

This room parses legends (a legend file, or an inline `[legends.ID]`
table of a scenario; a scenario names its own legends, see
scenario/reading.py and docs/scenarios.md, and there is no global
registry). It reads files and touches no wood: `legendbook.py` tells
legends in a wood and lands their effects at the seams.

A legend file::

    id = "oona_run"
    title = "The Run on Oona's Hoard"
    episode = "The bank runs of 1929-1933 ..."   # the history it retells
    target = "honey"                             # the good it moves
    rumor = "Word spreads that ..."              # what every creature hears
    tips = ["...", "..."]                        # true facts the financier may whisper
    mechanism = "settle"                         # rumor | glut | settle (a run may override)
    [settle]
    factor = 0.5                                 # reference = pre-legend price x factor
    delay = 1                                    # lands at the settlement of turn t + delay
    [glut]
    qty = 6                                      # units of the target into every creature

The rumour, the title and every tip must fit in the scenario's
`whisper_chars` (default 300): a creature is told them whole. What each
mechanism does is told in legendbook.py. The factor is read exactly (0.5
is 1/2), never as a float.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from woodmarket.errors import ScenarioError
from woodmarket.rules import MECHANISMS
from woodmarket.textfiles import read_text_file

DEFAULT_FACTOR = Fraction(1, 2)
DEFAULT_DELAY = 1
DEFAULT_QTY = 6
WHISPER_CHARS = 300  # the default of a scenario's `[financier] whisper_chars`
MAX_FACTOR = 100
MAX_DELAY = 100
MAX_GLUT = 10_000


@dataclass(frozen=True, slots=True)
class Legend:
    """One Wood Legend, validated. `factor` is exact; `path` names its file."""

    id: str
    title: str
    episode: str
    target: str
    rumor: str
    tips: tuple[str, ...]
    mechanism: str
    factor: Fraction = DEFAULT_FACTOR
    delay: int = DEFAULT_DELAY
    qty: int = DEFAULT_QTY
    path: str = ""


def settle_price(pre: int, factor: Fraction) -> int:
    """pre x factor, rounded half down to a whole pebble, at least 1."""
    return max(1, math.ceil(Fraction(pre) * factor - Fraction(1, 2)))


def _get(path: str, table: dict[str, Any], key: str, kind: type, prefix: str = "") -> Any:
    if key not in table:
        raise ScenarioError(path, prefix + key, f"missing; expected {_kind(kind)}")
    value = table[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ScenarioError(
            path, prefix + key, f"expected {_kind(kind)}, got {type(value).__name__}"
        )
    return value


def _whole(
    path: str, table: dict[str, Any], key: str, prefix: str, default: int, lo: int, hi: int
) -> int:
    """An optional whole number of a legend's table, within lo..hi."""
    if key not in table:
        return default
    value: int = _get(path, table, key, int, prefix)
    if not lo <= value <= hi:
        raise ScenarioError(path, prefix + key, f"a whole number from {lo} to {hi}, got {value}")
    return value


def _kind(kind: type) -> str:
    return {str: "a string", int: "a whole number", list: "a list", dict: "a table"}.get(
        kind, kind.__name__
    )


def _text(path: str, table: dict[str, Any], key: str, prefix: str = "", limit: int = 0) -> str:
    value = _get(path, table, key, str, prefix).strip()
    if not value:
        raise ScenarioError(path, prefix + key, "a non-empty string")
    if limit and len(value) > limit:
        raise ScenarioError(
            path,
            prefix + key,
            f"at most {limit} characters (the scenario's whisper_chars: what a creature "
            f"is told whole), got {len(value)}",
        )
    return value


def _valid_id(legend_id: str) -> bool:
    return legend_id.replace("_", "").isalnum() and legend_id.isascii() and legend_id.islower()


LEGEND_KEYS = ("id", "title", "episode", "target", "rumor", "tips", "mechanism", "settle", "glut")


def legend_from_table(
    data: dict[str, Any],
    path: str,
    prefix: str = "",
    whisper_chars: int = WHISPER_CHARS,
    legend_id: str | None = None,
) -> Legend:
    """A legend from a parsed table: a legend file's top level, or a scenario's inline
    `[legends.ID]` (then `legend_id` is the ID, and an `id` key, if any, must agree).

    The rumour and every tip must fit in `whisper_chars`: a creature is told them whole.
    """
    for key in data:
        if key not in LEGEND_KEYS:
            raise ScenarioError(path, prefix + key, f"one of {', '.join(sorted(LEGEND_KEYS))}")
    if legend_id is None or "id" in data:
        written = _text(path, data, "id", prefix)
        if legend_id is not None and written != legend_id:
            raise ScenarioError(
                path, prefix + "id", f"{legend_id!r}, the table's name; got {written!r}"
            )
        legend_id = written
    if not _valid_id(legend_id):
        raise ScenarioError(
            path, prefix + "id", f"lower-case letters, digits and _; got {legend_id!r}"
        )
    tips = _get(path, data, "tips", list, prefix)
    if not tips or not all(isinstance(s, str) and s.strip() and "\n" not in s for s in tips):
        raise ScenarioError(path, prefix + "tips", "a non-empty list of one-line strings")
    for i, tip in enumerate(tips):
        if len(tip.strip()) > whisper_chars:
            raise ScenarioError(
                path,
                f"{prefix}tips[{i}]",
                f"at most {whisper_chars} characters (the scenario's whisper_chars: what a "
                f"creature is told whole), got {len(tip.strip())}",
            )
    mechanism = _text(path, data, "mechanism", prefix)
    if mechanism not in MECHANISMS:
        raise ScenarioError(
            path, prefix + "mechanism", f"one of {', '.join(MECHANISMS)}; got {mechanism!r}"
        )
    settle = data.get("settle", {})
    glut = data.get("glut", {})
    for name, table in (("settle", settle), ("glut", glut)):
        if not isinstance(table, dict):
            raise ScenarioError(path, prefix + name, "a table")
    for name, table, allowed in (("settle", settle, ("factor", "delay")), ("glut", glut, ("qty",))):
        for key in table:
            if key not in allowed:
                raise ScenarioError(path, f"{prefix}{name}.{key}", f"one of {', '.join(allowed)}")
    factor = DEFAULT_FACTOR
    if "factor" in settle:
        raw = settle["factor"]
        ok = not isinstance(raw, bool) and isinstance(raw, int | float)
        if not ok or not 0 < raw <= MAX_FACTOR or raw != raw:
            raise ScenarioError(
                path,
                prefix + "settle.factor",
                f"a number above 0, at most {MAX_FACTOR}; got {raw!r}",
            )
        factor = Fraction(str(raw))  # 0.5 means exactly 1/2
        if factor.denominator > 1000:
            raise ScenarioError(
                path, prefix + "settle.factor", f"at most three decimals, got {raw!r}"
            )
    delay = _whole(path, settle, "delay", prefix + "settle.", DEFAULT_DELAY, 0, MAX_DELAY)
    qty = _whole(path, glut, "qty", prefix + "glut.", DEFAULT_QTY, 1, MAX_GLUT)
    return Legend(
        id=legend_id,
        title=_text(path, data, "title", prefix, limit=whisper_chars),
        episode=_text(path, data, "episode", prefix),
        target=_text(path, data, "target", prefix),
        rumor=_text(path, data, "rumor", prefix, limit=whisper_chars),
        tips=tuple(s.strip() for s in tips),
        mechanism=mechanism,
        factor=factor,
        delay=delay,
        qty=qty,
        path=path,
    )


def parse_legend(text: str, path: str = "<legend>", whisper_chars: int = WHISPER_CHARS) -> Legend:
    """A legend from TOML text; a broken file raises ScenarioError(path, key, expected)."""
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, "(syntax)", f"valid TOML: {exc}") from None
    return legend_from_table(data, path, "", whisper_chars)


def load_legend(path: str | Path, whisper_chars: int = WHISPER_CHARS) -> Legend:
    """A legend file on its own (a scenario reads its legends itself, see scenario/reading.py)."""

    return parse_legend(read_text_file(path, "a legend file"), str(path), whisper_chars)
