"""Level 2: materialize the graph on the tiny profile into a temp store and check what landed."""

from __future__ import annotations

import hashlib

import dagster as dg
import pandas as pd
import pytest

from quant_assets.calendars import sessions_in_range
from quant_assets.definitions import all_assets
from quant_assets.defs.resources import PITParquetIOManager, SyntheticMarketSource, build_resources
from quant_assets.defs.runtime import PARTITIONS
from quant_assets.market.store import ParquetStore

KEYS = PARTITIONS.get_partition_keys()
RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


def run_window(first: int, last: int, resources=None, raise_on_error=True, assets=None):
    return dg.materialize(
        assets or all_assets,
        resources=resources or build_resources("tiny"),
        tags={RANGE_TAGS[0]: KEYS[first], RANGE_TAGS[1]: KEYS[last]},
        raise_on_error=raise_on_error,
    )


@pytest.fixture()
def data_root(tmp_path, monkeypatch):
    monkeypatch.setenv("QUANT_ASSETS_DATA", str(tmp_path))
    return tmp_path


def _store(root) -> ParquetStore:
    return ParquetStore(root / "tiny" / "store", sessions=sessions_in_range)


def _file_hashes(root, pattern: str = "*.parquet") -> dict:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob(pattern))
        if p.is_file()
    }


def test_window_run_writes_one_partition_per_session_and_rerun_is_a_noop(data_root):
    result = run_window(0, 4)
    assert result.success
    store = _store(data_root)
    for layer, dataset in [("raw", "raw_bars"), ("curated", "adjusted_prices"), ("reference", "sessions")]:
        assert [p.strftime("%Y-%m-%d") for p in store.partitions(layer, dataset)] == KEYS[:5]
    bars = store.read_window("raw", "raw_bars", KEYS[0], KEYS[4])
    assert sorted(bars["date"].dt.strftime("%Y-%m-%d").unique()) == KEYS[:5]
    before = _file_hashes(data_root)

    again = run_window(0, 4)
    mats = again.asset_materializations_for_node("raw_bars")
    assert mats[-1].metadata["partitions_unchanged"].value == 5
    assert _file_hashes(data_root) == before  # replaying the days reproduces identical files


def test_curated_in_two_windows_equals_curated_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("QUANT_ASSETS_DATA", str(tmp_path / "a"))
    assert run_window(0, 5).success and run_window(6, 11).success
    split = _store(tmp_path / "a").read_window("curated", "adjusted_prices", KEYS[0], KEYS[11])
    monkeypatch.setenv("QUANT_ASSETS_DATA", str(tmp_path / "b"))
    assert run_window(0, 11).success
    whole = _store(tmp_path / "b").read_window("curated", "adjusted_prices", KEYS[0], KEYS[11])
    pd.testing.assert_frame_equal(split, whole)
    # The first session of the second window has returns (its previous close was found).
    second = split[split["date"] == pd.Timestamp(KEYS[6])]
    assert second["ret_price"].notna().mean() > 0.9


class _DriftingSource(SyntheticMarketSource):
    """A vendor that re-delivers a stored day with different prices."""

    def fetch(self, dataset, start, end):
        df = super().fetch(dataset, start, end)
        if dataset == "bars":
            df = df.assign(close=df["close"] * 1.01, high=df["high"] * 1.01)
        return df


class _BrokenSource(SyntheticMarketSource):
    """A vendor that delivers a negative volume."""

    def fetch(self, dataset, start, end):
        df = super().fetch(dataset, start, end)
        if dataset == "bars":
            df = df.copy()
            df.loc[df.index[3], "volume"] = -100
        return df


def test_changed_vendor_content_is_refused_and_nothing_stored_changes(data_root):
    assert run_window(0, 2).success
    before = _file_hashes(data_root)
    resources = {**build_resources("tiny"), "market_source": _DriftingSource(profile="tiny")}
    result = run_window(0, 2, resources=resources, raise_on_error=False)
    assert not result.success
    failure = [e for e in result.all_events if e.is_step_failure and e.step_key == "raw_bars"]
    assert failure and "ImmutablePartitionError" in failure[0].event_specific_data.error.to_string()
    assert _file_hashes(data_root) == before


def test_bad_vendor_data_is_rejected_at_the_boundary(data_root):
    assert run_window(0, 2).success
    before = _file_hashes(data_root / "tiny" / "store" / "raw" / "raw_bars", "*")
    resources = {**build_resources("tiny"), "market_source": _BrokenSource(profile="tiny")}
    result = run_window(3, 4, resources=resources, raise_on_error=False)
    failure = [e for e in result.all_events if e.is_step_failure and e.step_key == "raw_bars"]
    assert failure
    message = failure[0].event_specific_data.error.to_string()
    assert "BadVendorData" in message and "volume" in message
    # Nothing stored for the feed changed, and its dependents did not run on the bad window.
    assert _file_hashes(data_root / "tiny" / "store" / "raw" / "raw_bars", "*") == before
    assert not [e for e in result.all_events if e.step_key == "adjusted_prices" and e.is_step_success]
    stored = [p.strftime("%Y-%m-%d") for p in _store(data_root).partitions("raw", "raw_bars")]
    assert stored == KEYS[:3]


def test_forced_reingest_keeps_the_old_file(data_root):
    assert run_window(0, 1).success
    resources = {
        "market_source": _DriftingSource(profile="tiny"),
        "io_manager": PITParquetIOManager(profile="tiny", force_raw=True),
    }
    assets = [a for a in all_assets if a.key.to_user_string() == "raw_bars"]
    assert run_window(0, 1, resources=resources, assets=assets).success
    day = data_root / "tiny" / "store" / "raw" / "raw_bars" / f"date={KEYS[0]}"
    assert len(list(day.glob("*.superseded.parquet"))) == 1


def test_checks_pass_and_metadata_reports_headlines(data_root):
    result = run_window(0, 3)
    evals = result.get_asset_check_evaluations()
    assert evals and all(e.passed for e in evals)
    meta = result.asset_materializations_for_node("adjusted_prices")[-1].metadata
    assert meta["row_count"].value > 0 and "path" in meta


class _UnknownSectorSource(SyntheticMarketSource):
    """A vendor whose symbol master carries a sector outside the taxonomy."""

    def fetch(self, dataset, start, end):
        df = super().fetch(dataset, start, end)
        if dataset == "symbols":
            df = df.copy()
            df.loc[df.index[:2], "sector"] = "Crypto"
        return df


def test_schema_violation_fails_the_step_before_anything_is_stored(data_root):
    resources = {**build_resources("tiny"), "market_source": _UnknownSectorSource(profile="tiny")}
    assets = [a for a in all_assets if a.key.to_user_string() == "symbols"]
    result = run_window(0, 1, resources=resources, assets=assets, raise_on_error=False)
    failure = [e for e in result.all_events if e.is_step_failure]
    assert failure
    text = failure[0].event_specific_data.error.to_string() + str(
        failure[0].event_specific_data.user_failure_data
    )
    assert "Symbols" in text and "sector" in text and "Crypto" in text
    assert not (data_root / "tiny" / "store" / "reference" / "symbols").exists()
