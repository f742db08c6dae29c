"""Research assets on the tiny profile: stored rows equal the in-memory research path; checks can fail."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

from quant_assets.calendars import sessions_in_range
from quant_assets.config import load_profile
from quant_assets.defs import build_definitions
from quant_assets.defs.research import checks
from quant_assets.defs.resources import build_resources
from quant_assets.features import FEATURE_COLUMNS, build_feature_panel
from quant_assets.labels import LabelConfig, build_label_panel
from quant_assets.market.store import ParquetStore
from quant_assets.research import MarketFrames, build_universe

DEFS = build_definitions("tiny")
KEYS = DEFS.resolve_job_def("market_data_job").partitions_def.get_partition_keys()
RANGE = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
RESEARCH = {"universe", "equity_features", "equity_labels"}


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    mp = pytest.MonkeyPatch()
    mp.setenv("QUANT_ASSETS_DATA", str(root))
    try:
        for a, b in [(0, 24), (25, len(KEYS) - 1)]:  # two windows: history crosses runs
            result = dg.materialize(
                [*DEFS.assets, *DEFS.asset_checks],
                resources=build_resources("tiny"),
                tags={RANGE[0]: KEYS[a], RANGE[1]: KEYS[b]},
            )
            assert result.success
            failed = [
                e.check_name
                for e in result.get_asset_check_evaluations()
                if not e.passed and e.asset_key.path[-1] in RESEARCH
            ]
            assert failed == []
        store = ParquetStore(load_profile("tiny").data_dir / "store", sessions=sessions_in_range)
        yield store
    finally:
        mp.undo()


def _read(store, layer, dataset):
    return store.read_window(layer, dataset, KEYS[0], KEYS[-1], allow_missing=True)


def test_stored_universe_features_and_labels_equal_the_in_memory_path(stored):
    profile = load_profile("tiny")
    u = profile.research["universe"]
    market = MarketFrames.from_store(stored, KEYS[0], KEYS[-1])
    sessions = market.wide.sessions
    uni = build_universe(market, sessions, u["top_n"], u["window"], u["min_obs"])
    got_u = _read(stored, "features", "universe")[uni.columns].sort_values(["date", "rank"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got_u, uni, check_dtype=False)

    feats = build_feature_panel(market, sessions, universe=uni)
    got_f = _read(stored, "features", "equity_features")[["asof", "symbol", *FEATURE_COLUMNS]]
    got_f = got_f.sort_values(["asof", "symbol"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got_f, feats, check_exact=False, rtol=1e-9, atol=1e-10)

    labels = build_label_panel(market, sessions, LabelConfig.from_dict(profile.research["labels"]), universe=uni)
    got_l = _read(stored, "labels", "equity_labels")[labels.columns].sort_values(["entry_date", "symbol"])
    assert len(labels) > 0
    pd.testing.assert_frame_equal(got_l.reset_index(drop=True), labels, check_dtype=False)
    # partitioned by known date: each partition holds only rows known on that session
    for key in KEYS[-5:]:
        part = stored.read_window("labels", "equity_labels", key, key, allow_missing=True)
        assert (part["known_date"] == pd.Timestamp(key)).all()
        assert (part["exit_date"] <= pd.Timestamp(key)).all()


# --- the checks fail on bad input -------------------------------------------------------------


def _prices(rows):
    df = pd.DataFrame(rows, columns=["date", "symbol", "is_delisting"])
    return df.assign(date=pd.to_datetime(df["date"]))


def test_universe_check_fails_for_a_member_delisted_or_absent_the_session_before():
    prices = _prices([("2024-01-02", "A", False), ("2024-01-02", "B", True)])
    uni = pd.DataFrame({"date": pd.to_datetime(["2024-01-03"] * 3), "symbol": ["A", "B", "C"], "rank": [1, 2, 3]})
    bad = checks.untraded_members(uni, prices)
    assert bad["symbol"].tolist() == ["B", "C"]
    assert checks.untraded_members(uni.iloc[:1], prices).empty


def test_universe_size_check_fails_above_top_n_or_with_gaps_in_ranks():
    uni = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-03"] * 3 + ["2024-01-04"] * 2),
            "symbol": list("ABCAB"),
            "rank": [1, 2, 3, 1, 3],
        }
    )
    bad = checks.oversized_sessions(uni, top_n=2)
    assert bad["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-03", "2024-01-04"]
    assert checks.oversized_sessions(uni.iloc[:3], top_n=3).empty


def test_feature_check_fails_when_rows_and_universe_differ():
    f = pd.DataFrame({"asof": pd.to_datetime(["2024-01-03"] * 2), "symbol": ["A", "X"]})
    u = pd.DataFrame({"date": pd.to_datetime(["2024-01-03"] * 2), "symbol": ["A", "B"]})
    bad = checks.feature_universe_mismatch(f, u)
    assert sorted(bad["symbol"]) == ["B", "X"]


def test_label_checks_fail_on_a_wrong_label_and_a_row_outside_its_partition():
    lab = pd.DataFrame(
        {
            "entry_date": pd.to_datetime(["2024-01-03"] * 3),
            "symbol": list("ABC"),
            "exit_date": pd.to_datetime(["2024-01-04"] * 3),
            "known_date": pd.to_datetime(["2024-01-05", "2024-01-05", "2024-01-08"]),
            "outcome": ["tp", "sl", "delisted"],
            "label": [1, 1, -1],
        }
    )
    assert checks.label_outcome_mismatch(lab)["symbol"].tolist() == ["B"]
    assert checks.labels_outside_window(lab, pd.to_datetime(["2024-01-05"]))["symbol"].tolist() == ["C"]
