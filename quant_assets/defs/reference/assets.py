"""Reference data: trading sessions (symbols and rates are raw feeds, see ``market.assets``)."""

import dagster as dg

from quant_assets import schemas
from quant_assets.calendars import EXCHANGE, session_table
from quant_assets.defs.runtime import PARTITIONS, transform_id, window_sessions
from quant_assets.defs.session_asset import session_asset
from quant_assets.market.ingest import stamp_lineage
from quant_assets.market.lineage import config_fingerprint


@session_asset(schema=schemas.Sessions, layer="reference", group="reference")
def sessions(context: dg.AssetExecutionContext):
    """XNYS sessions with open/close in UTC and New York time and the early-close flag."""
    window = window_sessions(context)
    table = session_table(window[0], window[-1])
    # session_id counts from the profile's first session, not the window's.
    table["session_id"] += PARTITIONS.get_partition_keys().index(window[0].strftime("%Y-%m-%d"))
    table = stamp_lineage(
        table, known_at="date", source_uri=f"exchange_calendars://{EXCHANGE}",
        # Depends on the exchange calendar only, not on the profile's market settings.
        transform_id=transform_id("sessions", config_fingerprint({"exchange": EXCHANGE})),
    )
    return table, {"early_closes": int(table["is_early_close"].sum())}
