"""Scenario files: the bundled ones load; every broken file names file, key and expectation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from woodmarket.errors import ActionError, ScenarioError
from woodmarket.scenario import (
    bundled_scenarios,
    load_scenario,
    parse_scenario,
    scenario_path,
)
from woodmarket.text import printable

KEYS = bundled_scenarios()
OONA = load_scenario("oona")
DEFAULT = OONA.text


def _oona_as_it_was() -> str:
    """Oona's Wood as scenario files were written before legends, gambits and needs."""
    text = DEFAULT.split("\n# The wood's legends")[0]
    lines = [ln for ln in text.splitlines(keepends=True) if "first trade" not in ln]
    return "".join(ln for ln in lines if not ln.startswith("first_trade"))


def test_default_is_oonas_wood():
    s = load_scenario("oona")
    assert s.key == "oona" and KEYS[0] == "oona"
    assert s.name == "Oona's Wood"
    assert s.good_names == ("acorns", "berries", "mushrooms", "honey", "firewood")
    prices = {g.name: g.price for g in s.goods}
    assert prices == {"acorns": 4, "berries": 5, "mushrooms": 6, "honey": 10, "firewood": 5}
    species = {c.name: c.species for c in s.creatures}
    assert species["Oona"] == "owl" and species["Mossback"] == "tortoise"
    makers = [c.name for c in s.creatures if c.produces.get("firewood")]
    assert makers == ["Birch"]  # one woodcutter makes all the firewood
    assert any(c.species == "fox" and not c.produces for c in s.creatures)
    assert not any(c.needs for c in s.creatures)
    assert s.first_trade == ("short honey 8", "whisper Oona oona_run")
    assert s.financier.whisper_chars == 300


@pytest.mark.parametrize("key", KEYS)
def test_every_bundled_scenario_is_well_formed(key):
    s = load_scenario(key)
    assert s.key == key and s.path == str(scenario_path(key))
    for c in s.creatures:
        assert c.species and c.role and c.personality and c.pebbles > 0
    assert s.legends and s.gambits and s.first_trade
    assert [lg.id for lg in s.legends] == [s.legend(lg.id).id for lg in s.legends]
    assert set(s.files) == {f"legends/{lg.id}.toml" for lg in s.legends}


@pytest.mark.parametrize("key", KEYS)
def test_a_scenario_rebuilds_from_its_text_and_files_alone(key, tmp_path, monkeypatch):
    s = load_scenario(key)
    monkeypatch.chdir(tmp_path)  # nothing on disk to find, and nothing read
    again = parse_scenario(s.text, s.path, s.files)
    assert again == s and again.digest == s.digest
    assert len(s.digest) == 64 and s.digest == load_scenario(key).digest
    ref = next(iter(s.files))
    changed = {**s.files, ref: s.files[ref].replace("title = ", "title = 'X' #", 1)}
    assert parse_scenario(s.text, s.path, changed).digest != s.digest
    elsewhere = parse_scenario(s.text, "copy.toml", s.files)
    assert elsewhere.key == "" and elsewhere.legends[0].path == str(Path("legends") / ref[8:])


def test_files_given_means_nothing_is_read_from_disk():
    with pytest.raises(ScenarioError) as err:
        parse_scenario(DEFAULT, OONA.path, {})
    assert err.value.key == "legends.acorn_mania" and "among the files given" in str(err.value)


def test_todays_scenario_files_load_unchanged(tmp_path):
    text = _oona_as_it_was()
    assert "[legends]" not in text and "gambits" not in text and "first_trade" not in text
    path = tmp_path / "old.toml"
    path.write_text(text, encoding="utf-8")
    s = load_scenario(path)
    assert s.key == "" and s.legends == () and s.gambits == () and s.first_trade == ()
    assert s.creatures == OONA.creatures and s.goods == OONA.goods
    with pytest.raises(ActionError, match="unknown legend 'oona_run'; legends are none"):
        s.legend("oona_run")
    with pytest.raises(ActionError, match="unknown gambit 'showcase'; gambits are none"):
        s.gambit("showcase")


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
        (_broken("spoil_pct = 25", "spoil_pct = 250"), "goods.berries.spoil_pct", "at most 100"),
        ("[wood\nname=1", "(syntax)", "valid TOML"),
        (_broken("max_orders = 4", "max_order = 4"), "market.max_order", "one of"),
        (_broken("food = true", "fod = true"), "goods.acorns.fod", "one of"),
        (_broken('species = "owl"', 'specie = "owl"'), "creatures[0].specie", "one of"),
        # names: goods
        (_broken("[goods.honey]", '[goods.""]'), "goods.", "1 to 24 characters"),
        (_broken("[goods.honey]", "[goods.buy]"), "goods.buy", "command word"),
        (_broken("[goods.honey]", "[goods.hold]"), "goods.hold", "command word"),
        (_broken("[goods.honey]", '[goods."wild honey"]'), "goods.wild honey", "without spaces"),
        (_broken("[goods.honey]", '[goods."hon\\u0007ey"]'), "goods.hon\x07ey", "control"),
        (_broken("[goods.honey]", "[goods.Honey]"), "goods.Honey", "lower-case"),
        # names: creatures
        (_broken('name = "Oona"', 'name = "   "'), "creatures[0].name", "without spaces"),
        (_broken('name = "Oona"', 'name = "Old Oona"'), "creatures[0].name", "without spaces"),
        (_broken('name = "Oona"', 'name = "O\\u0000na"'), "creatures[0].name", "control"),
        (_broken('name = "Oona"', 'name = "Think"'), "creatures[0].name", "command word"),
        (_broken('name = "Oona"', 'name = "all"'), "creatures[0].name", "command word"),
        (_broken('name = "Oona"', 'name = "honey"'), "creatures[0].name", "is a good"),
        (_broken('name = "Mossback"', 'name = "oona"'), "creatures[1].name", "appears twice"),
        # absurd sizes: the limit is named
        (_broken("meals = 1 ", "meals = 10000000 "), "living.meals", "at most 20"),
        (_broken("max_orders = 4", "max_orders = 5000"), "market.max_orders", "at most 20"),
        (_broken("max_qty = 10", "max_qty = 10000000"), "market.max_qty", "at most 1000"),
        (_broken("band = 3", "band = 100000"), "market.band", "at most 100"),
        (_broken("burn = 1 ", "burn = 99999999 "), "living.burn", "at most 1000"),
        (
            _broken("produces = { honey = 2 }", "produces = { honey = 2000000 }"),
            "creatures[0].produces.honey",
            "at most 10000",
        ),
        (
            _broken("honey = 12, acorns = 2", "honey = 10000000000, acorns = 2"),
            "creatures[0].stores.honey",
            "at most 1000000",
        ),
        (_broken("pebbles = 40", "pebbles = 10000000000"), "creatures[0].pebbles", "at most"),
        (_broken("pebbles = 100", "pebbles = 10000000000"), "financier.pebbles", "at most"),
        (_broken("price = 10", "price = 10000000000"), "goods.honey.price", "at most 100000"),
        (_broken("turns = 15", "turns = 100000"), "wood.turns", "at most 1000"),
        (_broken("objective_turn = 12", "whisper_chars = 5"), "financier.whisper_chars", ">= 40"),
        (
            _broken("stores = { honey = 12,", "needs = { honey = 5000 }\nstores = { honey = 12,"),
            "creatures[0].needs.honey",
            "at most 1000",
        ),
        (
            _broken("stores = { honey = 12,", "needs = { sap = 1 }\nstores = { honey = 12,"),
            "creatures[0].needs.sap",
            "known good",
        ),
        # legends
        (_broken('oona_run = "legends/oona_run.toml"', "oona_run = 3"), "legends.oona_run", "path"),
        (
            _broken('oona_run = "legends/oona_run.toml"', 'oona_run = "legends/drought.toml"'),
            "legends.oona_run",
            "has id 'drought'",
        ),
    ],
)
def test_broken_scenarios_name_the_key(text, key, expected):
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text, "broken.toml", OONA.files)
    assert err.value.path == "broken.toml"
    assert err.value.key == key
    assert expected in str(err.value)
    # The key as it is, in the error's fields; in its one line, every character visible.
    assert str(err.value).startswith(f"broken.toml: key '{printable(key)}'")
    assert "\n" not in str(err.value)


def _creatures(n: int) -> str:
    return "".join(
        f'[[creatures]]\nname = "C{i}"\nspecies = "vole"\nrole = "r"\npebbles = 1\n'
        for i in range(n)
    )


def test_too_many_creatures_or_goods_is_refused_with_the_limit():
    head = (
        '[wood]\nname = "W"\n[goods.a]\nprice = 1\nfood = true\n[goods.b]\nprice = 1\nfood = true\n'
    )
    with pytest.raises(ScenarioError, match="at most 40 creatures"):
        parse_scenario(head + _creatures(41))
    goods = "".join(f"[goods.g{i}]\nprice = 1\nfood = true\n" for i in range(21))
    with pytest.raises(ScenarioError, match="at most 20 goods"):
        parse_scenario('[wood]\nname = "W"\n' + goods + _creatures(2))
    assert len(parse_scenario(head + _creatures(40)).creatures) == 40


def test_legend_files_name_their_own_mistakes(tmp_path):
    folder = tmp_path / "w"
    (folder / "legends").mkdir(parents=True)
    for ref, text in OONA.files.items():
        (folder / ref).write_text(text, encoding="utf-8")
    scenario = folder / "w.toml"
    scenario.write_text(DEFAULT, encoding="utf-8")
    assert load_scenario(scenario).legends == tuple(
        parse_scenario(DEFAULT, str(scenario), OONA.files).legends
    )
    run = folder / "legends" / "oona_run.toml"
    good = run.read_text()
    run.write_text(good.replace("Oona has promised", "x" * 300 + " Oona has promised"))
    with pytest.raises(ScenarioError) as err:
        load_scenario(scenario)
    assert err.value.path == str(run) and err.value.key == "tips[0]"
    assert "at most 300 characters" in str(err.value)
    run.write_text(good.replace('target = "honey"', 'target = "gold"'))
    with pytest.raises(ScenarioError) as err:
        load_scenario(scenario)
    assert err.value.path == str(run) and err.value.key == "target" and "'gold'" in str(err.value)
    run.write_bytes(b"\x00\x01\x02")
    with pytest.raises(ScenarioError, match="binary") as err:
        load_scenario(scenario)
    assert err.value.path == str(run)
    run.unlink()
    with pytest.raises(ScenarioError) as err:
        load_scenario(scenario)
    assert err.value.key == "legends.oona_run" and "none there" in str(err.value)
    assert str(run) in str(err.value)
    run.mkdir()
    with pytest.raises(ScenarioError, match="folder") as err:
        load_scenario(scenario)
    assert err.value.key == "legends.oona_run"


def test_legends_may_be_inline_tables():
    text = _oona_as_it_was() + (
        "\n[legends.dry]\ntitle = 'The Dry Summer'\nepisode = 'The Dust Bowl.'\n"
        "target = 'mushrooms'\nrumor = 'No rain for weeks.'\ntips = ['The beds are dry.']\n"
        "mechanism = 'settle'\nsettle = { factor = 1.5, delay = 2 }\n"
    )
    s = parse_scenario(text, "inline.toml")
    (lg,) = s.legends
    assert (lg.id, lg.target, lg.delay, lg.path) == ("dry", "mushrooms", 2, "inline.toml")
    assert s.files == {}
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text.replace("rumor = 'No rain", "rumor = '" + "y" * 301), "inline.toml")
    assert err.value.key == "legends.dry.rumor"
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text.replace("title = 'The Dry", "id = 'wet'\ntitle = 'The Dry"), "i.toml")
    assert err.value.key == "legends.dry.id"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (DEFAULT.encode("utf-16"), "UTF-16"),
        (DEFAULT.replace("Oona's Wood", "Oona's W\u00f6od").encode("latin-1"), "not UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
        (bytes(range(256)), "binary"),
    ],
)
def test_a_scenario_that_is_not_utf8_is_named(tmp_path, data, problem):
    path = tmp_path / "odd.toml"
    path.write_bytes(data)
    with pytest.raises(ScenarioError, match=problem) as err:
        load_scenario(path)
    assert err.value.path == str(path) and err.value.key == "(file)"


def test_a_huge_or_special_file_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.toml"
    path.write_bytes(b"#" * 1_000_001)
    with pytest.raises(ScenarioError, match="at most 1000000 bytes"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match="not a regular file"):
        load_scenario("/dev/zero")


def test_a_utf8_bom_simply_loads(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + _oona_as_it_was().encode("utf-8"))
    assert load_scenario(path).name == "Oona's Wood"


def test_missing_file_or_folder_names_the_path(tmp_path: Path):
    with pytest.raises(ScenarioError, match=r"nowhere\.toml.*none there"):
        load_scenario(tmp_path / "nowhere.toml")
    with pytest.raises(ScenarioError, match="folder"):
        load_scenario(tmp_path)


# -- property: mutated scenarios load or fail with ScenarioError, never anything else ----

_LEAVES = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.text(max_size=12),
    st.floats(allow_nan=False),
    st.lists(st.integers(-3, 30), max_size=3),
    st.lists(st.text(max_size=8), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers(-3, 30), max_size=3),
    st.just({}),
    st.just([]),
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _mutate(data, path, action, value, key):
    import copy

    data = copy.deepcopy(data)
    if not path:
        return data
    parent = data
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if action == "set":
        parent[last] = value
    elif action == "delete":
        del parent[last]
    elif action == "rename" and isinstance(parent, dict):
        parent[key] = parent.pop(last)
    elif action == "add" and isinstance(parent[last], dict):
        parent[last][key] = value
    elif action == "add" and isinstance(parent[last], list):
        parent[last].append(value)
    return data


EXAMPLES = int(os.environ.get("WOODMARKET_FUZZ_EXAMPLES", "300"))
_PARSED = {key: __import__("tomllib").loads(load_scenario(key).text) for key in KEYS}
_PATHS = {key: list(_paths(_PARSED[key])) for key in KEYS}


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=st.sampled_from(KEYS),
    picks=st.lists(
        st.tuples(
            st.integers(min_value=0),
            st.sampled_from(["set", "delete", "rename", "add"]),
            _LEAVES,
            st.one_of(st.text(max_size=8), st.sampled_from(["needs", "legend", "id", "buy"])),
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_mutated_scenarios_load_or_raise_scenario_error(key, picks):
    s = load_scenario(key)
    data = _PARSED[key]
    for index, action, value, name in picks:
        paths = list(_paths(data))
        data = _mutate(data, paths[index % len(paths)], action, value, name)
    try:
        text = tomli_w.dumps(data)
    except (TypeError, ValueError):
        event("not TOML")
        return
    try:
        parse_scenario(text, s.path, s.files)
        event("loaded")
    except ScenarioError:
        event("ScenarioError")


_LEGEND_FILES = {
    (key, ref): __import__("tomllib").loads(text)
    for key in KEYS
    for ref, text in load_scenario(key).files.items()
}


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.sampled_from(sorted(_LEGEND_FILES)),
    picks=st.lists(
        st.tuples(
            st.integers(min_value=0),
            st.sampled_from(["set", "delete", "rename", "add"]),
            _LEAVES,
            st.one_of(st.text(max_size=8), st.sampled_from(["factor", "qty", "id", "delay"])),
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_mutated_legend_files_load_or_raise_scenario_error(which, picks):
    key, ref = which
    s = load_scenario(key)
    data = _LEGEND_FILES[which]
    for index, action, value, name in picks:
        paths = list(_paths(data))
        data = _mutate(data, paths[index % len(paths)], action, value, name)
    try:
        text = tomli_w.dumps(data)
    except (TypeError, ValueError):
        event("not TOML")
        return
    try:
        parse_scenario(s.text, s.path, {**s.files, ref: text})
        event("loaded")
    except ScenarioError:
        event("ScenarioError")


# -- difficulty levels and the patron's keys ---------------------------------------


@pytest.mark.parametrize("key", ["oona", "reedmere"])
def test_each_bundled_scenario_has_a_normal_and_a_hard_level(key, tmp_path, monkeypatch):
    from woodmarket.scenario import bundled_levels
    from woodmarket.spec import RunSpec

    assert bundled_levels(key) == (key, f"{key}:hard")
    normal, hard = load_scenario(key), load_scenario(f"{key}:hard")
    assert (normal.level, hard.level) == ("normal", "hard")
    assert hard.key == f"{key}:hard" and hard.creatures == normal.creatures
    assert hard.legends == normal.legends and hard.gambits == normal.gambits
    # Harder by its magistrate and its deadline (its goal is set by measurement:
    # benchmarks/levels.py), and never to be met by the showcase's settlement alone.
    assert hard.financier.objective_turn < normal.financier.objective_turn
    assert hard.magistrate.fine_at < normal.magistrate.fine_at
    assert f"{key}.toml" in hard.files  # its base travels with it
    # A run folder rebuilds the level from the spec's texts alone.
    spec = RunSpec.make(f"{key}:hard", seed=1)
    monkeypatch.chdir(tmp_path)
    assert spec.load_scenario().magistrate == hard.magistrate


def test_a_level_names_its_base_or_fails_with_the_key(tmp_path):
    (tmp_path / "lvl.toml").write_text('base = "missing.toml"\n')
    with pytest.raises(ScenarioError, match=r"base.*none there"):
        load_scenario(tmp_path / "lvl.toml")
    (tmp_path / "a.toml").write_text('base = "b.toml"\n')
    (tmp_path / "b.toml").write_text('base = "a.toml"\n')
    with pytest.raises(ScenarioError, match="without a base of its own"):
        load_scenario(tmp_path / "a.toml")
    (tmp_path / "c.toml").write_text('base = "../x.toml"\n')
    with pytest.raises(ScenarioError, match="beside this one"):
        load_scenario(tmp_path / "c.toml")


def test_the_patrons_keys_default_and_are_bounded():
    from woodmarket.scenario import FinancierSpec, MagistrateSpec

    oona = load_scenario("oona")
    text = oona.text.replace("[magistrate]\n", "[magistrate]\nsurprise = 1\n")
    with pytest.raises(ScenarioError, match=r"magistrate\.surprise"):
        parse_scenario(text, oona.path, oona.files)
    text = oona.text.replace("fine_pct = 50", "fine_pct = 101")
    with pytest.raises(ScenarioError, match=r"magistrate\.fine_pct.*at most 100"):
        parse_scenario(text, oona.path, oona.files)
    assert FinancierSpec().heat_limit == 0 and FinancierSpec().bankrupt_below == 0
    assert MagistrateSpec().fine_at == 40 and MagistrateSpec().window == 3


@pytest.mark.parametrize(
    ("edit", "key", "expected"),
    [
        (
            lambda t, first: t.replace(first, first.rsplit(" ", 1)[0] + " ²", 1),
            "first_trade[0]",
            "quantity must be a whole number >= 1, got '²'",
        ),
        (
            lambda t, first: t + '\n[goods."ho\\nney"]\nprice = 3\n',
            "goods.ho\\nney",
            "without spaces or control characters",
        ),
        (
            lambda t, first: t.replace(f'"{first}"', '"spring"', 1),
            "first_trade[0]",
            "usage: spring LEGEND",
        ),
    ],
)
def test_a_broken_scenario_is_one_line_from_check_and_writes_nothing(
    tmp_path, capsys, scenario_key, edit, key, expected
):
    """`woodmarket check` on a broken copy: one line naming the file and key, exit 2."""
    from woodmarket.cli import main

    source = load_scenario(scenario_key)
    folder = tmp_path / "copy"
    folder.mkdir()
    for ref, text in source.files.items():
        (folder / ref).parent.mkdir(parents=True, exist_ok=True)
        (folder / ref).write_text(text, encoding="utf-8")
    path = folder / "broken.toml"
    path.write_text(edit(source.text, source.first_trade[0]), encoding="utf-8")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"woodmarket: error: {path}: key '")
    assert key in err and expected in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
