"""Freshness of the market-data assets (their schedule is the runbook's, :mod:`quant_assets.defs.operations`)."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from quant_assets.calendars import EXCHANGE_TZ

# Every market-data asset must be materialized between the close and 20:00 New York each weekday.
MARKET_FRESHNESS = dg.FreshnessPolicy.cron(
    deadline_cron="0 20 * * 1-5", lower_bound_delta=timedelta(hours=4), timezone=EXCHANGE_TZ
)
