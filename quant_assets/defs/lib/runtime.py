"""Helpers for asset bodies: the run's sessions, the lineage of rows and images as metadata."""

from __future__ import annotations

import base64
from pathlib import Path

import dagster as dg
import pandas as pd

import quant_assets
from quant_assets.market.ingest import stamp_lineage
from quant_assets.market.lineage import transform_id_for


def window_sessions(context: dg.AssetExecutionContext) -> pd.DatetimeIndex:
    """The sessions of the run's partition window (one or many for single-run backfills)."""
    return pd.DatetimeIndex(sorted(pd.Timestamp(k) for k in context.partition_keys), name="date")


def transform_id(asset_name: str, config_fingerprint: str) -> str:
    """Stable id of the code (package version) and configuration that produced an asset's rows."""
    return transform_id_for(asset_name, quant_assets.__version__, config_fingerprint)


def stamp_rows(df: pd.DataFrame, domain: str, name: str, known_at: str, config_fingerprint: str) -> pd.DataFrame:
    """Lineage of asset ``name``'s rows: known at column ``known_at``, from ``quant_assets://<domain>/<name>``."""
    return stamp_lineage(
        df,
        known_at=known_at,
        source_uri=f"quant_assets://{domain}/{name}",
        transform_id=transform_id(name, config_fingerprint),
    )


def png_markdown(png: bytes | Path, title: str) -> dg.MetadataValue:
    """A PNG (bytes or a file) inlined as a Markdown image, shown on the asset's page."""
    data = png.read_bytes() if isinstance(png, Path) else png
    return dg.MetadataValue.md(f"![{title}](data:image/png;base64,{base64.b64encode(data).decode()})")
