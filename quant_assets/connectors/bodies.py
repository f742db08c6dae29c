"""Decoding of response bodies into JSON or CSV, with errors that name the field.

Vendors answer errors in many shapes with status 200: an HTML page from a proxy or a login
wall, a JSON object carrying a message where data was expected (Alpha Vantage's ``Note`` /
``Information``), an empty body. These helpers turn each into a
:class:`~quant_assets.connectors.errors.BadResponse` before anything is stored.

Example
-------
>>> json_body("fred", "series/observations", b'{"observations": []}')
{'observations': []}
>>> require({"a": {"b": 1}}, "a.b", "v", "e")
1
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

import pandas as pd

from quant_assets.connectors.errors import BadResponse

__all__ = ["csv_body", "json_body", "number", "require", "text_of"]

_PREVIEW = 80


def text_of(vendor: str, endpoint: str, body: bytes) -> str:
    """The body as UTF-8 text; empty or HTML bodies are errors."""
    if not body or not body.strip():
        raise BadResponse(vendor, endpoint, "body", "empty body")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadResponse(vendor, endpoint, "body", f"not UTF-8 text (byte {exc.start})") from None
    head = text.lstrip()[:200].lower()
    if head.startswith(("<!doctype html", "<html", "<?xml", "<head", "<body")):
        raise BadResponse(
            vendor,
            endpoint,
            "body",
            "an HTML/XML page where data was expected (an error or login "
            f"page served with status 200): {text.strip()[:_PREVIEW]!r}",
        )
    return text


def json_body(vendor: str, endpoint: str, body: bytes) -> Any:
    """Parsed JSON; malformed or truncated JSON names the position."""
    text = text_of(vendor, endpoint, body)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        problem = "truncated JSON (the body ends early)" if exc.pos >= len(text.rstrip()) else "malformed JSON"
        raise BadResponse(
            vendor, endpoint, "body", f"{problem} at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None


def csv_body(vendor: str, endpoint: str, body: bytes, columns: tuple[str, ...]) -> pd.DataFrame:
    """A CSV with at least ``columns`` (all read as strings); a JSON body is the vendor's error message."""
    text = text_of(vendor, endpoint, body)
    if text.lstrip().startswith("{"):
        raise BadResponse(
            vendor, endpoint, "body", f"a JSON message where CSV was expected: {text.strip()[:_PREVIEW]!r}"
        )
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, on_bad_lines="error")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise BadResponse(vendor, endpoint, "body", f"malformed CSV: {str(exc).strip()[:_PREVIEW]}") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise BadResponse(vendor, endpoint, missing[0], f"CSV header lacks {missing} (header: {list(df.columns)})")
    if not text.endswith("\n") and len(df):
        last = df.iloc[-1]
        if any(last[c] == "" for c in columns):
            raise BadResponse(vendor, endpoint, "body", f"truncated CSV: last line {len(df) + 1} is incomplete")
    return df


def require(obj: Any, path: str, vendor: str, endpoint: str, kind: type | tuple[type, ...] | None = None) -> Any:
    """``obj[a][b]...`` for ``path = "a.b..."``; a missing key or a wrong type names the path."""
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            raise BadResponse(vendor, endpoint, path, "missing")
        cur = cur[part]
    if kind is not None and not isinstance(cur, kind):
        raise BadResponse(
            vendor, endpoint, path, f"expected {getattr(kind, '__name__', kind)}, got {type(cur).__name__}"
        )
    return cur


def number(value: Any, vendor: str, endpoint: str, field: str, *, allow_missing: bool = False) -> float:
    """A finite float from a JSON number or numeric string (``"."``/``""`` are missing values)."""
    if value is None or (isinstance(value, str) and value.strip() in {"", ".", "null", "None", "NaN"}):
        if allow_missing:
            return math.nan
        raise BadResponse(vendor, endpoint, field, f"missing value {value!r}")
    if isinstance(value, bool):
        raise BadResponse(vendor, endpoint, field, f"not a number: {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise BadResponse(vendor, endpoint, field, f"not a number: {str(value)[:_PREVIEW]!r}") from None
    if not math.isfinite(out):
        raise BadResponse(vendor, endpoint, field, f"not finite: {value!r}")
    return out
