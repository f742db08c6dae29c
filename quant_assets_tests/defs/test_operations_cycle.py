"""The nightly cycle on the `tiny` profile, hands-off, through Dagster's schedule and sensor machinery.

After a backfill of the first sessions, each following session runs as the runbook says: every
schedule is ticked at its New York time with ``build_schedule_context``, every run request is
executed in process against one temporary instance, and the drift sensor is ticked with
``build_sensor_context`` after the close. On one session the stored features are shifted (the
drift drill): drift crosses its threshold, the sensor launches ``challenger_retrain_job`` once
with the reason in the run's tags, and does not fire again while the episode lasts.
"""

from __future__ import annotations

import time

import dagster as dg
import pytest

from quant_assets.defs import build_definitions
from quant_assets.defs.operations.cycle import TICKS, run_daily_cycle
from quant_assets.defs.operations.sensors import REASON_TAG, RETRAIN_JOB, SESSION_TAG

PROFILE = "tiny"
BACKFILL = 30  # sessions stored before the daily cycle starts
CYCLE = 3  # sessions run by the schedules
DRIFT_AT = 1  # the cycle session whose features are shifted
RANGE = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


def backfill(defs: dg.Definitions, instance: dg.DagsterInstance, keys: list[str]) -> None:
    """The history before the cycle: session graph, then the research sleeve and the book over it."""
    retrain = dg.AssetSelection.assets("challenger_selection").downstream()
    sleeve = dg.AssetSelection.groups("models").downstream() - retrain
    for selection in (dg.AssetSelection.all() - sleeve - retrain, sleeve):
        result = dg.materialize(
            [*defs.assets, *defs.asset_checks],
            selection=selection,
            instance=instance,
            resources=defs.resources,
            tags={RANGE[0]: keys[0], RANGE[1]: keys[-1]},
        )
        assert result.success


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("QUANT_ASSETS_DATA", str(tmp_path_factory.mktemp("cycle")))
    try:
        defs = build_definitions(PROFILE)
        keys = defs.resolve_job_def("market_data_job").partitions_def.get_partition_keys()
        with dg.instance_for_test() as instance:
            t0 = time.perf_counter()
            backfill(defs, instance, keys[:BACKFILL])
            t1 = time.perf_counter()
            sessions = keys[BACKFILL : BACKFILL + CYCLE]
            runs, cursor = run_daily_cycle(defs, instance, sessions, drift_drill=sessions[DRIFT_AT])
            yield {
                "instance": instance,
                "sessions": sessions,
                "runs": runs,
                "cursor": cursor,
                "seconds": (t1 - t0, time.perf_counter() - t1),
            }
    finally:
        mp.undo()


def test_every_step_of_every_session_ran_and_succeeded(cycle):
    failed = [r for r in cycle["runs"] if not r.success]
    assert not failed, failed
    ran = {(r.session, r.source) for r in cycle["runs"]}
    assert ran >= {(s, name) for s in cycle["sessions"] for name, _, _ in TICKS}
    instance = cycle["instance"]
    for key in ("data_freshness", "equity_features", "target_portfolio", "daily_blotter", "pnl", "drift_metrics"):
        assert set(cycle["sessions"]) <= instance.get_materialized_partitions(dg.AssetKey(key)), key
    print("backfill %.1f s, cycle %.1f s" % cycle["seconds"])


def test_drift_on_the_shifted_session_launches_one_retrain_with_its_reason(cycle):
    drift_session = cycle["sessions"][DRIFT_AT]
    (retrain,) = [r for r in cycle["runs"] if r.source == "drift_retrain_sensor"]
    assert retrain.session == drift_session and retrain.success
    run = cycle["instance"].get_run_by_id(retrain.run_id)
    assert run.job_name == RETRAIN_JOB
    assert run.tags[SESSION_TAG] == drift_session
    assert run.tags[REASON_TAG].startswith("feature drift: median PSI")
    event = cycle["instance"].get_latest_materialization_event(dg.AssetKey("drift_metrics"))
    assert "drift_history" in event.asset_materialization.metadata
