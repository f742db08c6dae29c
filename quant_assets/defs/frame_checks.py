"""Data invariants evaluated on every stored frame, reported as blocking asset checks.

The full Pandera validation runs once per output, before anything is stored
(:meth:`FrameChecks.validate`): a frame that breaks its schema fails the step with the
failing columns, checks and rows, and nothing is written. The remaining invariants are then
reported as named asset checks; a failing check carries the number of offending rows and a
sample of them in its metadata.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import pandas as pd

CHECK_SCHEMA = "schema"
CHECK_NON_NEGATIVE = "no_negative_values"
CHECK_OHLC = "ohlc_consistent"
CHECK_UNIQUE = "unique_keys"

PRICE_LIKE = ("open", "high", "low", "close", "vwap", "bid", "ask", "nbbo_mid", "strike")
COUNT_LIKE = ("volume", "trades", "bid_size", "ask_size", "open_interest")


@dataclass(frozen=True)
class FrameChecks:
    """The invariants of an asset's frames, read off its schema (unique key, OHLC columns)."""

    schema: type

    @property
    def key(self) -> list[str]:
        return list(self.schema.to_schema().unique or [])

    @property
    def ohlc(self) -> bool:
        return {"open", "high", "low", "close"} <= set(self.schema.to_schema().columns)

    def names(self) -> list[str]:
        names = [CHECK_SCHEMA, CHECK_NON_NEGATIVE, CHECK_UNIQUE]
        return names + [CHECK_OHLC] if self.ohlc else names

    def specs(self, asset_key: str) -> list[dg.AssetCheckSpec]:
        return [dg.AssetCheckSpec(n, asset=asset_key, blocking=True) for n in self.names()]

    def validate(self, df: pd.DataFrame) -> None:
        """Full schema validation; raises ``dg.Failure`` naming what failed (nothing stored)."""
        bad = _schema_violations(self.schema, df)
        if bad is not None:
            raise dg.Failure(
                description=f"{self.schema.__name__}: {len(bad)} schema violation(s); first: "
                f"{bad.head(10).to_dict('records')}",
                metadata={"failure_cases": dg.MetadataValue.md(bad.head(50).to_markdown())},
            )

    def evaluate(self, df: pd.DataFrame) -> list[dg.AssetCheckResult]:
        """Check results for a frame that passed :meth:`validate`."""
        results = [
            _result(CHECK_SCHEMA, []),
            _result(CHECK_NON_NEGATIVE, _negative_rows(df)),
            _result(CHECK_UNIQUE, df.index[df.duplicated(self.key, keep=False)] if self.key else []),
        ]
        if self.ohlc:
            results.append(_result(CHECK_OHLC, _ohlc_violations(df)))
        return results


def _result(name: str, bad_rows) -> dg.AssetCheckResult:
    bad = list(bad_rows)
    return dg.AssetCheckResult(
        check_name=name,
        passed=not bad,
        metadata={"failing_rows": len(bad), "sample_rows": str(bad[:10])},
    )


def _schema_violations(schema, df: pd.DataFrame) -> pd.DataFrame | None:
    import pandera.errors as pe

    try:
        schema.validate(df, lazy=True)
    except pe.SchemaErrors as exc:
        return exc.failure_cases[["column", "check", "index", "failure_case"]]
    return None


def _negative_rows(df: pd.DataFrame) -> pd.Index:
    cols = [c for c in (*PRICE_LIKE, *COUNT_LIKE) if c in df.columns]
    if not cols:
        return df.index[:0]
    values = df[cols]
    return df.index[(values < 0).any(axis=1)]


def _ohlc_violations(df: pd.DataFrame) -> pd.Index:
    lo = df[["open", "close"]].min(axis=1)
    hi = df[["open", "close"]].max(axis=1)
    return df.index[(df["low"] > lo) | (hi > df["high"])]
