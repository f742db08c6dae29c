"""The DuckDB catalog behind the ``duckdb`` resource follows every write of the IO manager."""

from __future__ import annotations

import dagster as dg
import pytest

from quant_assets.calendars import sessions_in_range
from quant_assets.defs import build_definitions
from quant_assets.defs.resources import build_resources, catalog_path
from quant_assets.market.store import ParquetStore

DEFS = build_definitions("tiny")
KEYS = DEFS.resolve_job_def("market_data_job").partitions_def.get_partition_keys()
RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
DATASETS = {"raw_bars": ("raw", "raw_bars"), "curated_adjusted_prices": ("curated", "adjusted_prices")}


def _view_counts() -> dict:
    """Row counts per view as seen through the profile's ``duckdb`` resource."""
    with build_resources("tiny")["duckdb"].get_connection() as con:
        return {view: con.execute(f"select count(*) from {view}").fetchone()[0] for view in DATASETS}


def _materialize(first: int, last: int):
    return dg.materialize(
        [*DEFS.assets],
        resources=build_resources("tiny"),
        tags={RANGE_TAGS[0]: KEYS[first], RANGE_TAGS[1]: KEYS[last]},
    )


@pytest.fixture()
def data_root(tmp_path, monkeypatch):
    monkeypatch.setenv("QUANT_ASSETS_DATA", str(tmp_path))
    return tmp_path


def test_catalog_views_are_current_after_each_write_and_named_as_reported(data_root):
    store = ParquetStore(data_root / "tiny" / "store", sessions=sessions_in_range)
    for last in (2, 4):
        result = _materialize(0, last)
        reported = {
            result.asset_materializations_for_node(node)[-1].metadata["duckdb_view"].value
            for node in ("raw_bars", "adjusted_prices")
        }
        assert reported == set(DATASETS)
        counts = _view_counts()
        expected = {
            view: len(store.read_window(layer, dataset, KEYS[0], KEYS[last]))
            for view, (layer, dataset) in DATASETS.items()
        }
        assert counts == expected
    assert catalog_path("tiny") == data_root / "tiny" / "catalog.duckdb"
