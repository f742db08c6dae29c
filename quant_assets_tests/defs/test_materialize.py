"""Level 2: materialize the graph on the tiny profile into a temp store and check what landed."""

from __future__ import annotations

import hashlib

import dagster as dg
import pandas as pd
import pytest

from quant_assets.calendars import sessions_in_range
from quant_assets.defs import build_definitions
from quant_assets.defs.resources import PITParquetIOManager, SyntheticMarketSource, build_resources
from quant_assets.market.store import ParquetStore

DEFS = build_definitions("tiny")
all_assets = list(DEFS.assets)
KEYS = DEFS.resolve_job_def("market_data_job").partitions_def.get_partition_keys()
RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


def run_window(first: int, last: int, resources=None, raise_on_error=True, assets=None):
    """Materialize ``assets`` (default: the whole graph with its checks) over KEYS[first..last]."""
    return dg.materialize(
        assets or [*all_assets, *DEFS.asset_checks],
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
    text = failure[0].event_specific_data.error.to_string() + str(failure[0].event_specific_data.user_failure_data)
    assert "Symbols" in text and "sector" in text and "Crypto" in text
    assert not (data_root / "tiny" / "store" / "reference" / "symbols").exists()


# --- asset checks in runs: dirt warns, faults block what depends on them ---------------------

PRICE_ASSETS = ("symbols", "raw_bars", "raw_corporate_actions", "raw_delistings", "adjusted_prices")


def run_prices(first: int, last: int, source=None):
    """Materialize the price assets and all their checks over KEYS[first..last]."""
    assets = [a for a in all_assets if a.key.to_user_string() in PRICE_ASSETS]
    resources = {**build_resources("tiny"), **({"market_source": source} if source else {})}
    return run_window(first, last, resources=resources, raise_on_error=False, assets=[*assets, *DEFS.asset_checks])


def check_outcomes(result) -> dict:
    """``{(asset, check): (passed, severity)}`` of a run."""
    return {
        (e.asset_key.to_user_string(), e.check_name): (e.passed, e.severity)
        for e in result.get_asset_check_evaluations()
    }


def curated_ran(result) -> bool:
    return any(e.step_key == "adjusted_prices" and e.is_step_success for e in result.all_events)


class _GappySource(SyntheticMarketSource):
    """A vendor whose bars miss ``n_names`` listed names on the window's second session."""

    n_names: int = 1

    def fetch(self, dataset, start, end):
        df = super().fetch(dataset, start, end)
        if dataset == "bars":
            day = sorted(df["date"].unique())[1]
            gone = sorted(df.loc[df["date"] == day, "symbol"])[: self.n_names]
            df = df[~((df["date"] == day) & df["symbol"].isin(gone))].reset_index(drop=True)
        return df


class _BadPrintSource(SyntheticMarketSource):
    """A vendor that prints one name at three times its price on the window's second session."""

    def fetch(self, dataset, start, end):
        df = super().fetch(dataset, start, end)
        if dataset == "bars":
            df = df.copy()
            row = df.index[(df["date"] == sorted(df["date"].unique())[1])][0]
            df.loc[row, ["open", "high", "low", "close", "vwap"]] *= 3.0
        return df


def test_a_name_missing_a_day_warns_and_curation_completes(data_root):
    result = run_prices(0, 2, _GappySource(profile="tiny", n_names=1))
    outcomes = check_outcomes(result)
    assert outcomes[("raw_bars", "bar_coverage")] == (False, dg.AssetCheckSeverity.WARN)
    assert result.success and curated_ran(result)
    assert all(passed for (asset, _), (passed, _) in outcomes.items() if asset == "adjusted_prices")


def test_a_session_missing_many_names_is_an_error_that_blocks_curation(data_root):
    result = run_prices(0, 2, _GappySource(profile="tiny", n_names=6))  # 6 of ~30 names
    assert check_outcomes(result)[("raw_bars", "bar_coverage")] == (False, dg.AssetCheckSeverity.ERROR)
    assert not result.success and not curated_ran(result)


def test_a_bad_print_warns_as_a_return_outlier_and_blocking_checks_pass(data_root):
    result = run_prices(0, 3, _BadPrintSource(profile="tiny"))
    outcomes = check_outcomes(result)
    assert outcomes[("adjusted_prices", "return_outliers")] == (False, dg.AssetCheckSeverity.WARN)
    assert result.success and curated_ran(result)
    failed = {k for k, (passed, _) in outcomes.items() if not passed}
    assert failed == {("adjusted_prices", "return_outliers")}


def test_rows_stamped_after_their_arrival_fail_and_block_curation(data_root, monkeypatch):
    from quant_assets.defs.market import assets as market_assets

    ingest = market_assets.ingest_feed

    def late_ingest(feed, source, sessions):
        df = ingest(feed, source, sessions)
        return df.assign(ingested_at=df["ingested_at"] + pd.Timedelta(days=1)) if feed.name == "raw_bars" else df

    monkeypatch.setattr(market_assets, "ingest_feed", late_ingest)
    result = run_prices(0, 1)
    assert check_outcomes(result)[("raw_bars", "ingested_at_within_arrival")] == (False, dg.AssetCheckSeverity.ERROR)
    assert not result.success and not curated_ran(result)


def _first_dividend_window() -> tuple[int, int]:
    ca = SyntheticMarketSource(profile="tiny").fetch("corporate_actions", KEYS[0], KEYS[-1])
    ex = ca.loc[ca["event_type"] == "dividend", "ex_date"].min().strftime("%Y-%m-%d")
    return KEYS.index(ex) - 1, KEYS.index(ex)


@pytest.mark.parametrize(
    "fault, failing",
    [
        ("dividends_twice", "corporate_actions_applied_once"),
        ("row_dropped", "row_count_matches_raw"),
    ],
)
def test_a_curation_fault_fails_its_blocking_check(data_root, monkeypatch, fault, failing):
    from quant_assets.defs.market import assets as market_assets

    curate = market_assets.curate_window

    def faulty_curate(sessions, raw_bars, raw_corporate_actions, raw_delistings, **kwargs):
        if fault == "dividends_twice":
            raw_corporate_actions = pd.concat([raw_corporate_actions, raw_corporate_actions], ignore_index=True)
        out = curate(sessions, raw_bars, raw_corporate_actions, raw_delistings, **kwargs)
        return out.iloc[1:].reset_index(drop=True) if fault == "row_dropped" else out

    monkeypatch.setattr(market_assets, "curate_window", faulty_curate)
    result = run_prices(*_first_dividend_window())
    outcomes = check_outcomes(result)
    assert outcomes[("adjusted_prices", failing)] == (False, dg.AssetCheckSeverity.ERROR)
    assert not result.success
    assert {k[1] for k, (passed, _) in outcomes.items() if not passed} == {failing}
