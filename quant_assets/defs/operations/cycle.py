"""Run the daily cycle hands-off, as the daemon would: tick each schedule at its New York time,
execute what it requests, then tick the drift sensor and execute its retrain requests.

Used by ``make demo`` after the backfill and by the tests; the Dagster daemon does the same
in production with real time. :func:`shift_features` is the drift drill: it moves one session's
stored features (a simulated feed incident) so the drift sensor can be seen to fire.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

import dagster as dg
import pandas as pd

from quant_assets.calendars import EXCHANGE_TZ
from quant_assets.defs.operations.sensors import RETRAIN_JOB

__all__ = ["TICKS", "CycleRun", "run_daily_cycle", "shift_features"]

TICKS = (
    ("verify_data_schedule", 7, 0),
    ("features_schedule", 7, 5),
    ("scores_schedule", 7, 15),
    ("blotter_schedule", 7, 20),
    ("market_data_schedule", 16, 30),
    ("after_close_schedule", 17, 0),
)
"""Schedule ticks of a regular session, New York time (early closes skip the 16:30/17:00 ticks)."""
EARLY_TICKS = {"market_data_schedule": (13, 30), "after_close_schedule": (14, 0)}


class CycleRun(NamedTuple):
    """One run the cycle launched: its session, the schedule or sensor, partition, run id, success."""

    session: str
    source: str
    partition: str | None
    run_id: str
    success: bool
    skip: str | None = None


def _failures(result) -> str:
    return "; ".join(e.step_failure_data.error.message for e in result.all_events if e.is_step_failure)


def _execute(defs: dg.Definitions, instance: dg.DagsterInstance, job: str, request: dg.RunRequest):
    return defs.resolve_job_def(job).execute_in_process(
        instance=instance,
        partition_key=request.partition_key,
        asset_selection=request.asset_selection,
        tags={**request.tags, **({"dagster/run_key": request.run_key} if request.run_key else {})},
        raise_on_error=False,
    )


def shift_features(defs: dg.Definitions, session: str, by: float = 2.5) -> None:
    """Drift drill: the stored (non-flag) features of ``session`` move by ``by`` (clipped to the schema's ±4)."""
    from quant_assets.defs.resources import PITParquetIOManager

    io = defs.resources["io_manager"]
    store = PITParquetIOManager(profile=io.profile).store()
    df = store.read_window("features", "equity_features", session, session)
    cols = [c for c in df.columns if c.startswith("feature_") and not c.endswith("_missing")]
    df[cols] = (df[cols] + by).clip(-4.0, 4.0)
    stand_in = dg.asset(
        name="equity_features",
        partitions_def=defs.resolve_assets_def("equity_features").partitions_def,
        metadata={"layer": "features", "partition_expr": "asof"},
    )(lambda: df)
    result = dg.materialize([stand_in], partition_key=session, resources={"io_manager": io}, raise_on_error=False)
    if not result.success:
        raise RuntimeError(f"drift drill could not store the shifted features of {session}: {_failures(result)}")


def _when(session: str, name: str, hour: int, minute: int, early: bool) -> datetime:
    day = pd.Timestamp(session)
    if early and name in EARLY_TICKS:
        hour, minute = EARLY_TICKS[name]
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(EXCHANGE_TZ))


def run_daily_cycle(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    sessions: list[str],
    *,
    drift_drill: str | None = None,
    cursor: str | None = None,
    on_run=None,
) -> tuple[list[CycleRun], str | None]:
    """Run ``sessions`` in order through the schedules and the drift sensor; returns the runs and the cursor.

    A schedule that skips is recorded with its reason (``success`` False, no run id); a failed
    run is recorded and the cycle goes on, as the daemon would. ``on_run(CycleRun)`` is called
    after each run (progress output).
    """
    from quant_assets.calendars import session_table

    repo = defs.get_repository_def()
    schedules = {s.name: s for s in defs.schedules}
    sensors = [s for s in defs.sensors if s.name == "drift_retrain_sensor"]
    runs: list[CycleRun] = []

    def record(run: CycleRun) -> None:
        runs.append(run)
        if on_run is not None:
            on_run(run)

    early = set(session_table(sessions[0], sessions[-1]).query("is_early_close")["date"].dt.strftime("%Y-%m-%d"))
    for session in sessions:
        for name, hour, minute in TICKS:
            when = _when(session, name, hour, minute, session in early)
            ctx = dg.build_schedule_context(instance=instance, scheduled_execution_time=when, repository_def=repo)
            data = schedules[name].evaluate_tick(ctx)
            if not data.run_requests:
                record(CycleRun(session, name, None, "", False, data.skip_message))
            for request in data.run_requests or []:
                result = _execute(defs, instance, schedules[name].job_name, request)
                record(CycleRun(session, name, request.partition_key, result.run_id, result.success, _failures(result)))
            if name == "features_schedule" and session == drift_drill:
                shift_features(defs, session)
        for sensor in sensors:
            ctx = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs, sensor_name=sensor.name)
            data = sensor.evaluate_tick(ctx)
            cursor = data.cursor
            for request in data.run_requests or []:
                result = _execute(defs, instance, RETRAIN_JOB, request)
                record(CycleRun(session, sensor.name, None, result.run_id, result.success, _failures(result)))
    return runs, cursor
