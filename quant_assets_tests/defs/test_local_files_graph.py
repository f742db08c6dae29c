"""Level 2: the same graph on your own files (the ``local_example`` profile) into a temp store."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil

import dagster as dg
import pandas as pd
import pytest

from quant_assets.calendars import sessions_in_range
from quant_assets.config import load_profile
from quant_assets.defs import build_definitions
from quant_assets.defs.resources import LocalFilesSource, build_resources
from quant_assets.market.store import ParquetStore

PROFILE = load_profile("local_example")
DEFS = build_definitions(PROFILE)
KEYS = DEFS.resolve_job_def("market_data_job").partitions_def.get_partition_keys()
RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
EXAMPLE = PROFILE.source["path"]


def _profile_on(path):
    """The example profile reading another directory."""
    return dataclasses.replace(PROFILE, source={**PROFILE.source, "path": str(path)})


def _run(first: int, last: int, profile=PROFILE, assets=None, raise_on_error=True):
    defs = DEFS if profile is PROFILE else build_definitions(profile)
    if assets is None:
        selected = [*defs.assets, *defs.asset_checks]
    else:
        selected = [a for a in defs.assets if a.key.to_user_string() in assets]
    return dg.materialize(
        selected,
        resources=build_resources(profile),
        raise_on_error=raise_on_error,
        tags={RANGE_TAGS[0]: KEYS[first], RANGE_TAGS[1]: KEYS[last]},
    )


def _failure(result, step: str) -> str:
    failures = [e for e in result.all_events if e.is_step_failure and e.step_key == step]
    assert failures, f"step {step} did not fail"
    return failures[0].event_specific_data.error.to_string()


@pytest.fixture()
def data_root(tmp_path, monkeypatch):
    monkeypatch.setenv("QUANT_ASSETS_DATA", str(tmp_path / "store_root"))
    return tmp_path / "store_root"


@pytest.fixture()
def user_dir(tmp_path):
    """A copy of the example directory the test may edit."""
    return shutil.copytree(EXAMPLE, tmp_path / "my_data")


def _store(root) -> ParquetStore:
    return ParquetStore(root / PROFILE.name / "store", sessions=sessions_in_range)


def _edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_local_profile_reads_its_directory_and_builds_no_oracle_assets():
    keys = {a.key.to_user_string() for a in DEFS.assets}
    assert {"raw_bars", "adjusted_prices", "symbols", "rates"} <= keys
    assert not {k for k in keys if k.startswith("oracle")}
    assert {"oracle_expected_returns"} <= {a.key.to_user_string() for a in build_definitions("tiny").assets}
    assert isinstance(build_resources(PROFILE)["market_source"], LocalFilesSource)
    assert KEYS == [d.strftime("%Y-%m-%d") for d in sessions_in_range("2024-01-02", "2024-01-31")]


def test_example_flows_raw_to_curated_with_its_split_dividend_and_delisting(data_root):
    result = _run(0, len(KEYS) - 1)
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    store = _store(data_root)
    assert [p.strftime("%Y-%m-%d") for p in store.partitions("raw", "raw_bars")] == KEYS
    raw = store.read_window("raw", "raw_bars", KEYS[0], KEYS[-1])
    cur = store.read_window("curated", "adjusted_prices", KEYS[0], KEYS[-1]).set_index(["symbol", "date"])
    assert len(raw) == len(cur) == 5 * 21 - 4 - 5  # EEE lists on 01-08, CCC delists on 01-24
    assert (raw["source_uri"] == "local_files://local_example/bars").all()
    closes = raw.set_index(["symbol", "date"])["close"]

    split = cur.loc[("AAA", pd.Timestamp("2024-01-17"))]
    assert split["split_ratio"] == 2.0
    prev = closes[("AAA", pd.Timestamp("2024-01-16"))]
    assert split["ret_price"] == pytest.approx(2.0 * split["close"] / prev - 1.0)
    assert abs(split["ret_price"]) < 0.1  # not the -50% of the unadjusted price

    dividend = cur.loc[("BBB", pd.Timestamp("2024-01-12"))]
    prev = closes[("BBB", pd.Timestamp("2024-01-11"))]
    assert dividend["dividend"] == 0.5
    assert dividend["ret_total"] - dividend["ret_price"] == pytest.approx(0.5 / prev)

    delisting = cur.loc[("CCC", pd.Timestamp("2024-01-24"))]
    assert bool(delisting["is_delisting"])
    assert not (raw["symbol"].eq("CCC") & (raw["date"] > "2024-01-24")).any()

    meta = result.asset_materializations_for_node("raw_bars")[-1].metadata
    assert meta["missing_sessions"].value == 0
    assert not (data_root / PROFILE.name / "store" / "oracle").exists()


def test_a_gap_is_reported_on_raw_bars_and_never_filled(data_root, user_dir):
    _edit(user_dir / "bars" / "DDD.csv", "2024-01-10,DDD,75.10,75.48,74.62,74.95,471300\n", "")
    result = _run(5, 7, profile=_profile_on(user_dir), assets={"raw_bars"})
    assert result.success
    meta = result.asset_materializations_for_node("raw_bars")[-1].metadata
    assert meta["missing_sessions"].value == 1 and meta["names_with_gaps"].value == 1
    assert meta["missing_sessions_first"].value == "DDD 2024-01-10"
    bars = _store(data_root).read_window("raw", "raw_bars", KEYS[5], KEYS[7])
    assert len(bars) == 3 * 5 - 1
    assert not (bars["symbol"].eq("DDD") & bars["date"].eq("2024-01-10")).any()


def test_a_file_off_the_layout_fails_the_raw_step_naming_it(data_root, user_dir):
    with (user_dir / "bars" / "AAA.csv").open("a") as f:
        f.write("2024-01-13,AAA,50,51,49,50,1000\n")  # a Saturday
    result = _run(0, 2, profile=_profile_on(user_dir), assets={"raw_bars"}, raise_on_error=False)
    message = _failure(result, "raw_bars")
    assert "LayoutError" in message and "bars/AAA.csv" in message and "2024-01-13 (Saturday)" in message
    assert not (data_root / PROFILE.name / "store" / "raw" / "raw_bars").exists()


def test_local_data_goes_through_the_same_boundary_validation(data_root, user_dir):
    # Well-formed cells, broken contract: the close is above the day's high.
    _edit(
        user_dir / "bars" / "BBB.csv",
        "2024-01-03,BBB,51.71,51.86,51.68,51.82,",
        "2024-01-03,BBB,51.71,51.86,51.68,55.00,",
    )
    result = _run(0, 2, profile=_profile_on(user_dir), assets={"raw_bars"}, raise_on_error=False)
    message = _failure(result, "raw_bars")
    assert "BadVendorData" in message and "bars" in message
    assert not (data_root / PROFILE.name / "store" / "raw" / "raw_bars").exists()


def test_stored_window_is_replayed_identically_and_guards_against_edited_history(data_root, user_dir):
    profile = _profile_on(user_dir)
    assert _run(0, 2, profile=profile, assets={"raw_bars"}).success
    stored = data_root / PROFILE.name / "store" / "raw" / "raw_bars"

    def digest():
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(stored.rglob("*.parquet"))}

    before = digest()
    # A later session edited: the stored window replays byte-identical (lineage ignores file content).
    _edit(user_dir / "bars" / "AAA.csv", "47.78,1835600", "47.78,1835700")
    again = _run(0, 2, profile=profile, assets={"raw_bars"})
    assert again.asset_materializations_for_node("raw_bars")[-1].metadata["partitions_unchanged"].value == 3
    assert digest() == before
    # A stored session edited in the files: refused, nothing changes.
    _edit(
        user_dir / "bars" / "AAA.csv",
        "2024-01-03,AAA,95.56,98.07,95.26,98.05,",
        "2024-01-03,AAA,95.56,98.07,95.26,98.00,",
    )
    result = _run(0, 2, profile=profile, assets={"raw_bars"}, raise_on_error=False)
    assert "ImmutablePartitionError" in _failure(result, "raw_bars")
    assert digest() == before
