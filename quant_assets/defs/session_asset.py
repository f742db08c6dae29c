"""The one way to declare a session-partitioned, schema-typed, checked asset.

``@session_asset(...)`` wraps a function returning ``(frame, metadata)`` into a Dagster asset
that is partitioned by XNYS session, backfills as a single run over a window, is typed by its
Pandera schema, is stored by the point-in-time IO manager in its ``layer``, reports headline
metadata and evaluates the blocking frame checks on every output.
"""

import functools
from typing import Callable

import dagster as dg
import pandas as pd

from quant_assets.defs.frame_checks import FrameChecks
from quant_assets.defs.market.schedules import MARKET_FRESHNESS
from quant_assets.defs.runtime import PARTITIONS
from quant_assets.defs.types import dagster_type


def headline(df: pd.DataFrame) -> dict:
    """Row count and distinct names: the numbers every stored frame reports."""
    meta = {"rows": int(len(df))}
    for col in ("symbol", "underlier"):
        if col in df.columns:
            meta[f"n_{col}s"] = int(df[col].nunique())
    return meta


def session_asset(
    *,
    schema: type,
    layer: str,
    group: str,
    date_col: str = "date",
    fresh: bool = True,
    name: str | None = None,
    metadata: dict | None = None,
    **asset_kwargs,
) -> Callable:
    checks = FrameChecks(schema)

    def decorator(fn: Callable) -> dg.AssetsDefinition:
        asset_name = name or fn.__name__

        @functools.wraps(fn)
        def body(*args, **kwargs):
            df, meta = fn(*args, **kwargs)
            checks.validate(df)
            yield dg.Output(df, metadata={**headline(df), **meta})
            yield from checks.evaluate(df)

        return dg.asset(
            name=asset_name,
            group_name=group,
            partitions_def=PARTITIONS,
            backfill_policy=dg.BackfillPolicy.single_run(),
            dagster_type=dagster_type(schema),
            metadata={
                "layer": layer,
                "partition_expr": date_col,
                # The schema's columns on the asset's overview page and in catalog search.
                "dagster/column_schema": dagster_type(schema).metadata["schema"],
                **(metadata or {}),
            },
            check_specs=checks.specs(asset_name),
            kinds={"parquet", "pandas"},
            freshness_policy=MARKET_FRESHNESS if fresh else None,
            **asset_kwargs,
        )(body)

    return decorator
