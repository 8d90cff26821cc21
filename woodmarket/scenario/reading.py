"""Reading a scenario: TOML text in, a frozen, validated `Scenario` out.

`load_scenario` finds a bundled scenario, a level of one or a file
(files.py), reads it, and hands its text to `parse_scenario`, which lays a
level's tables over its `base` scenario's, then checks each part against
the schema and its limits (schema.py): the goods, the creatures, the rules
tables, the legends (files beside the scenario, or inline tables, parsed by
woodmarket.legends), and the first trade and gambits (moves.py).

Every error is a `ScenarioError` naming the file, the key and what was
expected; loading writes nothing anywhere. `parse_scenario(text, path,
files)` rebuilds a scenario from text alone (a run folder, a remote
worker): `files` maps each legend reference and a level's `base`, as
written in the scenario, to that file's text, and then no file is read.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from woodmarket.errors import ScenarioError
from woodmarket.legends import Legend, legend_from_table, parse_legend
from woodmarket.scenario.files import BUNDLED, _exists, _key_of, scenario_path
from woodmarket.scenario.moves import _commands, _gambits
from woodmarket.scenario.schema import (
    _LIMITS,
    COMMAND_WORDS,
    MAX_CREATURES,
    MAX_GOODS,
    MAX_LABEL,
    MAX_LEGENDS,
    MAX_MADE,
    MAX_NAME,
    MAX_NEED,
    MAX_PEBBLES,
    MAX_PERSONALITY,
    MAX_PRICE,
    MAX_STORE,
    MAX_TURNS,
    MAX_WOOD_NAME,
    RESERVED_CREATURES,
    CreatureSpec,
    FinancierSpec,
    GoodSpec,
    LivingRules,
    MagistrateSpec,
    MarketRules,
    Scenario,
    lexicon_of,
)
from woodmarket.scenario.tables import _Reader
from woodmarket.textfiles import read_text_file


def load_scenario(key_or_path: str | Path) -> Scenario:
    """A bundled scenario by key, or a scenario file with the legend files it names."""
    path = scenario_path(key_or_path)
    shown = str(path)
    if not _exists(path):
        raise ScenarioError(
            shown, "(file)", f"a scenario file; none there (bundled: {', '.join(BUNDLED)})"
        )
    text = read_text_file(path, "a scenario file")
    return parse_scenario(text, shown)


def parse_scenario(
    text: str, path: str = "<scenario>", files: Mapping[str, str] | None = None
) -> Scenario:
    """A scenario from its text. `files` (legend reference -> text) means: read nothing."""
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, "(syntax)", f"valid TOML: {exc}") from None
    data, base = _based(data, path, files)
    top = _Reader(path, data)
    top.only(
        (
            "wood",
            "market",
            "goods",
            "living",
            "financier",
            "magistrate",
            "creatures",
            "legends",
            "gambits",
        )
    )
    wood = top.sub("wood")
    wood.only(("name", "turns", "level"))
    name = wood.text("name", MAX_WOOD_NAME)
    turns = wood.get("turns", int, 15, minimum=1, maximum=MAX_TURNS)
    level = wood.text("level", MAX_NAME, "")
    goods = _goods(top)
    names = tuple(g.name for g in goods)
    living = _rules(top, "living", LivingRules)
    if living.meals and sum(g.food for g in goods) < 2:
        raise top.fail("goods", "at least two foods (a meal needs two different foods)")
    creatures = _creatures(top, names)
    market = _rules(top, "market", MarketRules)
    money = _rules(top, "financier", FinancierSpec)
    legends, read = _legends(top, names, money.whisper_chars, files)
    read.update(base)
    lexicon = lexicon_of(names, tuple(c.name for c in creatures), legends, market, money)
    first = _commands(top.sub("financier", required=False), "first_trade", lexicon)
    return Scenario(
        path=path,
        name=name,
        turns=turns,
        goods=goods,
        creatures=creatures,
        market=market,
        living=living,
        financier=FinancierSpec(**{**_asdict(money), "first_trade": first}),
        legends=legends,
        gambits=_gambits(top, lexicon),
        key=_key_of(path),
        text=text,
        files=read,
        magistrate=_rules(top, "magistrate", MagistrateSpec),
        level=level,
    )


def _based(
    data: dict[str, Any], path: str, files: Mapping[str, str] | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """A level file's tables laid over its `base` scenario's (tables merge, values replace).

    `base = "oona.toml"` names the file it builds on, beside it; a base has
    no base of its own. Returns the merged tables and {reference: base text}.
    """
    if "base" not in data:
        return data, {}
    ref = data.pop("base")
    if not isinstance(ref, str) or not ref.strip() or "/" in ref or "\\" in ref:
        raise ScenarioError(path, "base", "the file name of the scenario beside this one")
    if files is not None:
        if ref not in files:
            raise ScenarioError(path, "base", f"the text of {ref!r} among the files given")
        text = files[ref]
    else:
        where = Path(path).parent / ref
        if not _exists(where) or where.is_dir():
            raise ScenarioError(path, "base", f"a scenario file at {str(where)!r}; none there")
        text = read_text_file(where, "a scenario file")
    try:
        under = tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, "base", f"valid TOML in {ref}: {exc}") from None
    if "base" in under:
        raise ScenarioError(path, "base", f"a scenario without a base of its own; {ref} has one")
    return _merged(under, data), {ref: text}


def _merged(under: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(under)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merged(out[k], v)
        else:
            out[k] = v
    return out


def _asdict(spec: Any) -> dict[str, Any]:
    return {f.name: getattr(spec, f.name) for f in fields(spec)}


def _name_problem(name: str, what: str, reserved: frozenset[str]) -> str | None:
    """Why `name` cannot name a good or a creature, or None."""
    if not name or len(name) > MAX_NAME:
        return f"a {what} name of 1 to {MAX_NAME} characters, got {name!r}"
    if any(ch.isspace() for ch in name) or not name.isprintable():
        return f"a {what} name without spaces or control characters, got {name!r}"
    if name.lower() in reserved:
        return f"a {what} name other than the command word or reserved name {name!r}"
    return None


def _goods(top: _Reader) -> tuple[GoodSpec, ...]:
    table = top.sub("goods")
    if not table.table:
        raise top.fail("goods", "at least one good")
    if len(table.table) > MAX_GOODS:
        raise top.fail("goods", f"at most {MAX_GOODS} goods (the limit), got {len(table.table)}")
    goods = []
    for name in table.table:
        problem = _name_problem(name, "good", COMMAND_WORDS)
        if problem is None and (name != name.lower() or not name[0].isalpha()):
            problem = f"a lower-case good name starting with a letter, got {name!r}"
        if problem:
            raise table.fail(name, problem)
        g = table.sub(name)
        g.only(("price", "food", "fuel", "spoil_pct", "keep"))
        goods.append(
            GoodSpec(
                name=name,
                price=g.get("price", int, minimum=1, maximum=MAX_PRICE),
                food=g.get("food", bool, False),
                fuel=g.get("fuel", bool, False),
                spoil_pct=g.get("spoil_pct", int, 0, minimum=0, maximum=100),
                keep=g.get("keep", int, 0, minimum=0, maximum=MAX_STORE),
            )
        )
    if sum(g.fuel for g in goods) > 1:
        raise top.fail("goods", "at most one good with fuel = true")
    return tuple(goods)


def _creatures(top: _Reader, goods: tuple[str, ...]) -> tuple[CreatureSpec, ...]:
    raw = top.get("creatures", list)
    if len(raw) < 2:
        raise top.fail("creatures", "at least two [[creatures]] (a market needs two sides)")
    if len(raw) > MAX_CREATURES:
        raise top.fail(
            "creatures", f"at most {MAX_CREATURES} creatures (the limit), got {len(raw)}"
        )
    seen: set[str] = set()
    lowered = {g.lower() for g in goods}
    out = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise top.fail(f"creatures[{i}]", "a table")
        c = _Reader(top.path, entry, f"creatures[{i}].")
        c.only(("name", "species", "role", "personality", "pebbles", "produces", "stores", "needs"))
        name = c.get("name", str)
        problem = _name_problem(name, "creature", RESERVED_CREATURES)
        if problem:
            raise c.fail("name", problem)
        if name.lower() in seen:
            raise c.fail("name", f"a unique creature name; '{name}' appears twice")
        if name.lower() in lowered:
            raise c.fail("name", f"a name that is not also a good's; '{name}' is a good")
        seen.add(name.lower())
        out.append(
            CreatureSpec(
                name=name,
                species=c.text("species", MAX_LABEL),
                role=c.text("role", MAX_LABEL),
                personality=c.text("personality", MAX_PERSONALITY, ""),
                pebbles=c.get("pebbles", int, minimum=0, maximum=MAX_PEBBLES),
                produces=_amounts(c, "produces", goods, MAX_MADE),
                stores=_amounts(c, "stores", goods, MAX_STORE),
                needs=_amounts(c, "needs", goods, MAX_NEED),
            )
        )
    return tuple(out)


def _amounts(c: _Reader, key: str, goods: tuple[str, ...], limit: int) -> dict[str, int]:
    table = c.sub(key, required=False)
    out = {}
    for good in table.table:
        if good not in goods:
            raise table.fail(good, f"a known good ({', '.join(goods)}); '{good}' is not one")
        out[good] = table.get(good, int, minimum=0, maximum=limit)
    return out


def _rules(top: _Reader, name: str, cls: Any) -> Any:
    """An optional table of whole-number rules, each defaulting to the dataclass's value."""
    r = top.sub(name, required=False)
    limits = _LIMITS[cls]
    extra = ("first_trade",) if cls is FinancierSpec else ()
    r.only((*limits, *extra))
    return cls(
        **{
            f.name: r.get(f.name, int, f.default, *limits[f.name])
            for f in fields(cls)
            if f.name in limits
        }
    )


# -- legends ------------------------------------------------------------------


def _legends(
    top: _Reader, goods: tuple[str, ...], whisper_chars: int, files: Mapping[str, str] | None
) -> tuple[tuple[Legend, ...], dict[str, str]]:
    """`[legends]`: each id maps to a file (path relative to the scenario) or an inline table."""
    table = top.sub("legends", required=False)
    if len(table.table) > MAX_LEGENDS:
        raise top.fail("legends", f"at most {MAX_LEGENDS} legends (the limit)")
    base = Path(top.path).parent
    out: list[Legend] = []
    read: dict[str, str] = {}
    for legend_id, value in table.table.items():
        key = table.key(legend_id)
        if isinstance(value, str):
            ref = value
            where = str(base / ref)
            if not ref.strip():
                raise table.fail(legend_id, "a path to a legend file, relative to the scenario")
            if files is not None:
                if ref not in files:
                    raise table.fail(legend_id, f"the text of {ref!r} among the files given")
                text = files[ref]
            else:
                text = _read_legend(top.path, key, where)
            read[ref] = text
            legend = parse_legend(text, where, whisper_chars)
            if legend.id != legend_id:
                raise table.fail(
                    legend_id, f"a legend whose id is {legend_id!r}; {ref} has id {legend.id!r}"
                )
            prefix = ""
        elif isinstance(value, dict):
            where, prefix = top.path, f"{key}."
            legend = legend_from_table(value, where, prefix, whisper_chars, legend_id)
        else:
            raise table.fail(legend_id, "a path to a legend file (a string) or a legend table")
        if legend.target not in goods:
            raise ScenarioError(
                where,
                f"{prefix}target",
                f"a good of this scenario ({', '.join(goods)}); {legend.target!r} is not one",
            )
        out.append(legend)
    return tuple(out), read


def _read_legend(scenario: str, key: str, where: str) -> str:
    p = Path(where)
    if not _exists(p):
        raise ScenarioError(scenario, key, f"a legend file at {where!r}; none there")
    if p.is_dir():
        raise ScenarioError(scenario, key, f"a legend file at {where!r}; that is a folder")
    return read_text_file(p, "a legend file")
