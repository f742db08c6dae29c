"""Reference data: trading sessions (symbols and rates are raw feeds, see ``market.assets``)."""


import dagster as dg

from quant_assets import schemas
from quant_assets.calendars import EXCHANGE, session_table
from quant_assets.defs.frame_checks import FrameChecks
from quant_assets.defs.market.schedules import MARKET_FRESHNESS
from quant_assets.defs.runtime import PARTITIONS, transform_id, window_sessions
from quant_assets.defs.types import dagster_type
from quant_assets.market.ingest import stamp_lineage

SESSION_CHECKS = FrameChecks(schemas.Sessions, ("date",))


@dg.asset(
    group_name="reference",
    partitions_def=PARTITIONS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    dagster_type=dagster_type(schemas.Sessions),
    metadata={"layer": "reference", "partition_expr": "date"},
    check_specs=SESSION_CHECKS.specs("sessions"),
    kinds={"parquet", "pandas"},
    freshness_policy=MARKET_FRESHNESS,
)
def sessions(context: dg.AssetExecutionContext):
    """XNYS sessions with open/close in UTC and New York time and the early-close flag."""
    window = window_sessions(context)
    table = session_table(window[0], window[-1])
    # session_id counts from the profile's first session, not the window's.
    first_id = PARTITIONS.get_partition_keys().index(window[0].strftime("%Y-%m-%d"))
    table["session_id"] += first_id
    table = stamp_lineage(
        table, known_at="date", source_uri=f"exchange_calendars://{EXCHANGE}",
        transform_id=transform_id("sessions"),
    )
    yield dg.Output(table, metadata={"rows": len(table), "early_closes": int(table["is_early_close"].sum())})
    yield from SESSION_CHECKS.evaluate(table)
