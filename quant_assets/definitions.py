"""The one place that assembles the graph: ``defs``."""

from __future__ import annotations

import dagster as dg

from quant_assets.defs.market.assets import curated_assets, raw_assets
from quant_assets.defs.market.schedules import (
    FRESHNESS_DEADLINE_CRON,
    FRESHNESS_TZ,
    market_data_job,
    market_data_schedule,
)
from quant_assets.defs.reference.assets import sessions
from quant_assets.defs.resources import build_resources
from quant_assets.defs.runtime import PROFILE

all_assets = [sessions, *raw_assets, *curated_assets]

freshness_checks = dg.build_time_partition_freshness_checks(
    assets=[a for a in all_assets if a.group_names_by_key[a.key] != "oracle"],
    deadline_cron=FRESHNESS_DEADLINE_CRON,
    timezone=FRESHNESS_TZ,
)

defs = dg.Definitions(
    assets=all_assets,
    asset_checks=freshness_checks,
    jobs=[market_data_job],
    schedules=[market_data_schedule],
    sensors=[dg.build_sensor_for_freshness_checks(freshness_checks=freshness_checks)],
    resources=build_resources(PROFILE),
)
