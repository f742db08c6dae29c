"""Pandera schemas as Dagster types, shown with their columns in the UI.

The type check verifies the frame's structure (exact columns, dtypes); the full data
validation of the same schema runs once per output in ``session_asset`` before anything is
stored, so 1M-row windows are not validated twice.
"""

from __future__ import annotations

from functools import lru_cache

import dagster as dg
import pandas as pd
import pandera.errors as pe
from dagster_pandera import pandera_schema_to_dagster_type


@lru_cache(maxsize=None)
def dagster_type(schema) -> dg.DagsterType:
    """The Dagster type of a ``quant_assets.schemas`` model, named after it."""
    table_schema = pandera_schema_to_dagster_type(schema).metadata["schema"]
    frame_schema = schema.to_schema()

    def _structure(_context, value) -> dg.TypeCheck:
        if not isinstance(value, pd.DataFrame):
            return dg.TypeCheck(False, description=f"expected a DataFrame, got {type(value).__name__}")
        try:
            frame_schema.validate(value.head(0))
        except (pe.SchemaError, pe.SchemaErrors) as exc:
            return dg.TypeCheck(False, description=f"{schema.__name__}: {exc}")
        return dg.TypeCheck(True, metadata={"rows": len(value)})

    return dg.DagsterType(
        type_check_fn=_structure,
        name=schema.__name__,
        description=(schema.__doc__ or "").strip(),
        metadata={"schema": table_schema},
        typing_type=pd.DataFrame,
    )
