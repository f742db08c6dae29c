"""The one place that assembles the graph: ``defs``."""

from __future__ import annotations

import dagster as dg

from quant_assets.defs.instance_tuning import tune_local_sqlite
from quant_assets.defs.market.assets import curated_assets, raw_assets
from quant_assets.defs.market.schedules import market_data_job, market_data_schedule
from quant_assets.defs.reference.assets import sessions
from quant_assets.defs.resources import build_resources
from quant_assets.defs.runtime import PROFILE

tune_local_sqlite()

all_assets = [sessions, *raw_assets, *curated_assets]

defs = dg.Definitions(
    assets=all_assets,
    jobs=[market_data_job],
    schedules=[market_data_schedule],
    resources=build_resources(PROFILE),
)
