"""The vol-surface assets on the tiny profile: stored rows equal the in-memory pipeline; smiles as metadata."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

from quant_assets.calendars import sessions_in_range
from quant_assets.config import load_profile
from quant_assets.defs import build_definitions
from quant_assets.defs.resources import build_resources
from quant_assets.market.store import ParquetStore
from quant_assets.options.surfaces import POINT_COLUMNS, SLICE_COLUMNS, fit_svi_surfaces

DEFS = build_definitions("tiny")
KEYS = DEFS.resolve_job_def("market_data_job").partitions_def.get_partition_keys()
RANGE = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
NEEDED = ["raw_option_quotes", "option_quotes", "rates", "vol_surface_quotes", "vol_surfaces"]


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("QUANT_ASSETS_DATA", str(tmp_path_factory.mktemp("data")))
    try:
        result = dg.materialize(
            DEFS.assets,
            selection=NEEDED,
            resources=build_resources("tiny"),
            tags={RANGE[0]: KEYS[10], RANGE[1]: KEYS[11]},
        )
        assert result.success
        meta = result.asset_materializations_for_node("vol_surfaces")[0].metadata
        yield ParquetStore(load_profile("tiny").data_dir / "store", sessions=sessions_in_range), meta
    finally:
        mp.undo()


def test_stored_surfaces_equal_the_in_memory_fit(stored):
    store, meta = stored
    for key in KEYS[10:12]:
        points, slices = fit_svi_surfaces(key, store=store)
        got_p = store.read_window("features", "vol_surface_quotes", key, key)[list(POINT_COLUMNS)]
        got_s = store.read_window("features", "vol_surfaces", key, key)[list(SLICE_COLUMNS)]
        pd.testing.assert_frame_equal(got_p, points, check_dtype=False)
        pd.testing.assert_frame_equal(got_s, slices, check_dtype=False)
        assert got_s["underlier"].nunique() == 3
        assert not got_s[["butterfly_arbitrage", "calendar_arbitrage", "vertical_arbitrage"]].to_numpy().any()
    smiles = [k for k in meta if k.startswith("smile_")]
    assert len(smiles) == 3 and "data:image/png;base64," in meta[smiles[0]].value
    assert meta["slices"].value == 2 * len(got_s)
