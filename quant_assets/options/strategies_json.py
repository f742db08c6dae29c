"""The daily options-strategies document (blueprint §10.2): its JSON Schema, builder and validator.

Shape (``options_strategies``, one document per session)::

    {"asof": "YYYY-MM-DD",
     "strategies": [{"underlier": "AAPL", "type": "delta_hedged_straddle", "expiry": "YYYY-MM-DD",
                     "qty": 10, "target_vega": 5000, "expected_pnl_bps": 40, "conf": 0.58,
                     "hedge_rules": {"rebalance": "daily", "delta_threshold": 0.2},
                     "net_greeks": {...}, "worst_case_slippage_bps": 12.0}],   # optional two
     "risk": {"net_vega": 0, "vega_cap": 0.2, "gamma_cap": 0.1}}

At most :data:`MAX_STRATEGIES` strategies, best first. ``qty`` is in contracts (negative:
short); ``target_vega`` in USD per 1.00 of volatility (as the Greeks); the caps are
the policy's (fractions of book). No other keys are allowed, so a consumer can rely on the shape.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = [
    "MAX_STRATEGIES",
    "STRATEGIES_JSON_SCHEMA",
    "STRATEGY_TYPES",
    "strategies_document",
    "validate_strategies_document",
]

MAX_STRATEGIES = 10
STRATEGY_TYPES = ("delta_hedged_straddle", "delta_hedged_strangle", "vertical", "calendar", "diagonal")
_DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "format": "date"}
_NUMBER = {"type": "number"}

STRATEGIES_JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "quant_assets/options_strategies.schema.json",
    "title": "options_strategies",
    "description": "Daily options strategies (blueprint §10.2).",
    "type": "object",
    "additionalProperties": False,
    "required": ["asof", "strategies", "risk"],
    "properties": {
        "asof": _DATE,
        "strategies": {
            "type": "array",
            "maxItems": MAX_STRATEGIES,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": [
                    "underlier",
                    "type",
                    "expiry",
                    "qty",
                    "target_vega",
                    "expected_pnl_bps",
                    "conf",
                    "hedge_rules",
                ],
                "properties": {
                    "underlier": {"type": "string", "minLength": 1},
                    "type": {"enum": list(STRATEGY_TYPES)},
                    "expiry": _DATE,
                    "qty": {"type": "integer", "not": {"const": 0}},
                    "target_vega": _NUMBER,
                    "expected_pnl_bps": _NUMBER,
                    "conf": {"type": "number", "minimum": 0, "maximum": 1},
                    "hedge_rules": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["rebalance", "delta_threshold"],
                        "properties": {
                            "rebalance": {"enum": ["daily", "threshold", "daily_or_threshold"]},
                            "delta_threshold": {"type": "number", "minimum": 0},
                        },
                    },
                    "net_greeks": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["delta", "gamma", "vega", "theta"],
                        "properties": {g: _NUMBER for g in ("delta", "gamma", "vega", "theta")},
                    },
                    "worst_case_slippage_bps": {"type": "number", "minimum": 0},
                },
            },
        },
        "risk": {
            "type": "object",
            "additionalProperties": False,
            "required": ["net_vega", "vega_cap", "gamma_cap"],
            "properties": {
                "net_vega": _NUMBER,
                "vega_cap": {"type": "number", "minimum": 0},
                "gamma_cap": {"type": "number", "minimum": 0},
            },
        },
    },
}
"""JSON Schema (draft 2020-12) of the document."""


def validate_strategies_document(doc: dict) -> dict:
    """Raise ``jsonschema.ValidationError`` unless ``doc`` matches :data:`STRATEGIES_JSON_SCHEMA`; return it."""
    import jsonschema

    jsonschema.Draft202012Validator(
        STRATEGIES_JSON_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(doc)
    return doc


def strategies_document(asof, strategies: pd.DataFrame, risk: dict, top: int = MAX_STRATEGIES) -> dict:
    """The validated §10.2 document from one row per strategy, best first (the first ``top`` kept).

    ``strategies`` has the required keys as columns (``hedge_rules`` a dict per row; optional
    ``net_greeks`` dicts and ``worst_case_slippage_bps``); ``risk`` has ``net_vega``,
    ``vega_cap`` and ``gamma_cap``.

    Examples
    --------
    >>> rows = pd.DataFrame([{"underlier": "AAPL", "type": "delta_hedged_straddle", "expiry": "2024-03-15",
    ...     "qty": 10, "target_vega": 5000.0, "expected_pnl_bps": 40.0, "conf": 0.58,
    ...     "hedge_rules": {"rebalance": "daily", "delta_threshold": 0.2}}])
    >>> doc = strategies_document("2024-02-01", rows, {"net_vega": 0.0, "vega_cap": 0.2, "gamma_cap": 0.1})
    >>> doc["strategies"][0]["qty"], doc["risk"]["vega_cap"]
    (10, 0.2)
    """
    records = []
    for row in strategies.head(top).to_dict("records"):
        rec = {k: v for k, v in row.items() if not (isinstance(v, float) and pd.isna(v))}
        rec["expiry"] = pd.Timestamp(rec["expiry"]).strftime("%Y-%m-%d")
        rec["qty"] = int(rec["qty"])
        for key in ("target_vega", "expected_pnl_bps", "conf", "worst_case_slippage_bps"):
            if key in rec:
                rec[key] = float(rec[key])
        records.append(rec)
    doc = {
        "asof": pd.Timestamp(asof).strftime("%Y-%m-%d"),
        "strategies": records,
        "risk": {k: float(risk[k]) for k in ("net_vega", "vega_cap", "gamma_cap")},
    }
    return validate_strategies_document(doc)
