"""Daily operation of the market-data graph: one run per session after the close."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pandas as pd

from quant_assets.calendars import EXCHANGE_TZ, is_session

MARKET_GROUPS = ("reference", "raw", "curated", "oracle")

# Every market-data asset must be materialized between the close and 20:00 New York each weekday.
MARKET_FRESHNESS = dg.FreshnessPolicy.cron(
    deadline_cron="0 20 * * 1-5", lower_bound_delta=timedelta(hours=4), timezone=EXCHANGE_TZ
)


def build_market_schedule(
    partitions_def: dg.PartitionsDefinition,
) -> tuple[dg.UnresolvedAssetJobDefinition, dg.ScheduleDefinition]:
    """The market-data job and its daily schedule, requesting only sessions of ``partitions_def``."""
    market_data_job = dg.define_asset_job(
        "market_data_job",
        selection=dg.AssetSelection.groups(*MARKET_GROUPS),
        description="Ingest and curate one window of sessions of every market-data feed.",
    )
    keys = frozenset(partitions_def.get_partition_keys())

    @dg.schedule(
        job=market_data_job,
        cron_schedule="30 18 * * 1-5",
        execution_timezone=EXCHANGE_TZ,
        description="After each session's close (18:30 New York): ingest and curate that session.",
    )
    def market_data_schedule(context: dg.ScheduleEvaluationContext):
        day = pd.Timestamp(context.scheduled_execution_time).tz_convert(EXCHANGE_TZ).tz_localize(None).normalize()
        if not is_session(day):
            return dg.SkipReason(f"{day.date()} is not an XNYS session")
        key = day.strftime("%Y-%m-%d")
        if key not in keys:
            return dg.SkipReason(f"session {key} is outside the profile's range")
        return dg.RunRequest(run_key=key, partition_key=key)

    return market_data_job, market_data_schedule
