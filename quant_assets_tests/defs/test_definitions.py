"""Level 1: the definitions load and every asset, check, job, schedule and sensor resolves."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

from quant_assets import schemas
from quant_assets.calendars import sessions_in_range
from quant_assets.config import load_profile
from quant_assets.defs import build_definitions
from quant_assets.defs.market import EQUITY_MARKET_ASSETS, checks

ORACLE_GROUP = "oracle"
defs = build_definitions("tiny")
all_assets = list(defs.assets)


@pytest.fixture(scope="module")
def graph():
    return defs.resolve_asset_graph()


def test_every_asset_check_job_schedule_and_sensor_resolves(graph):
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {
        *EQUITY_MARKET_ASSETS,
        "raw_option_quotes",
        "option_quotes",
        "oracle_expected_returns",
        "oracle_option_surface",
    } <= keys
    job = defs.resolve_job_def("market_data_job")
    assert job.partitions_def is not None
    assert "raw_bars_bar_coverage" in job.graph.node_dict  # the daily job runs the checks too
    assert defs.resolve_schedule_def("market_data_schedule").job_name == "market_data_job"
    names = {}
    for key in graph.asset_check_keys:
        names.setdefault(key.asset_key.to_user_string(), set()).add(key.name)
    assert names["raw_bars"] == {checks.CHECK_ARRIVAL, checks.CHECK_BAR_COVERAGE}
    assert names["adjusted_prices"] == {
        checks.CHECK_ROW_COUNT,
        checks.CHECK_CORPORATE_ACTIONS,
        checks.CHECK_RETURN_OUTLIERS,
    }
    # Every vendor feed checks its arrival times; nothing restates a schema rule.
    for feed in ("symbols", "rates", "raw_corporate_actions", "raw_option_quotes", "oracle_expected_returns"):
        assert checks.CHECK_ARRIVAL in names[feed], feed
    assert not {"schema", "no_negative_values", "unique_keys", "ohlc_consistent"} & set().union(*names.values())


@pytest.mark.parametrize("profile", ["tiny", "demo"])
def test_built_definitions_are_partitioned_by_the_profile_sessions(profile):
    built = build_definitions(profile)
    p = load_profile(profile)
    expected = [d.strftime("%Y-%m-%d") for d in sessions_in_range(p.start, p.end)]
    assert built.resolve_job_def("market_data_job").partitions_def.get_partition_keys() == expected
    for asset in built.assets:
        if asset.partitions_def is None:  # whole-history artifacts (e.g. model selection), listed in the README
            continue
        assert asset.partitions_def.get_partition_keys() == expected, asset.key
    for check in built.asset_checks:
        for spec in check.check_specs:
            assert spec.partitions_def.get_partition_keys() == expected, spec.key


def test_partitions_are_exactly_the_profile_sessions():
    profile = load_profile("tiny")
    expected = [d.strftime("%Y-%m-%d") for d in sessions_in_range(profile.start, profile.end)]
    for asset in all_assets:
        assert asset.backfill_policy == dg.BackfillPolicy.single_run(), asset.key
        if asset.partitions_def is None:  # whole-history artifacts (e.g. model selection), listed in the README
            continue
        assert asset.partitions_def.get_partition_keys() == expected, asset.key


def test_every_asset_is_typed_by_its_pandera_schema():
    models = {m.__name__ for m in vars(schemas).values() if isinstance(m, type) and issubclass(m, schemas.Lineage)}
    for asset in all_assets:
        for key in asset.keys:
            dtype = asset.op.outs[asset.get_output_name_for_asset_key(key)].dagster_type
            assert dtype.display_name in models, (key, dtype.display_name)


def test_no_asset_reads_the_oracle(graph):
    oracle_keys = {k for k in graph.get_all_asset_keys() if graph.get(k).group_name == ORACLE_GROUP}
    assert oracle_keys
    for key in graph.get_all_asset_keys():
        if key in oracle_keys:
            continue
        assert not (graph.get(key).parent_keys & oracle_keys), f"{key} reads the oracle"


@pytest.mark.parametrize(
    "when, expected",
    [
        ("2024-03-15 16:30", "2024-03-15"),  # an ordinary Friday session, half an hour after the close
        ("2024-03-29 16:30", None),  # Good Friday: not a session
        ("2024-11-29 13:30", "outside"),  # a session, but beyond the tiny profile's range
    ],
)
def test_daily_schedule_requests_the_session_partition_or_skips(when, expected):
    schedule = defs.resolve_schedule_def("market_data_schedule")
    ctx = dg.build_schedule_context(
        scheduled_execution_time=pd.Timestamp(when, tz="America/New_York").to_pydatetime(),
        repository_def=defs.get_repository_def(),
    )
    result = schedule.evaluate_tick(ctx)
    if expected is None:
        assert not result.run_requests and "not an XNYS session" in result.skip_message
    elif expected == "outside":
        assert not result.run_requests and "outside the profile" in result.skip_message
    else:
        assert [r.partition_key for r in result.run_requests] == [expected]


def test_market_assets_carry_a_freshness_policy(graph):
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.group_name != ORACLE_GROUP:
            assert node.freshness_policy is not None, key


def test_asset_overview_shows_the_schema_columns():
    for asset in all_assets:
        for key in asset.keys:
            columns = asset.specs_by_key[key].metadata["dagster/column_schema"].schema.columns
            dtype = asset.op.outs[asset.get_output_name_for_asset_key(key)].dagster_type
            assert [c.name for c in columns] == list(getattr(schemas, dtype.display_name).to_schema().columns)
