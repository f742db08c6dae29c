"""Daily operation of the market-data graph: one run per session after the close."""

from __future__ import annotations

import dagster as dg

from quant_assets.calendars import EXCHANGE_TZ

MARKET_GROUPS = ("reference", "raw", "curated", "oracle")

market_data_job = dg.define_asset_job(
    "market_data_job",
    selection=dg.AssetSelection.groups(*MARKET_GROUPS),
    description="Ingest and curate one window of sessions of every market-data feed.",
)

market_data_schedule = dg.build_schedule_from_partitioned_job(
    market_data_job,
    hour_of_day=18,
    minute_of_hour=30,
    description="After each session's close (18:30 New York): ingest and curate that session.",
)

FRESHNESS_DEADLINE_CRON = "0 20 * * 1-5"
FRESHNESS_TZ = EXCHANGE_TZ
