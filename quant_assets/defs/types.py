"""Pandera schemas as Dagster types: every asset output is validated at the boundary."""

from __future__ import annotations

from functools import lru_cache

import dagster as dg
from dagster_pandera import pandera_schema_to_dagster_type


@lru_cache(maxsize=None)
def dagster_type(schema) -> dg.DagsterType:
    """The Dagster type of a ``quant_assets.schemas`` model (shown with its columns in the UI)."""
    return pandera_schema_to_dagster_type(schema)
