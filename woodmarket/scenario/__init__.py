"""Scenarios: TOML in, a frozen, validated `Scenario` out.

A scenario names the goods, the creatures (with what they make and what
they need), the rules of the market and of living, the financier's
bankroll, objective and first trade, and the scenario's own stories: its
legends (files beside it, or inline tables) and its gambits (scripted
financier moves, as data). Nothing in the engine names a bundled creature,
good or legend: they all come from here. docs/scenarios.md documents every
key, its default and its limit.

The rooms, each importing only rooms listed above it:

    schema.py   the frozen dataclasses, the limits and the reserved words
    files.py    where the bundled scenarios and their levels are
    tables.py   typed access to one TOML table, failing with the dotted key
    moves.py    the first trade and the gambits, each command checked
    reading.py  load and parse: levels over a base, every part validated

This module only gathers their public names.
"""

from woodmarket.scenario.files import (
    BUNDLED,
    LEVEL_SEP,
    SCENARIO_DIR,
    bundled_levels,
    bundled_scenarios,
    scenario_path,
)
from woodmarket.scenario.reading import load_scenario, parse_scenario
from woodmarket.scenario.schema import _LIMITS as _LIMITS
from woodmarket.scenario.schema import (
    COMMAND_WORDS,
    MAX_COMMANDS,
    MAX_CREATURES,
    MAX_GAMBITS,
    MAX_GOODS,
    MAX_LABEL,
    MAX_LEGENDS,
    MAX_MADE,
    MAX_MOVES,
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
    Gambit,
    GoodSpec,
    LivingRules,
    MagistrateSpec,
    MarketRules,
    Scenario,
)

__all__ = [
    "BUNDLED",
    "COMMAND_WORDS",
    "LEVEL_SEP",
    "MAX_COMMANDS",
    "MAX_CREATURES",
    "MAX_GAMBITS",
    "MAX_GOODS",
    "MAX_LABEL",
    "MAX_LEGENDS",
    "MAX_MADE",
    "MAX_MOVES",
    "MAX_NAME",
    "MAX_NEED",
    "MAX_PEBBLES",
    "MAX_PERSONALITY",
    "MAX_PRICE",
    "MAX_STORE",
    "MAX_TURNS",
    "MAX_WOOD_NAME",
    "RESERVED_CREATURES",
    "SCENARIO_DIR",
    "CreatureSpec",
    "FinancierSpec",
    "Gambit",
    "GoodSpec",
    "LivingRules",
    "MagistrateSpec",
    "MarketRules",
    "Scenario",
    "bundled_levels",
    "bundled_scenarios",
    "load_scenario",
    "parse_scenario",
    "scenario_path",
]
