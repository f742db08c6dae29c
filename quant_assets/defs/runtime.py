"""What the code location is built for: the active profile, its partitions, run helpers.

The profile comes from ``$QUANT_ASSETS_PROFILE`` (default ``demo``); a code location
serves one profile, so its partitions are exactly that profile's sessions.
"""

from __future__ import annotations

import dagster as dg
import pandas as pd

import quant_assets
from quant_assets.config import load_profile
from quant_assets.defs.partitions import session_partitions
from quant_assets.market.lineage import transform_id_for

PROFILE = load_profile()
PARTITIONS = session_partitions(PROFILE)


def window_sessions(context: dg.AssetExecutionContext) -> pd.DatetimeIndex:
    """The sessions of the run's partition window (one or many for single-run backfills)."""
    return pd.DatetimeIndex(sorted(pd.Timestamp(k) for k in context.partition_keys), name="date")


def transform_id(asset_name: str, config_fingerprint: str | None = None) -> str:
    """Stable id of the code and configuration that produced an asset's rows."""
    return transform_id_for(asset_name, quant_assets.__version__, config_fingerprint or PROFILE.fingerprint())
