"""Helpers for asset bodies: the sessions of the run's window and the ``transform_id`` of rows."""

from __future__ import annotations

import dagster as dg
import pandas as pd

import quant_assets
from quant_assets.market.lineage import transform_id_for


def window_sessions(context: dg.AssetExecutionContext) -> pd.DatetimeIndex:
    """The sessions of the run's partition window (one or many for single-run backfills)."""
    return pd.DatetimeIndex(sorted(pd.Timestamp(k) for k in context.partition_keys), name="date")


def transform_id(asset_name: str, config_fingerprint: str) -> str:
    """Stable id of the code (package version) and configuration that produced an asset's rows."""
    return transform_id_for(asset_name, quant_assets.__version__, config_fingerprint)
