"""Reference data: trading sessions (symbols and rates are raw feeds, see ``market.assets``).

No ``from __future__ import annotations``: Dagster reads the ``context`` annotation at definition.
"""

import dagster as dg

from quant_assets import schemas
from quant_assets.calendars import EXCHANGE, session_table
from quant_assets.defs.lib.runtime import transform_id, window_sessions
from quant_assets.defs.lib.session_asset import session_asset
from quant_assets.defs.market.schedules import MARKET_FRESHNESS
from quant_assets.market.ingest import stamp_lineage
from quant_assets.market.lineage import config_fingerprint


def build_reference_assets(partitions_def: dg.TimeWindowPartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The reference assets derived from the exchange calendar over ``partitions_def``."""
    keys = partitions_def.get_partition_keys()

    @session_asset(
        schema=schemas.Sessions,
        layer="reference",
        group="reference",
        partitions_def=partitions_def,
        freshness_policy=MARKET_FRESHNESS,
    )
    def sessions(context: dg.AssetExecutionContext):
        """XNYS sessions with open/close in UTC and New York time and the early-close flag."""
        window = window_sessions(context)
        table = session_table(window[0], window[-1])
        # session_id counts from the profile's first session, not the window's.
        table["session_id"] += keys.index(window[0].strftime("%Y-%m-%d"))
        table = stamp_lineage(
            table,
            known_at="date",
            source_uri=f"exchange_calendars://{EXCHANGE}",
            # Depends on the exchange calendar only, not on the profile's market settings.
            transform_id=transform_id("sessions", config_fingerprint({"exchange": EXCHANGE})),
        )
        return table, {"early_closes": int(table["is_early_close"].sum())}

    return [sessions]
