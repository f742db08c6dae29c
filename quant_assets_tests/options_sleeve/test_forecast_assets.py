"""The vol forecasting assets on the tiny profile: features, labels by known date, a selection, forecasts.

The whole tiny quarter is materialized (3 underliers); the profile's ``vol_forecast`` block sets a
5-session forecast horizon and a CPCV layout the quarter can hold.
"""

from __future__ import annotations

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from quant_assets import schemas
from quant_assets.calendars import sessions_in_range
from quant_assets.config import load_profile
from quant_assets.defs import build_definitions
from quant_assets.defs.market import EQUITY_MARKET_ASSETS
from quant_assets.defs.models.resources import models_dir
from quant_assets.defs.resources import build_resources
from quant_assets.market.store import ParquetStore
from quant_assets.models import TrialsLog

DEFS = build_definitions("tiny")
KEYS = DEFS.resolve_job_def("market_data_job").partitions_def.get_partition_keys()
RANGE = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
NEEDED = [
    *EQUITY_MARKET_ASSETS,
    "raw_option_quotes",
    "option_quotes",
    "vol_surface_quotes",
    "vol_surfaces",
    "vol_features",
    "vol_labels",
]


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("QUANT_ASSETS_DATA", str(tmp_path_factory.mktemp("data")))
    try:
        resources = build_resources("tiny")
        result = dg.materialize(
            DEFS.assets, selection=NEEDED, resources=resources, tags={RANGE[0]: KEYS[0], RANGE[1]: KEYS[-1]}
        )
        assert result.success
        model = dg.materialize(DEFS.assets, selection=["vol_model"], resources=resources)
        assert model.success
        last = dg.materialize(DEFS.assets, selection=["vol_forecasts"], resources=resources, partition_key=KEYS[-1])
        assert last.success
        store = ParquetStore(load_profile("tiny").data_dir / "store", sessions=sessions_in_range)
        yield store, model, last
    finally:
        mp.undo()


def test_features_are_stored_per_asof_from_the_session_before(graph):
    store, _, _ = graph
    feats = store.read_window("features", "vol_features", KEYS[0], KEYS[-1], allow_missing=True)
    schemas.VolFeatures.validate(feats)
    assert feats["underlier"].nunique() == 3
    assert pd.Timestamp(KEYS[0]) not in set(feats["asof"])  # no session before the first: no features
    surfaces = store.read_window("features", "vol_surfaces", KEYS[0], KEYS[-1])
    atm = surfaces.groupby(["date", "underlier"]).size()
    assert len(atm) and feats["feature_atm_iv"].between(0.05, 2.0).all()


def test_labels_sit_in_the_partition_of_their_known_date(graph):
    store, _, _ = graph
    labels = store.read_window("labels", "vol_labels", KEYS[0], KEYS[-1], allow_missing=True)
    schemas.VolLabels.validate(labels)
    keys = pd.DatetimeIndex(KEYS)
    assert len(labels) and (labels["known_date"] == labels["exit_date_21"]).all()
    pos = keys.get_indexer(pd.DatetimeIndex(labels["entry_date"]))
    assert (keys[pos + 21] == pd.DatetimeIndex(labels["known_date"])).all()
    one = store.read_window("labels", "vol_labels", labels["known_date"].iloc[0], labels["known_date"].iloc[0])
    assert (one["known_date"] == labels["known_date"].iloc[0]).all()


def test_selection_logs_trials_and_forecasts_have_the_agreed_interface(graph):
    store, model, last = graph
    meta = model.asset_materializations_for_node("vol_model")[0].metadata
    assert "not run" not in str(meta["verdict"].value)
    log = TrialsLog(models_dir("tiny") / "vol_trials.jsonl")
    assert len(log) == 6 and meta["n_trials"].value == 6  # 3 candidates x 2 forecasts
    out = store.read_window("scores", "vol_forecasts", KEYS[-1], KEYS[-1])
    schemas.VolForecastSchema.validate(out)
    assert out["underlier"].nunique() == 3
    assert (out["horizon"] == 5).all()
    assert np.isfinite(out[["forecast_iv_change", "forecast_straddle_pnl_bps", "conf"]].to_numpy()).all()
    for col in ("underlier", "asof", "horizon", "forecast_iv_change", "forecast_straddle_pnl_bps", "conf"):
        assert col in out.columns
