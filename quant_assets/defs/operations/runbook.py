"""The live runbook (blueprint §12) as jobs and schedules on XNYS sessions, New York time.

Each step is a job over the assets it refreshes and a schedule that requests the session's
partition. Schedules run in ``America/New_York`` (so 07:00 stays 07:00 local across daylight
saving), request nothing on weekdays that are not sessions (holidays) or outside the profile's
range, and the after-close steps fire at the first tick after the exchange's own close of the
day (13:00 on early closes, 16:00 otherwise).

=========  ======================  ==========================================================
07:00      ``verify_data_job``     sessions and symbols master of ``t``; ``data_freshness`` (the
                                   previous session of every feed is stored, else the run fails
                                   naming the stale feeds)
07:05      ``features_job``        universe and features of ``t`` (data through ``t - 1``);
                                   labels known at the close of ``t - 1`` (a second run)
07:15      ``scores_job``          scores, target portfolio, vol forecasts
07:20      ``blotter_job``         the trade blotter
close+30m  ``market_data_job``     ingest and curate session ``t``; vol surfaces
close+60m  ``after_close_job``     orders and fills (replayed at the session's open prices),
                                   positions, realized PnL, backtest, option strategies (from the
                                   session's closing surfaces and quotes), drift metrics,
                                   tripwires, Go/No-Go, challenger shadow books, promotion
=========  ======================  ==========================================================

A failed freshness verification stops the day: the later steps of that session skip, saying
so and pointing at the verification run. Assets a step names that the graph does not define
(a sleeve not built for this profile) are left out of its selection.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

import dagster as dg
import pandas as pd

from quant_assets.calendars import EXCHANGE_TZ, is_session, previous_session, session_close_utc

__all__ = [
    "AFTER_CLOSE_FRESHNESS",
    "AFTER_CLOSE_STEPS",
    "MORNING_FRESHNESS",
    "MORNING_STEPS",
    "Step",
    "build_runbook",
    "session_of",
    "with_runbook_freshness",
]

MARKET_GROUPS = ("reference", "raw", "curated", "oracle")
FRESHNESS_ASSET = "data_freshness"
CLOSE_TICK_HOURS = (13, 16)
"""Local hours of the after-close ticks: the first one past the day's close (+ delay) runs."""


@dataclass(frozen=True)
class Step:
    """One runbook step: a job over ``assets`` (partition ``t``) and ``previous`` (partition ``t - 1``)."""

    job: str
    description: str
    assets: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    previous: tuple[str, ...] = ()
    at: str | None = None
    """Local time ``HH:MM`` of a morning step."""
    after_close: timedelta | None = None
    """Delay after the session's close of an evening step."""
    needs_challenger: tuple[str, ...] = ()
    """Assets run only once a challenger has been trained (``challenger_selection`` stored)."""


MORNING_STEPS = (
    Step(
        "verify_data_job",
        "07:00: the session's calendar row and symbols master, and the freshness of every feed's previous session.",
        assets=("sessions", "symbols", FRESHNESS_ASSET),
        at="07:00",
    ),
    Step(
        "features_job",
        "07:05: universe and features of the session (data through the close before); labels known since.",
        assets=("universe", "equity_features", "vol_features"),
        previous=("equity_labels", "vol_labels"),
        at="07:05",
    ),
    Step(
        "scores_job",
        "07:15: scores, target portfolio under risk caps and costs, vol forecasts.",
        assets=("equity_scores", "target_portfolio", "vol_forecasts"),
        at="07:15",
    ),
    Step(
        "blotter_job",
        "07:20: the trade blotter (targets, rationale, expected edge) in Markdown and JSON.",
        ("daily_blotter",),
        at="07:20",
    ),
)
AFTER_CLOSE_STEPS = (
    Step(
        "market_data_job",
        "After the close: ingest and curate the session of every market-data feed; vol surfaces.",
        assets=("vol_surface_quotes", "vol_surfaces"),
        groups=MARKET_GROUPS,
        after_close=timedelta(minutes=30),
    ),
    Step(
        "after_close_job",
        "After the close: realized PnL, option strategies, drift metrics, tripwires, Go/No-Go, challengers.",
        assets=(
            "options_strategies",
            "orders",
            "fills",
            "positions",
            "pnl",
            "backtest_equities",
            "drift_metrics",
            "tripwires",
            "go_no_go",
            "go_no_go_scorecard",
            "shadow_positions",
            "shadow_pnl",
            "promotion_decisions",
            "options_backtest",
        ),
        needs_challenger=("shadow_positions", "shadow_pnl", "promotion_decisions"),
        after_close=timedelta(minutes=60),
    ),
)


def session_of(scheduled: pd.Timestamp | object) -> pd.Timestamp:
    """The New York calendar day of a tick (tz-naive midnight)."""
    return pd.Timestamp(scheduled).tz_convert(EXCHANGE_TZ).tz_localize(None).normalize()


def _cron(step: Step) -> str:
    if step.at is not None:
        hh, mm = step.at.split(":")
        return f"{int(mm)} {int(hh)} * * 1-5"
    minutes = int(step.after_close.total_seconds() // 60)
    hours = ",".join(str(h + minutes // 60) for h in CLOSE_TICK_HOURS)
    return f"{minutes % 60} {hours} * * 1-5"


def _first_tick_after_close(day: pd.Timestamp, step: Step) -> pd.Timestamp:
    """The first of the day's ticks at or after ``close + delay`` (New York time)."""
    due = session_close_utc(day).tz_convert(EXCHANGE_TZ) + step.after_close
    minute = int(step.after_close.total_seconds() // 60) % 60
    hours = (h + int(step.after_close.total_seconds() // 3600) for h in CLOSE_TICK_HOURS)
    ticks = [pd.Timestamp(day).tz_localize(EXCHANGE_TZ) + pd.Timedelta(hours=h, minutes=minute) for h in hours]
    return min(t for t in ticks if t >= due)


def _keys(step: Step, available: Collection[str], field: str = "assets") -> list[str]:
    return [k for k in getattr(step, field) if k in available]


def _selection(step: Step, available: Collection[str]) -> dg.AssetSelection:
    keys = _keys(step, available) + _keys(step, available, "previous")
    selection = dg.AssetSelection.assets(*keys)
    return selection | dg.AssetSelection.groups(*step.groups) if step.groups else selection


def _gate(instance: dg.DagsterInstance, key: str) -> str | None:
    """Why session ``key``'s day is stopped (the freshness verification did not pass), else None."""
    if key in instance.get_materialized_partitions(dg.AssetKey(FRESHNESS_ASSET)):
        return None
    records = instance.get_run_records(
        dg.RunsFilter(job_name=MORNING_STEPS[0].job, tags={"dagster/partition": key}), limit=1
    )
    where = f"run {records[0].dagster_run.run_id} ({records[0].dagster_run.status.value})" if records else "no run yet"
    return f"day stopped: the data-freshness verification of {key} has not passed ({where})"


def _schedule(
    step: Step,
    job: dg.UnresolvedAssetJobDefinition,
    keys: frozenset[str],
    available: Collection[str],
) -> dg.ScheduleDefinition:
    today = _keys(step, available)
    previous = [dg.AssetKey(k) for k in _keys(step, available, "previous")]
    gated = step.job != MORNING_STEPS[0].job and step.job != AFTER_CLOSE_STEPS[0].job
    challenger_only = {dg.AssetKey(k) for k in step.needs_challenger}

    def evaluate(context: dg.ScheduleEvaluationContext):
        tick = pd.Timestamp(context.scheduled_execution_time)
        day = session_of(tick)
        if not is_session(day):
            return dg.SkipReason(f"{day.date()} is not an XNYS session")
        key = day.strftime("%Y-%m-%d")
        if key not in keys:
            return dg.SkipReason(f"session {key} is outside the profile's range")
        if step.after_close is not None and tick.tz_convert(EXCHANGE_TZ) != _first_tick_after_close(day, step):
            close = session_close_utc(day).tz_convert(EXCHANGE_TZ)
            return dg.SkipReason(f"{key} closes at {close:%H:%M}: not this tick")
        if gated and (stopped := _gate(context.instance, key)):
            return dg.SkipReason(stopped)
        selection = [dg.AssetKey(k) for k in today]
        if challenger_only and not context.instance.get_latest_materialization_event(
            dg.AssetKey("challenger_selection")
        ):
            selection = [k for k in selection if k not in challenger_only]
        requests = []
        if selection or step.groups:
            requests.append(
                dg.RunRequest(
                    run_key=f"{step.job}:{key}",
                    partition_key=key,
                    asset_selection=None if step.groups else selection,
                )
            )
        prev = previous_session(day).strftime("%Y-%m-%d")
        if previous and prev in keys:
            requests.append(
                dg.RunRequest(run_key=f"{step.job}:{prev}:known", partition_key=prev, asset_selection=previous)
            )
        return requests or dg.SkipReason(f"{step.job}: nothing of this step is in the graph")

    return dg.schedule(
        name=step.job.removesuffix("_job") + "_schedule",
        job=job,
        cron_schedule=_cron(step),
        execution_timezone=EXCHANGE_TZ,
        description=step.description,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )(evaluate)


def build_runbook(
    partitions_def: dg.PartitionsDefinition, available: Collection[str]
) -> tuple[list[dg.UnresolvedAssetJobDefinition], list[dg.ScheduleDefinition]]:
    """The runbook's jobs and schedules over the assets ``available`` in the graph (by key)."""
    keys = frozenset(partitions_def.get_partition_keys())
    jobs, schedules = [], []
    for step in (*MORNING_STEPS, *AFTER_CLOSE_STEPS):
        job = dg.define_asset_job(
            step.job, selection=_selection(step, available), partitions_def=partitions_def, description=step.description
        )
        jobs.append(job)
        schedules.append(_schedule(step, job, keys, available))
    return jobs, schedules


MORNING_FRESHNESS = dg.FreshnessPolicy.cron(
    deadline_cron="30 7 * * 1-5", lower_bound_delta=timedelta(hours=1), timezone=EXCHANGE_TZ
)
"""The morning steps' assets are materialized between 06:30 and 07:30 New York each weekday."""
AFTER_CLOSE_FRESHNESS = dg.FreshnessPolicy.cron(
    deadline_cron="0 20 * * 1-5", lower_bound_delta=timedelta(hours=7), timezone=EXCHANGE_TZ
)
"""The after-close steps' assets are materialized between 13:00 (early closes) and 20:00 New York."""
RETRAINED = ("challenger_selection",)
"""Assets retrained on demand (the drift sensor), not on a schedule."""
RETRAIN_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(days=92), warn_window=timedelta(days=31))
"""A challenger is retrained at least once a quarter (the hyper-parameter budget's period)."""


def with_runbook_freshness(defs: dg.Definitions) -> dg.Definitions:
    """``defs`` with the runbook's freshness policies.

    :data:`MORNING_FRESHNESS` on every asset a morning step refreshes for its own session; the
    after-close assets without a policy of their own get :data:`AFTER_CLOSE_FRESHNESS`, the
    retrained ones :data:`RETRAIN_FRESHNESS`.
    """
    present = {key for a in defs.assets or () for key in getattr(a, "keys", ())}

    def selection(steps) -> dg.AssetSelection:
        return dg.AssetSelection.assets(*[k for s in steps if (k := dg.AssetKey(s)) in present])

    morning = [k for step in MORNING_STEPS for k in step.assets]
    evening = [k for step in AFTER_CLOSE_STEPS for k in step.assets]
    defs = defs.map_resolved_asset_specs(
        func=lambda spec: dg.apply_freshness_policy(spec, MORNING_FRESHNESS), selection=selection(morning)
    )
    defs = defs.map_resolved_asset_specs(
        func=lambda spec: dg.apply_freshness_policy(spec, AFTER_CLOSE_FRESHNESS, overwrite_existing=False),
        selection=selection(evening),
    )
    return defs.map_resolved_asset_specs(
        func=lambda spec: dg.apply_freshness_policy(spec, RETRAIN_FRESHNESS, overwrite_existing=False),
        selection=selection(RETRAINED),
    )
