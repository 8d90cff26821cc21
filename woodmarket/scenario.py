"""Scenario files: TOML in, a frozen, validated `Scenario` out.

A scenario names the goods, the creatures, the rules of the market and of
living, and the financier's bankroll and objective. Every error names the
file, the key and what was expected; loading writes nothing anywhere.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from woodmarket.errors import ScenarioError

_MISSING = object()
BUNDLED = ("oona",)


@dataclass(frozen=True, slots=True)
class GoodSpec:
    name: str
    price: int
    food: bool = False
    fuel: bool = False
    spoil_pct: int = 0
    keep: int = 0


@dataclass(frozen=True, slots=True)
class CreatureSpec:
    name: str
    species: str
    role: str
    personality: str
    pebbles: int
    produces: dict[str, int]
    stores: dict[str, int]


@dataclass(frozen=True, slots=True)
class MarketRules:
    max_orders: int = 4
    max_qty: int = 10
    band: int = 3


@dataclass(frozen=True, slots=True)
class LivingRules:
    meals: int = 1
    burn: int = 1
    winter_start: int = 6
    winter_every: int = 3
    mood_start: int = 70


@dataclass(frozen=True, slots=True)
class FinancierSpec:
    pebbles: int = 100
    objective_pebbles: int = 140
    objective_turn: int = 12


@dataclass(frozen=True, slots=True)
class Scenario:
    """A whole wood's definition. `text` is the file as read, copied into runs."""

    path: str
    name: str
    turns: int
    goods: tuple[GoodSpec, ...]
    creatures: tuple[CreatureSpec, ...]
    market: MarketRules
    living: LivingRules
    financier: FinancierSpec
    text: str = field(repr=False, default="")

    @property
    def good_names(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.goods)

    def good(self, name: str) -> GoodSpec:
        for g in self.goods:
            if g.name == name:
                return g
        raise KeyError(name)


class _Reader:
    """Typed access to one TOML table, raising ScenarioError with the dotted key."""

    def __init__(self, path: str, table: dict[str, Any], prefix: str = "") -> None:
        self.path, self.table, self.prefix = path, table, prefix

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def fail(self, name: str, expected: str) -> ScenarioError:
        return ScenarioError(self.path, self.key(name), expected)

    def get(self, name: str, kind: type, default: Any = _MISSING, minimum: int | None = None):
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
    return {int: "a whole number", str: "a string", bool: "true or false", dict: "a table"}.get(
        kind, kind.__name__
    )


def scenario_path(name_or_path: str | Path) -> Path:
    """A bundled scenario's name (`oona`) or a path to a TOML file."""
    text = str(name_or_path)
    if text in BUNDLED:
        return Path(__file__).parent / "scenarios" / f"{text}.toml"
    return Path(text)


def load_scenario(name_or_path: str | Path) -> Scenario:
    path = scenario_path(name_or_path)
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(
            shown, "(file)", f"a scenario file; none there (bundled: {', '.join(BUNDLED)})"
        ) from None
    except OSError as exc:
        raise ScenarioError(shown, "(file)", f"a readable file: {exc.strerror}") from None
    return parse_scenario(text, shown)


def parse_scenario(text: str, path: str = "<scenario>") -> Scenario:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, "(syntax)", f"valid TOML: {exc}") from None
    top = _Reader(path, data)
    top.only(("wood", "market", "goods", "living", "financier", "creatures"))
    wood = top.sub("wood")
    wood.only(("name", "turns"))
    goods = _goods(top)
    names = tuple(g.name for g in goods)
    creatures = _creatures(top, names)
    return Scenario(
        path=path,
        name=wood.get("name", str),
        turns=wood.get("turns", int, 15, minimum=1),
        goods=goods,
        creatures=creatures,
        market=_rules(top, "market", MarketRules),
        living=_rules(top, "living", LivingRules),
        financier=_rules(top, "financier", FinancierSpec),
        text=text,
    )


def _goods(top: _Reader) -> tuple[GoodSpec, ...]:
    table = top.sub("goods")
    if not table.table:
        raise top.fail("goods", "at least one good")
    goods = []
    for name in table.table:
        g = table.sub(name)
        g.only(("price", "food", "fuel", "spoil_pct", "keep"))
        spec = GoodSpec(
            name=name,
            price=g.get("price", int, minimum=1),
            food=g.get("food", bool, False),
            fuel=g.get("fuel", bool, False),
            spoil_pct=g.get("spoil_pct", int, 0, minimum=0),
            keep=g.get("keep", int, 0, minimum=0),
        )
        if spec.spoil_pct > 100:
            raise g.fail("spoil_pct", f"a percentage from 0 to 100, got {spec.spoil_pct}")
        goods.append(spec)
    if sum(g.fuel for g in goods) > 1:
        raise top.fail("goods", "at most one good with fuel = true")
    if sum(g.food for g in goods) < 2:
        raise top.fail("goods", "at least two foods (a meal needs two different foods)")
    return tuple(goods)


def _creatures(top: _Reader, goods: tuple[str, ...]) -> tuple[CreatureSpec, ...]:
    raw = top.get("creatures", list)
    if len(raw) < 2:
        raise top.fail("creatures", "at least two [[creatures]] (a market needs two sides)")
    seen: set[str] = set()
    out = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise top.fail(f"creatures[{i}]", "a table")
        c = _Reader(top.path, entry, f"creatures[{i}].")
        c.only(("name", "species", "role", "personality", "pebbles", "produces", "stores"))
        name = c.get("name", str)
        if not name.strip() or not name.isprintable() or len(name) > 24:
            raise c.fail("name", "a printable name of 1 to 24 characters")
        if name in seen:
            raise c.fail("name", f"a unique creature name; '{name}' appears twice")
        if name.lower() in ("all", "financier", "house"):
            raise c.fail("name", f"a name other than the reserved '{name}'")
        seen.add(name)
        out.append(
            CreatureSpec(
                name=name,
                species=c.get("species", str),
                role=c.get("role", str),
                personality=c.get("personality", str, ""),
                pebbles=c.get("pebbles", int, minimum=0),
                produces=_amounts(c, "produces", goods),
                stores=_amounts(c, "stores", goods),
            )
        )
    return tuple(out)


def _amounts(c: _Reader, key: str, goods: tuple[str, ...]) -> dict[str, int]:
    table = c.sub(key, required=False)
    out = {}
    for good in table.table:
        if good not in goods:
            raise table.fail(good, f"a known good ({', '.join(goods)}); '{good}' is not one")
        out[good] = table.get(good, int, minimum=0)
    return out


# Whole-number rules tables: each field's least allowed value (defaults come from the dataclass).
_MINIMUMS: dict[type, dict[str, int]] = {
    MarketRules: {"max_orders": 1, "max_qty": 1, "band": 2},
    LivingRules: {"meals": 0, "burn": 0, "winter_start": 1, "winter_every": 1, "mood_start": 1},
    FinancierSpec: {"pebbles": 0, "objective_pebbles": 0, "objective_turn": 1},
}


def _rules(top: _Reader, name: str, cls: Any) -> Any:
    """An optional table of whole-number rules, each defaulting to the dataclass's value."""
    r = top.sub(name, required=False)
    minimums = _MINIMUMS[cls]
    r.only(minimums)
    return cls(
        **{f.name: r.get(f.name, int, f.default, minimum=minimums[f.name]) for f in fields(cls)}
    )
