"""The one way to declare a session-partitioned, schema-typed, checked asset.

``@session_asset(...)`` wraps a function returning ``(frame, metadata)`` into a Dagster asset
that is partitioned by the given XNYS session partitions, backfills as a single run over a
window, is typed by its Pandera schema, is validated against it before the point-in-time IO
manager stores it in its ``layer``, reports headline metadata and evaluates its
:class:`~quant_assets.defs.lib.frame_checks.FrameCheck` checks on every output.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence

import dagster as dg
import pandas as pd

from quant_assets.defs.lib.frame_checks import FrameCheck, validate_frame
from quant_assets.defs.lib.types import dagster_type
from quant_assets.defs.models.resources import MODEL_IO_MANAGER


def headline(df: pd.DataFrame) -> dict:
    """Row count and distinct names: the numbers every stored frame reports."""
    meta = {"rows": int(len(df))}
    for col in ("symbol", "underlier"):
        if col in df.columns:
            meta[f"n_{col}s"] = int(df[col].nunique())
    return meta


def checked_body(fn: Callable, schema: type, checks: Sequence[FrameCheck] = ()) -> Callable:
    """``fn(...) -> (frame, metadata)`` as an asset body: validate, output with headline metadata, run checks.

    ``checks`` are evaluated on the output after it is stored, with ``fn``'s arguments (its
    inputs, context and resources) by name.
    """
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def body(*args, **kwargs):
        df, meta = fn(*args, **kwargs)
        validate_frame(schema, df)
        yield dg.Output(df, metadata={**headline(df), **meta})
        if checks:
            inputs = signature.bind(*args, **kwargs).arguments
            for check in checks:
                yield check.result(df, inputs)

    return body


def session_asset(
    *,
    schema: type,
    layer: str,
    group: str,
    partitions_def: dg.PartitionsDefinition,
    date_col: str = "date",
    freshness_policy: dg.FreshnessPolicy | None = None,
    checks: Sequence[FrameCheck] = (),
    name: str | None = None,
    metadata: dict | None = None,
    **asset_kwargs,
) -> Callable[[Callable], dg.AssetsDefinition]:
    """Decorator: ``fn(...) -> (frame, metadata)`` becomes a session-partitioned asset.

    ``checks`` are evaluated on each output after it is stored, with ``fn``'s arguments (its
    inputs, context and resources) by name.
    """

    def decorator(fn: Callable) -> dg.AssetsDefinition:
        asset_name = name or fn.__name__
        return dg.asset(
            name=asset_name,
            group_name=group,
            partitions_def=partitions_def,
            backfill_policy=dg.BackfillPolicy.single_run(),
            dagster_type=dagster_type(schema),
            metadata={
                "layer": layer,
                "partition_expr": date_col,
                # The schema's columns on the asset's overview page and in catalog search.
                "dagster/column_schema": dagster_type(schema).metadata["schema"],
                **(metadata or {}),
            },
            check_specs=[check.spec(asset_name) for check in checks],
            kinds={"parquet", "pandas"},
            freshness_policy=freshness_policy,
            **asset_kwargs,
        )(checked_body(fn, schema, checks))

    return decorator


def model_asset(
    *,
    schema: type,
    group: str,
    layer: str = "models",
    freshness_policy: dg.FreshnessPolicy | None = None,
    checks: Sequence[FrameCheck] = (),
    name: str | None = None,
    **asset_kwargs,
) -> Callable[[Callable], dg.AssetsDefinition]:
    """Decorator: ``fn(...) -> (frame, metadata)`` becomes an unpartitioned asset stored by the model IO manager.

    It runs once whatever the partition range of the run it is part of (CLI ranges need it); the
    frame is validated and ``checks`` are evaluated as in :func:`session_asset`.
    """

    def decorator(fn: Callable) -> dg.AssetsDefinition:
        asset_name = name or fn.__name__
        return dg.asset(
            name=asset_name,
            group_name=group,
            io_manager_key=MODEL_IO_MANAGER,
            dagster_type=dagster_type(schema),
            backfill_policy=dg.BackfillPolicy.single_run(),
            metadata={"layer": layer, "dagster/column_schema": dagster_type(schema).metadata["schema"]},
            check_specs=[check.spec(asset_name) for check in checks],
            kinds={"parquet", "pandas"},
            freshness_policy=freshness_policy,
            **asset_kwargs,
        )(checked_body(fn, schema, checks))

    return decorator
