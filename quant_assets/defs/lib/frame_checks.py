"""Schema validation before storing, and asset checks evaluated on the frame an asset produced.

The full Pandera validation of an output runs once, before anything is stored
(:func:`validate_frame`): a frame that breaks its schema fails the step with the failing
columns, checks and rows, and nothing is written. What a schema cannot express (coverage
against another dataset, consistency with the inputs, arrival times, outliers) is reported by
asset checks: :class:`FrameCheck` for checks evaluated in the asset's own step on its output
and inputs, ``dg.asset_check`` definitions in the domain folders for checks that read other
assets. :func:`check_result` is the one way both report offending rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pandas as pd

SAMPLE_ROWS = 20
"""Offending rows shown in a failing check's metadata."""


@dataclass(frozen=True)
class FrameCheck:
    """An asset check evaluated in the asset's step, on its output frame and its inputs.

    ``evaluate(frame, inputs)`` receives the frame the asset produced (already validated
    against its schema) and the asset function's arguments by name (its inputs, context and
    resources); it returns the check's result (see :func:`check_result`). A blocking check
    that fails with ``ERROR`` severity keeps downstream assets from running.
    """

    name: str
    description: str
    evaluate: Callable[[pd.DataFrame, Mapping[str, Any]], dg.AssetCheckResult]
    blocking: bool = False

    def spec(self, asset_name: str) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(self.name, asset=asset_name, blocking=self.blocking, description=self.description)

    def result(self, frame: pd.DataFrame, inputs: Mapping[str, Any]) -> dg.AssetCheckResult:
        out = self.evaluate(frame, inputs)
        return dg.AssetCheckResult(
            check_name=self.name,
            passed=out.passed,
            severity=out.severity,
            description=out.description,
            metadata=out.metadata,
        )


def check_result(
    failing: pd.DataFrame,
    *,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
    description: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> dg.AssetCheckResult:
    """A check result that fails with ``severity`` when ``failing`` has rows.

    The metadata carries the number of offending rows and the first :data:`SAMPLE_ROWS` of
    them as a table, so the check's page lists what to look at.
    """
    passed = failing.empty
    meta: dict[str, Any] = {"failing_rows": int(len(failing)), **(metadata or {})}
    if not passed:
        meta["sample"] = dg.MetadataValue.md(failing.head(SAMPLE_ROWS).to_markdown(index=False))
    return dg.AssetCheckResult(
        passed=passed,
        severity=severity,
        description=None if passed else description or None,
        metadata=meta,
    )


def validate_frame(schema: type, df: pd.DataFrame) -> None:
    """Full schema validation; raises ``dg.Failure`` naming what failed (nothing is stored)."""
    bad = _schema_violations(schema, df)
    if bad is not None:
        raise dg.Failure(
            description=f"{schema.__name__}: {len(bad)} schema violation(s); first: {bad.head(10).to_dict('records')}",
            metadata={"failure_cases": dg.MetadataValue.md(bad.head(50).to_markdown())},
        )


def _schema_violations(schema, df: pd.DataFrame) -> pd.DataFrame | None:
    import pandera.errors as pe

    try:
        schema.validate(df, lazy=True)
    except pe.SchemaErrors as exc:
        return exc.failure_cases[["column", "check", "index", "failure_case"]]
    return None
