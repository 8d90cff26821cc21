"""Scenario files: the bundled default loads; every broken file names file, key and expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from woodmarket.errors import ScenarioError
from woodmarket.scenario import load_scenario, parse_scenario, scenario_path

DEFAULT = scenario_path("oona").read_text(encoding="utf-8")


def test_default_is_oonas_wood():
    s = load_scenario("oona")
    assert s.name == "Oona's Wood"
    assert s.good_names == ("acorns", "berries", "mushrooms", "honey", "firewood")
    prices = {g.name: g.price for g in s.goods}
    assert prices == {"acorns": 4, "berries": 5, "mushrooms": 6, "honey": 10, "firewood": 5}
    species = {c.name: c.species for c in s.creatures}
    assert species["Oona"] == "owl" and species["Mossback"] == "tortoise"
    makers = [c.name for c in s.creatures if c.produces.get("firewood")]
    assert makers == ["Birch"]  # one woodcutter makes all the firewood
    assert any(c.species == "fox" and not c.produces for c in s.creatures)
    for c in s.creatures:
        assert c.species and c.role and c.personality and c.pebbles > 0


def _broken(old: str, new: str) -> str:
    assert old in DEFAULT
    return DEFAULT.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        (_broken('name = "Oona\'s Wood"\n', ""), "wood.name", "missing"),
        (_broken("price = 10", 'price = "ten"'), "goods.honey.price", "whole number"),
        (
            _broken("produces = { honey = 2 }", "produces = { sap = 2 }"),
            "creatures[0].produces.sap",
            "known good",
        ),
        (
            _broken("honey = 12, acorns = 2", "honey = -1, acorns = 2"),
            "creatures[0].stores.honey",
            ">= 0",
        ),
        (_broken('name = "Mossback"', 'name = "Oona"'), "creatures[1].name", "appears twice"),
        (_broken("pebbles = 40", "pebbles = true"), "creatures[0].pebbles", "whole number"),
        (_broken("spoil_pct = 25", "spoil_pct = 250"), "goods.berries.spoil_pct", "percentage"),
        ("[wood\nname=1", "(syntax)", "valid TOML"),
        (_broken("max_orders = 4", "max_order = 4"), "market.max_order", "one of"),
        (_broken("food = true", "fod = true"), "goods.acorns.fod", "one of"),
        (_broken('species = "owl"', 'specie = "owl"'), "creatures[0].specie", "one of"),
    ],
)
def test_broken_scenarios_name_the_key(text, key, expected):
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text, "broken.toml")
    assert err.value.path == "broken.toml"
    assert err.value.key == key
    assert expected in str(err.value)
    assert str(err.value).startswith(f"broken.toml: key '{key}'")


def test_missing_file_names_the_path(tmp_path: Path):
    with pytest.raises(ScenarioError, match=r"nowhere\.toml"):
        load_scenario(tmp_path / "nowhere.toml")
