"""Both bundled scenarios, everywhere: they load, trade, hold the ledger, and their stories work.

Also the documentation's minimal scenario, loaded from docs/scenarios.md
so the doc cannot drift, and the `scenarios` and `check` commands.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from woodmarket.build import build
from woodmarket.cli import main
from woodmarket.scenario import SCENARIO_DIR, bundled_scenarios, load_scenario, parse_scenario
from woodmarket.spec import RunSpec
from woodmarket.wood import Wood

KEYS = bundled_scenarios()
DOC = Path(__file__).parent.parent / "docs" / "scenarios.md"
# The episodes Oona's Wood retells; a second scenario must tell others.
OONAS_EPISODES = ("1929", "ulip", "South Sea", "Dust Bowl", "oil crisis", "Hunt")


def test_every_scenario_folder_is_bundled_and_the_default_comes_first():
    folders = sorted(
        p.parent.name for p in SCENARIO_DIR.glob("*/*.toml") if p.stem == p.parent.name
    )
    assert sorted(KEYS) == folders and KEYS[0] == "oona" and len(KEYS) >= 2


@pytest.mark.parametrize("key", KEYS)
def test_the_stand_in_economy_trades_and_lives(key):
    s = load_scenario(key)
    for seed in range(4):
        wood = Wood(s, seed)
        traded, records = 0, []
        for _ in range(15):
            t = wood.step()  # the ledger is checked every turn: a break raises
            traded += bool(t.fills)
            records += t.records
        assert traded >= 13, (key, seed, traded)
        hungry = sum(r["kind"] == "hungry" for r in records)
        assert hungry < 15 * len(wood.names) / 2, (key, seed, hungry)
        assert sum(c.mood > 30 for c in wood.creatures.values()) >= len(wood.names) // 2


@pytest.mark.parametrize("key", KEYS)
def test_the_showcase_pays_when_its_legend_settles(key):
    s = load_scenario(key)
    g = s.gambit("showcase")
    assert g.legend.mechanism == "settle" and g.legend.factor < 1
    for seed in range(6):
        wood = build(RunSpec.make(s, seed=seed, gambit="showcase", mechanism="settle"))
        for _ in range(g.reckoning + 2):
            wood.step()
        fin = wood.financier
        assert fin.pnl() > 0, (key, seed)
        assert not fin.positions  # covered after the settlement


def test_reedmere_is_a_different_wood():
    oona, fen = load_scenario("oona"), load_scenario("reedmere")
    assert not set(oona.good_names) & set(fen.good_names)
    assert not set(oona.creature_names) & set(fen.creature_names)
    assert not {c.species for c in oona.creatures} & {c.species for c in fen.creatures}
    assert not {c.role for c in oona.creatures} & {c.role for c in fen.creatures}
    assert 6 <= len(fen.creatures) <= 7
    fuel = [g.name for g in fen.goods if g.fuel]
    assert fuel and fuel != [g.name for g in oona.goods if g.fuel]
    needed = {g for c in fen.creatures for g, n in c.needs.items() if n}
    plain = {g.name for g in fen.goods if not g.food and not g.fuel}
    assert needed & plain, "a good that is neither food nor fuel, and needed"
    assert len(fen.legends) >= 3
    assert {lg.mechanism for lg in fen.legends} == {"rumor", "glut", "settle"}
    for lg in fen.legends:
        assert not any(e in lg.episode for e in OONAS_EPISODES), lg.id
        assert lg.target in fen.good_names
    assert len(fen.gambits) >= 2 and fen.first_trade


@pytest.mark.parametrize("key", KEYS)
def test_needs_make_goods_wanted(key):
    s = load_scenario(key)
    wood = Wood(s, 0)
    for c in wood.creatures.values():
        wants = wood.wants(c, 1)
        for good, n in c.spec.needs.items():
            assert wants[good] >= 2 * n
        short = wood.short_of(c, 1)
        assert all(g not in c.spec.produces for g in short)


def _doc_example() -> str:
    blocks = re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    return next(b for b in blocks if "[wood]" in b)


def test_the_documented_minimal_scenario_loads_and_runs(tmp_path):
    text = _doc_example()
    s = parse_scenario(text, "pond.toml")
    assert s.name == "The Pond" and len(s.creatures) == 2
    assert s.legend("pond_bubble").target == "duckweed"
    assert s.creatures[1].needs == {"duckweed": 1}
    wood = build(RunSpec.make(s, gambit="showcase", mechanism="settle"))
    for _ in range(5):
        wood.step()
    path = tmp_path / "pond.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["check", str(path)]) == 0


def test_the_doc_names_every_key_the_loader_accepts():
    doc = DOC.read_text(encoding="utf-8")
    from woodmarket.legends import LEGEND_KEYS
    from woodmarket.scenario import _LIMITS, FinancierSpec

    keys = [k for table in _LIMITS.values() for k in table] + list(LEGEND_KEYS)
    keys += ["first_trade", "personality", "produces", "stores", "needs", "spoil_pct", "keep"]
    keys += ["summary", "legend", "moves", "turns", "factor", "delay", "qty"]
    assert (
        FinancierSpec().whisper_chars == 300 and "| `whisper_chars` | whole number | 300 |" in doc
    )
    assert [
        k
        for k in keys
        if f"`{k}`" not in doc and f"`settle.{k}`" not in doc and f"`glut.{k}`" not in doc
    ] == []


def test_scenarios_lists_one_bundled_scenario_per_line(capsys):
    assert main(["scenarios"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(KEYS)
    for line, key in zip(lines, KEYS, strict=True):
        s = load_scenario(key)
        for part in (*s.creature_names, *s.good_names, *(lg.id for lg in s.legends)):
            assert part in line
        assert all(g.name in line for g in s.gambits)


@pytest.mark.parametrize("key", KEYS)
def test_check_passes_every_bundled_file(key, capsys):
    s = load_scenario(key)
    assert main(["check", s.path]) == 0
    assert capsys.readouterr().out.startswith(f"{s.path}: ok (scenario ")
    for lg in s.legends:
        assert main(["check", lg.path, "--scenario", key]) == 0
        out = capsys.readouterr().out.strip()
        assert (
            out == f"{lg.path}: ok (legend {lg.id}: {lg.title!r}, target {lg.target}, "
            f"{lg.mechanism})"
        )


def test_check_reads_cast_files_and_refuses_the_rest_in_one_line(tmp_path, capsys):
    cast = tmp_path / "cast.toml"
    cast.write_text('[creatures.Tull]\npolicy = "standin"\n')
    assert main(["check", str(cast), "--scenario", "reedmere"]) == 0
    assert "ok (cast for Reedmere Fen: 6 creatures)" in capsys.readouterr().out
    assert main(["check", str(cast)]) == 2  # Tull is not in Oona's Wood
    assert "Tull" in capsys.readouterr().err
    for name, data in [
        ("odd.toml", b"x = 1\n"),
        ("bin.toml", b"\x00\x01"),
        ("u16.toml", "[wood]\n".encode("utf-16")),
        ("bad.toml", b"[wood\n"),
        ("l1.toml", "[wood]\nname = 'F\u00f6rest'\n".encode("latin-1")),
    ]:
        path = tmp_path / name
        path.write_bytes(data)
        assert main(["check", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("woodmarket: error: ") and err.count("\n") == 1, err
        assert str(path) in err
    assert main(["check", str(tmp_path / "none.toml")]) == 2
    assert "none there" in capsys.readouterr().err


@pytest.mark.parametrize("key", KEYS)
def test_the_terminal_game_offers_each_scenarios_own_first_trade_and_legends(key):
    from woodmarket.play import Game

    s = load_scenario(key)
    game = Game(build(RunSpec.make(s, financier=True)), 5)
    assert " and ".join(s.first_trade) in game.handle("help")
    listed = game.handle("legends")
    assert all(lg.id in listed for lg in s.legends)
    first = game.handle("f")
    assert "refused" not in first
    assert all(f"{cmd}: queued: " in first for cmd in s.first_trade), first
    assert "made already" in game.handle("f")
    tips = game.handle("tips")
    assert s.legends[0].tips[0] in tips
    other = next(k for k in KEYS if k != key)
    foreign = load_scenario(other).legends[0]
    assert foreign.tips[0] not in tips  # another wood's tales are not this wood's truths
    assert "refused: unknown legend" in game.handle(f"spring {foreign.id}")
