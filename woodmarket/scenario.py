"""Scenario files: TOML in, a frozen, validated `Scenario` out.

A scenario names the goods, the creatures (with what they make and what
they need), the rules of the market and of living, the financier's
bankroll, objective and first trade, and the scenario's own stories: its
legends (files beside it, or inline tables) and its gambits (scripted
financier moves, as data). Nothing in the engine names a bundled creature,
good or legend: they all come from here. docs/scenarios.md documents every
key, its default and its limit.

Every error is a `ScenarioError` naming the file, the key and what was
expected; loading writes nothing anywhere. `parse_scenario(text, path,
files)` rebuilds a scenario from text alone (a run folder, a remote
worker): `files` maps each legend reference, as written in the scenario,
to that file's text, and then nothing is read from disk.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from woodmarket.errors import ActionError, ScenarioError
from woodmarket.gambits import Gambit, check_command
from woodmarket.legends import Legend, legend_from_table, parse_legend
from woodmarket.textfiles import read_text_file

_MISSING = object()
SCENARIO_DIR = Path(__file__).parent / "scenarios"
# The bundled scenarios, by key; the first is the default everywhere.
BUNDLED = ("oona", "reedmere")

# Limits generous for real use, tight enough that no file makes a turn take seconds.
MAX_CREATURES = 40
MAX_GOODS = 20
MAX_LEGENDS = 50
MAX_GAMBITS = 50
MAX_MOVES = 100  # moves (turns) per gambit
MAX_COMMANDS = 20  # commands per move, and in the first trade
MAX_NAME = 24  # characters in a good's or a creature's name
MAX_LABEL = 60  # characters in a species or a role
MAX_PERSONALITY = 500
MAX_WOOD_NAME = 80
MAX_TURNS = 1000
MAX_PRICE = 100_000
MAX_PEBBLES = 1_000_000
MAX_STORE = 1_000_000  # units of one good a creature starts with, or keeps from rot
MAX_MADE = 10_000  # units of one good a creature makes per turn
MAX_NEED = 1_000  # units of one good a creature uses up per turn
# Words of the creatures' and the financier's command language: no good or creature is named so.
COMMAND_WORDS = frozenset({"buy", "sell", "hold", "say", "think", "all"})
RESERVED_CREATURES = COMMAND_WORDS | {"financier", "house", "purse"}
# A level of a bundled scenario, `KEY:LEVEL`, is the file LEVEL.toml beside KEY.toml.
LEVEL_SEP = ":"


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
    # Units of each good used up every turn, beyond meals and fuel (living.py).
    needs: dict[str, int] = field(default_factory=dict)


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
    # The longest whisper or rumour a creature is told whole; longer legend texts fail to load.
    whisper_chars: int = 300
    # How the season is lost (0: never): the magistrate's heat reaching `heat_limit`,
    # or the financier's worth falling below `bankrupt_below` at a settlement.
    heat_limit: int = 0
    bankrupt_below: int = 0
    # The patron's levers: the dearest loan rate (percent a turn) and longest term.
    max_rate: int = 50
    max_term: int = 10
    # The one-click first trade: financier commands, checked at load.
    first_trade: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MagistrateSpec:
    """The magistrate's rule, as data (financier/magistrate.py applies it).

    A win is variation margin the house pays on a short of GOOD. A win that
    follows within `window` turns a legend sprung on GOOD, a whisper that
    names GOOD, or a bribe taken whose ask names GOOD, draws heat: for each
    such lever, its percentage of the win, rounded up. Heat cools by `cool`
    at every settlement. A settlement that raised heat to `fine_at` or more
    fines `fine_pct` percent of that settlement's suspicious wins (rounded up)
    into the public purse; to `freeze_at` or more, freezes the financier's
    account for `freeze_turns` turns. 0 turns a threshold off.
    """

    window: int = 3
    spring_pct: int = 50
    whisper_pct: int = 25
    bribe_pct: int = 50
    cool: int = 5
    fine_at: int = 40
    fine_pct: int = 50
    freeze_at: int = 60
    freeze_turns: int = 3


@dataclass(frozen=True, slots=True)
class Scenario:
    """A whole wood's definition. `text` is the file as read, `files` its legend files' texts."""

    path: str
    name: str
    turns: int
    goods: tuple[GoodSpec, ...]
    creatures: tuple[CreatureSpec, ...]
    market: MarketRules
    living: LivingRules
    financier: FinancierSpec
    legends: tuple[Legend, ...] = ()
    gambits: tuple[Gambit, ...] = ()
    key: str = ""
    text: str = field(repr=False, default="")
    files: Mapping[str, str] = field(repr=False, default_factory=dict)
    magistrate: MagistrateSpec = field(default_factory=MagistrateSpec)
    # The difficulty level's name (`[wood] level`), "" for a scenario without levels.
    level: str = ""

    @property
    def good_names(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.goods)

    @property
    def creature_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.creatures)

    @property
    def first_trade(self) -> tuple[str, ...]:
        return self.financier.first_trade

    @property
    def digest(self) -> str:
        """sha256 (hex) of the scenario text and every legend file it read, by reference."""
        blob = json.dumps({"text": self.text, "files": dict(self.files)}, sort_keys=True)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def good(self, name: str) -> GoodSpec:
        for g in self.goods:
            if g.name == name:
                return g
        raise KeyError(name)

    def legend(self, legend_id: str) -> Legend:
        for lg in self.legends:
            if lg.id == legend_id:
                return lg
        ids = ", ".join(lg.id for lg in self.legends) or "none in this scenario"
        raise ActionError(f"unknown legend {legend_id!r}; legends are {ids}")

    def gambit(self, name: str) -> Gambit:
        for g in self.gambits:
            if g.name == name:
                return g
        names = ", ".join(g.name for g in self.gambits) or "none in this scenario"
        raise ActionError(f"unknown gambit {name!r}; gambits are {names}")


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


def _exists(p: Path) -> bool:
    """Whether `p` exists; a path the system cannot even look up (too long) does not."""
    try:
        return p.exists()
    except (OSError, ValueError):
        return False


def bundled_scenarios() -> tuple[str, ...]:
    """The bundled scenarios' keys, as `--scenario` accepts them; the first is the default."""
    return BUNDLED


def scenario_path(key_or_path: str | Path) -> Path:
    """A bundled scenario's key (`oona`), a level of one (`oona:hard`) or a path to a TOML file."""
    text = str(key_or_path)
    if text in BUNDLED:
        return SCENARIO_DIR / text / f"{text}.toml"
    key, sep, level = text.partition(LEVEL_SEP)
    if sep and key in BUNDLED and level.isidentifier():
        return SCENARIO_DIR / key / f"{level}.toml"
    return Path(text)


def bundled_levels(key: str) -> tuple[str, ...]:
    """A bundled scenario's difficulty levels as `--scenario` accepts them, itself first."""
    folder = SCENARIO_DIR / key
    extra = sorted(p.stem for p in folder.glob("*.toml") if p.stem != key and p.stem.isidentifier())
    return (key, *(f"{key}{LEVEL_SEP}{lv}" for lv in extra))


def _key_of(path: str) -> str:
    for key in BUNDLED:
        for name in bundled_levels(key):
            if path == str(scenario_path(name)):
                return name
    return ""


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
    ctx = _Context(names, tuple(c.name for c in creatures), legends, market, money)
    first = _commands(top.sub("financier", required=False), "first_trade", ctx)
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
        gambits=_gambits(top, ctx),
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


# Whole-number rules tables: each field's (least, greatest) allowed value.
_LIMITS: dict[type, dict[str, tuple[int, int]]] = {
    MarketRules: {"max_orders": (1, 20), "max_qty": (1, 1000), "band": (2, 100)},
    LivingRules: {
        "meals": (0, 20),
        "burn": (0, MAX_NEED),
        "winter_start": (1, 10_000),
        "winter_every": (1, 10_000),
        "mood_start": (1, 100),
    },
    FinancierSpec: {
        "pebbles": (0, MAX_PEBBLES),
        "objective_pebbles": (0, 100 * MAX_PEBBLES),
        "objective_turn": (1, 10_000),
        "whisper_chars": (40, 2000),
        "heat_limit": (0, 100_000),
        "bankrupt_below": (0, 100 * MAX_PEBBLES),
        "max_rate": (0, 100),
        "max_term": (1, 100),
    },
    MagistrateSpec: {
        "window": (0, 100),
        "spring_pct": (0, 1000),
        "whisper_pct": (0, 1000),
        "bribe_pct": (0, 1000),
        "cool": (0, 100_000),
        "fine_at": (0, 100_000),
        "fine_pct": (0, 100),
        "freeze_at": (0, 100_000),
        "freeze_turns": (0, 100),
    },
}


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


# -- gambits and commands -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Context:
    """What a command may name: this scenario's goods, creatures and legends, and its limits."""

    goods: tuple[str, ...]
    creatures: tuple[str, ...]
    legends: tuple[Legend, ...]
    market: MarketRules
    financier: FinancierSpec

    def check(self, r: _Reader, name: str, command: Any) -> str:
        if not isinstance(command, str):
            raise r.fail(name, f"a command (a string), got {type(command).__name__}")
        try:
            check_command(
                command,
                goods=self.goods,
                creatures=self.creatures,
                legends={lg.id: lg for lg in self.legends},
                max_qty=self.market.max_qty,
                whisper_chars=self.financier.whisper_chars,
            )
        except ActionError as exc:
            raise r.fail(name, str(exc)) from None
        verb, *rest = command.split()
        return " ".join((verb.lower(), *rest))  # as the financier reads it


def _commands(r: _Reader, name: str, ctx: _Context) -> tuple[str, ...]:
    raw = r.get(name, list, [])
    if len(raw) > MAX_COMMANDS:
        raise r.fail(name, f"at most {MAX_COMMANDS} commands (the limit), got {len(raw)}")
    return tuple(ctx.check(r, f"{name}[{i}]", cmd) for i, cmd in enumerate(raw))


def _gambits(top: _Reader, ctx: _Context) -> tuple[Gambit, ...]:
    table = top.sub("gambits", required=False)
    if len(table.table) > MAX_GAMBITS:
        raise top.fail("gambits", f"at most {MAX_GAMBITS} gambits (the limit)")
    by_id = {lg.id: lg for lg in ctx.legends}
    out = []
    for name in table.table:
        if not name or not name.replace("_", "").replace("-", "").isalnum():
            raise table.fail(name, f"a gambit name of letters, digits, _ and -; got {name!r}")
        g = table.sub(name)
        g.only(("summary", "legend", "moves"))
        legend_id = g.get("legend", str)
        if legend_id not in by_id:
            known = ", ".join(by_id) or "none in this scenario"
            raise g.fail("legend", f"a legend of this scenario ({known}); {legend_id!r} is not one")
        raw = g.get("moves", list)
        if not raw or len(raw) > MAX_MOVES:
            raise g.fail("moves", f"1 to {MAX_MOVES} moves, got {len(raw)}")
        moves: list[tuple[int, tuple[str, ...]]] = []
        for i, entry in enumerate(raw):
            if not isinstance(entry, dict):
                raise g.fail(f"moves[{i}]", "a table { turn = N, commands = [...] }")
            m = _Reader(top.path, entry, f"{g.key('moves')}[{i}].")
            m.only(("turn", "commands"))
            turn = m.get("turn", int, minimum=1, maximum=MAX_TURNS)
            if moves and turn <= moves[-1][0]:
                raise m.fail(
                    "turn", f"a turn after the previous move's ({moves[-1][0]}), got {turn}"
                )
            commands = _commands(m, "commands", ctx)
            if not commands:
                raise m.fail("commands", "at least one command")
            moves.append((turn, commands))
        if not any(c.split() == ["spring", legend_id] for _, cs in moves for c in cs):
            raise g.fail("moves", f"a move that springs the gambit's legend: spring {legend_id}")
        out.append(
            Gambit(
                name=name,
                summary=g.text("summary", MAX_PERSONALITY, ""),
                legend=by_id[legend_id],
                moves=tuple(moves),
            )
        )
    return tuple(out)
