"""Typed access to one TOML table of a scenario file (for reading.py and moves.py).

`_Reader` takes a key as the kind expected (a TOML bool is never a whole
number), within the bounds asked, and rejects keys it was not told of; every
failure is a `ScenarioError` naming the file and the dotted key. It
touches only the table it is given.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from woodmarket.errors import ScenarioError

_MISSING = object()


class _Reader:
    """Typed access to one TOML table, raising ScenarioError with the dotted key."""

    def __init__(self, path: str, table: dict[str, Any], prefix: str = "") -> None:
        self.path, self.table, self.prefix = path, table, prefix

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def fail(self, name: str, expected: str) -> ScenarioError:
        return ScenarioError(self.path, self.key(name), expected)

    def get(
        self,
        name: str,
        kind: type,
        default: Any = _MISSING,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> Any:
        if name not in self.table:
            if default is _MISSING:
                raise self.fail(name, f"missing; expected {_kind_name(kind)}")
            return default
        value = self.table[name]
        # TOML bools are not ints here: `pebbles = true` is a mistake.
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if not ok:
            raise self.fail(name, f"expected {_kind_name(kind)}, got {type(value).__name__}")
        if minimum is not None and value < minimum:
            raise self.fail(name, f"expected a whole number >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise self.fail(name, f"at most {maximum} (the limit), got {value}")
        return value

    def text(self, name: str, limit: int, default: Any = _MISSING) -> str:
        """A one-line printable string of at most `limit` characters."""
        value = self.get(name, str, default)
        if len(value) > limit or not value.isprintable():
            raise self.fail(name, f"one printable line of at most {limit} characters")
        return value

    def only(self, allowed: Iterable[str]) -> None:
        """A misspelt key is an error, not a silently ignored default."""
        allowed = set(allowed)
        for name in self.table:
            if name not in allowed:
                raise self.fail(name, f"one of {', '.join(sorted(allowed))}")

    def sub(self, name: str, required: bool = True) -> _Reader:
        table = self.get(name, dict, default=_MISSING if required else {})
        return _Reader(self.path, table, f"{self.key(name)}.")


def _kind_name(kind: type) -> str:
    return {
        int: "a whole number",
        str: "a string",
        bool: "true or false",
        dict: "a table",
        list: "a list",
    }.get(kind, kind.__name__)
