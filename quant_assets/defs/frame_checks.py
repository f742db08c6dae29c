"""Data invariants evaluated on every stored frame, reported as blocking asset checks.

Each check is named by a constant so tests and sensors can refer to it. A failing check
carries the number of offending rows and a sample of them in its metadata.
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
    """Which invariants apply to an asset's frames."""

    schema: type
    key: tuple[str, ...]
    ohlc: bool = False

    def names(self) -> list[str]:
        names = [CHECK_SCHEMA, CHECK_NON_NEGATIVE, CHECK_UNIQUE]
        return names + [CHECK_OHLC] if self.ohlc else names

    def specs(self, asset_key: str) -> list[dg.AssetCheckSpec]:
        return [dg.AssetCheckSpec(n, asset=asset_key, blocking=True) for n in self.names()]

    def evaluate(self, df: pd.DataFrame) -> list[dg.AssetCheckResult]:
        results = [
            _result(CHECK_SCHEMA, _schema_violations(self.schema, df)),
            _result(CHECK_NON_NEGATIVE, _negative_rows(df)),
            _result(CHECK_UNIQUE, df.index[df.duplicated(list(self.key), keep=False)]),
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


def _schema_violations(schema, df: pd.DataFrame) -> list:
    import pandera.errors as pe

    try:
        schema.validate(df, lazy=True)
    except pe.SchemaErrors as exc:
        cases = exc.failure_cases
        return list(cases["index"].dropna().unique()) or ["<frame>"]
    return []


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
