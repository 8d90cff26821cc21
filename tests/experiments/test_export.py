"""Parquet export: the documented tables, loadable with pandas and with `datasets`."""

from __future__ import annotations

import json

import pytest

from woodmarket.experiments.export import EXPORT_VERSION, TABLES, export

ORIGINAL = ["turn", "creature", "system", "user", "response", "thought", "offers", "gossip"]


@pytest.fixture(scope="module")
def exported(standin_sweep, tmp_path_factory):
    _, result = standin_sweep
    out = tmp_path_factory.mktemp("parquet")
    counts = export(result.folder, out)
    return result, out, counts


def test_every_table_is_written_with_its_schema(exported):
    result, out, counts = exported
    assert set(counts) == set(TABLES)
    assert counts["runs"] == len(result.outcomes)
    schema = json.loads((out / "schema.json").read_text())
    assert schema["export_version"] == EXPORT_VERSION
    assert schema["tables"]["creature_turns"][1:9] == ORIGINAL


def test_pandas_reads_the_tables_and_they_agree_with_the_sweep(exported):
    pd = pytest.importorskip("pandas")
    result, out, counts = exported
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == counts["runs"]
    by_id = {o["folder"]: o for o in result.outcomes}
    for row in runs.itertuples():
        o = by_id[row.run_id]
        assert (row.world, row.seed) == (o["world"], o["seed"])
        assert (row.pnl, row.before) == (o["pnl"], o["before"])
        assert row.at_settlement == o["at_settlement"]
        assert list(row.target_path) == o["path"]
    turns = pd.read_parquet(out / "creature_turns.parquet")
    assert len(turns) == counts["creature_turns"] == len(result.outcomes) * 5 * 5
    assert turns.columns[1:9].tolist() == ORIGINAL
    fills = pd.read_parquet(out / "fills.parquet")
    prices = pd.read_parquet(out / "prices.parquet")
    assert (fills.price > 0).all() and set(prices.good) >= {"honey", "acorns"}
    events = pd.read_parquet(out / "events.parquet")
    assert {"financier", "book", "headline"} <= set(events.kind)


def test_datasets_loads_the_tables(exported, tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    _, out, counts = exported
    ds = datasets.load_dataset(
        "parquet",
        data_files={"train": str(out / "creature_turns.parquet")},
        split="train",
        cache_dir=str(tmp_path / "cache"),
    )
    assert ds.num_rows == counts["creature_turns"]
    assert ds.column_names[1:9] == ORIGINAL
    first = ds[0]
    assert isinstance(first["offers"], list) and first["policy"] == "standin"


def test_one_run_folder_exports_too(standin_sweep, tmp_path):
    _, result = standin_sweep
    folder = result.folder / result.outcomes[0]["folder"]
    counts = export(folder, tmp_path / "one")
    assert counts["runs"] == 1 and counts["creature_turns"] == 25


def test_a_folder_that_is_neither_is_refused(tmp_path):
    from woodmarket.errors import WoodmarketError

    with pytest.raises(WoodmarketError, match="neither a run folder nor a sweep folder"):
        export(tmp_path, tmp_path / "out")
