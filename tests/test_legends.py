"""Legends: files load or fail clearly; each mechanism does what Table 1 needs."""

from __future__ import annotations

from fractions import Fraction

import pytest

from woodmarket.build import build
from woodmarket.errors import ActionError, ScenarioError
from woodmarket.financier import Financier
from woodmarket.legendbook import LegendBook
from woodmarket.legends import load_legend, parse_legend, settle_price
from woodmarket.scenario import bundled_scenarios, load_scenario
from woodmarket.spec import RunSpec
from woodmarket.wood import Wood

SEEDS = range(12)
GOOD_LEGEND = """
id = "x_run"
title = "A Run"
episode = "A bank run."
target = "honey"
rumor = "The vault is empty."
tips = ["Oona keeps the honey."]
mechanism = "settle"
[settle]
factor = 0.5
delay = 1
"""


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("oona")


def test_the_bundled_legends_cover_the_episodes_the_article_names(scenario):
    legends = {lg.id: lg for lg in scenario.legends}
    wanted = {
        "oona_run": "honey",
        "acorn_mania": "acorns",
        "hollow_log": "berries",
        "drought": "mushrooms",
        "winter_rumor": "firewood",
        "corner": "firewood",
    }
    assert {k: legends[k].target for k in wanted} == wanted
    for lg in legends.values():
        assert lg.target in scenario.good_names
        assert lg.tips and lg.rumor and lg.episode and lg.title
    assert "1929" in legends["oona_run"].episode
    assert "ulip" in legends["acorn_mania"].episode
    assert "South Sea" in legends["hollow_log"].episode
    assert "Hunt" in legends["corner"].episode
    assert legends["oona_run"].factor == Fraction(1, 2)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (('target = "honey"\n', ""), "target"),
        (("factor = 0.5", "factor = -1"), "settle.factor"),
        (('mechanism = "settle"', 'mechanism = "magic"'), "mechanism"),
        (('tips = ["Oona keeps the honey."]', "tips = []"), "tips"),
        (("delay = 1", 'delay = "soon"'), "settle.delay"),
        (('id = "x_run"', 'id = "X Run"'), "id"),
        (("[settle]", "[settle"), "(syntax)"),
    ],
)
def test_a_broken_legend_names_file_key_and_expectation(change, key):
    text = GOOD_LEGEND.replace(*change)
    with pytest.raises(ScenarioError) as err:
        parse_legend(text, "legends/broken.toml")
    assert err.value.path == "legends/broken.toml"
    assert err.value.key == key
    assert err.value.expected


def test_a_legend_file_loads_by_path_and_ids_resolve_in_the_scenario(tmp_path, scenario):
    path = tmp_path / "mine.toml"
    path.write_text(GOOD_LEGEND)
    assert load_legend(path).id == "x_run"
    assert scenario.legend("oona_run").target == "honey"
    with pytest.raises(ActionError, match="unknown legend 'nope'; legends are acorn_mania, "):
        scenario.legend("nope")
    with pytest.raises(ScenarioError, match="none there"):
        load_legend(tmp_path / "missing.toml")
    with pytest.raises(ScenarioError, match="this is a folder"):
        load_legend(tmp_path)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (GOOD_LEGEND.encode("utf-16"), "UTF-16"),
        (b"\x00\x01binary\x00", "binary"),
        (GOOD_LEGEND.replace("A Run", "Caf\u00e9").encode("latin-1"), "not UTF-8"),
    ],
)
def test_a_legend_file_that_is_not_utf8_is_named(tmp_path, data, problem):
    path = tmp_path / "odd.toml"
    path.write_bytes(data)
    with pytest.raises(ScenarioError, match=problem) as err:
        load_legend(path)
    assert err.value.path == str(path)


def test_a_utf8_bom_loads(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD_LEGEND.encode())
    assert load_legend(path).id == "x_run"


def test_rumour_and_tips_must_fit_what_a_creature_is_told_whole():
    long = "x" * 301
    with pytest.raises(ScenarioError) as err:
        parse_legend(GOOD_LEGEND.replace("Oona keeps the honey.", long), "l.toml")
    assert err.value.key == "tips[0]" and "300" in str(err.value)
    with pytest.raises(ScenarioError) as err:
        parse_legend(GOOD_LEGEND.replace("The vault is empty.", long), "l.toml")
    assert err.value.key == "rumor"
    assert parse_legend(GOOD_LEGEND.replace("The vault is empty.", long), whisper_chars=400)


@pytest.mark.parametrize(
    ("pre", "factor", "want"),
    [(10, "1/2", 5), (9, "1/2", 4), (7, "1/2", 3), (1, "1/2", 1), (5, "3/2", 7), (3, "1/4", 1)],
)
def test_settle_rounds_half_down_and_never_below_one(pre, factor, want):
    assert settle_price(pre, Fraction(factor)) == want


def _path(scenario, seed, mechanism, gambit="showcase"):
    wood = build(RunSpec.make(scenario, seed=seed, gambit=gambit, mechanism=mechanism))
    for _ in range(6):
        wood.step()
    return wood


@pytest.fixture(scope="module", params=bundled_scenarios())
def each(request):
    """Each bundled scenario, with its showcase gambit."""
    s = load_scenario(request.param)
    return s, s.gambit("showcase")


def test_settle_lands_pre_times_factor_and_the_showcase_wins_every_seed(each):
    scenario, g = each
    legend, good = g.legend, g.target
    for seed in SEEDS:
        wood = _path(scenario, seed, "settle")
        book = wood.legends
        (s,) = book.sprung
        assert (s.turn, s.reckoning) == (g.spring_turn, g.reckoning)
        assert s.pre == wood.history[good][g.spring_turn - 1]
        assert wood.history[good][g.reckoning] == settle_price(s.pre, legend.factor)
        assert wood.financier.pnl() > 0, seed


def test_glut_lowers_the_stand_ins_price_of_the_target(each):
    scenario, g = each
    good, at = g.target, g.reckoning
    glut_at, base_at = [], []
    for seed in SEEDS:
        glut = _path(scenario, seed, "glut")
        base = _path(scenario, seed, "none")
        (s,) = glut.legends.sprung
        assert glut.history[good][at] < s.pre, seed
        assert glut.ledger.tallies[good].windfall == g.legend.qty * len(glut.names)
        glut_at.append(glut.history[good][at])
        base_at.append(base.history[good][at])
    assert sum(glut_at) < sum(base_at)


def test_rumor_moves_nothing_for_the_stand_in_seed_for_seed(each):
    scenario, _ = each
    for seed in SEEDS:
        rumor = _path(scenario, seed, "rumor")
        plain = Wood(scenario, seed)
        for _ in range(6):
            plain.step()
        assert rumor.history == plain.history, seed
        assert rumor.news  # the rumor was told
        assert not plain.news


def test_a_run_overrides_the_legends_mechanism(scenario):
    wood = Wood(scenario, 1)
    fin = Financier.attach(wood, override="rumor")
    assert fin.submit("spring oona_run").ok
    for _ in range(4):
        wood.step()
    (s,) = wood.legends.sprung
    assert s.mechanism == "rumor"
    plain = Wood(scenario, 1)
    for _ in range(4):
        plain.step()
    assert wood.history == plain.history
    with pytest.raises(ActionError, match="unknown mechanism"):
        LegendBook.attach(Wood(scenario, 1), override="magic")
    untouched = Wood(scenario, 1)
    with pytest.raises(ActionError, match="unknown mechanism 'magic'"):
        Financier.attach(untouched, override="magic")
    assert "financier" not in untouched.ledger.accounts


def test_a_legend_is_told_once_and_only_the_scenarios_own(scenario, tmp_path):
    wood = Wood(scenario, 0)
    fin = Financier.attach(wood)
    assert fin.submit("spring oona_run").ok
    again = fin.submit("spring oona_run")
    assert not again.ok and "already been told" in again.message
    odd = fin.submit("spring gold_rush")
    assert not odd.ok and "unknown legend 'gold_rush'; legends are" in odd.message
    path = tmp_path / "gold.toml"
    path.write_text(GOOD_LEGEND.replace('"honey"', '"gold"'))
    odd = fin.submit(f"spring {path}")
    assert not odd.ok and "'gold', not a good here" in odd.message


def test_the_reckoning_is_public_and_costs_the_financier_goodwill(scenario):
    wood = build(RunSpec.make(scenario, seed=3, gambit="showcase", mechanism="settle"))
    heads = [wood.step().headline for _ in range(3)]
    assert "The Run on Oona's Hoard" in heads[1]
    assert "comes true" in heads[2] and "Honey crashes" in heads[2]
    # Oona held honey through the crash: she is colder than the tip alone left her.
    assert wood.memory.score("Oona", "financier") < 0
    # Seed 4: under the stand-in a rumor leaves honey where it was.
    soured = build(RunSpec.make(scenario, seed=4, gambit="showcase", mechanism="rumor"))
    heads = [soured.step().headline for _ in range(3)]
    assert soured.history["honey"][3] >= soured.history["honey"][1]
    assert "The honey gamble had soured" in heads[2]
