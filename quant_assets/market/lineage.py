"""Lineage columns carried by every stored row.

Each stored row records when it was ingested (``ingested_at``, tz-aware UTC), where it came
from (``source_uri``) and which code and configuration produced it (``transform_id``). The
transform id is a short content hash of the transform's name, version and configuration
fingerprint, so two runs of the same code on the same configuration stamp identical ids and
replayed partitions hash identically.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "LINEAGE_COLUMNS",
    "add_lineage",
    "config_fingerprint",
    "transform_id_for",
    "validate_lineage",
]

LINEAGE_COLUMNS: tuple[str, str, str] = ("ingested_at", "source_uri", "transform_id")
"""Names of the lineage columns, in the order they are appended."""

_TRANSFORM_ID_HEX = 16


def _utc_times(ingested_at: Any, n: int) -> pd.DatetimeIndex:
    """``ingested_at`` (scalar or length-``n`` array) as ``datetime64[ns, UTC]`` values."""
    if isinstance(ingested_at, (str, pd.Timestamp, _dt.datetime)) or np.isscalar(ingested_at):
        stamp = pd.Timestamp(ingested_at)
        if pd.isna(stamp):
            raise ValueError("ingested_at must be a timestamp, got NaT")
        values = pd.DatetimeIndex([stamp] * n) if n else pd.DatetimeIndex([stamp])[:0]
    else:
        values = pd.DatetimeIndex(ingested_at)
        if len(values) != n:
            raise ValueError(f"ingested_at has {len(values)} values for {n} rows")
        if values.hasnans:
            raise ValueError("ingested_at contains NaT")
    if values.tz is None:
        raise ValueError(
            "ingested_at must be timezone-aware (got naive timestamps); localize it, e.g. pd.Timestamp(..., tz='UTC')"
        )
    return values.tz_convert("UTC").as_unit("ns")


def add_lineage(df: pd.DataFrame, ingested_at: Any, source_uri: str, transform_id: str) -> pd.DataFrame:
    """Return a copy of ``df`` with the three lineage columns appended.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows to stamp; must not already carry lineage columns.
    ingested_at : timestamp-like or array-like of timestamps
        Time-zone-aware ingestion time, one for all rows or one per row; stored converted to
        UTC (``datetime64[ns, UTC]``).
    source_uri : str
        Where the rows came from, e.g. ``"synthetic://seed=7/bars"``.
    transform_id : str
        Identifier of the producing code and configuration (see :func:`transform_id_for`).

    Returns
    -------
    pandas.DataFrame
        ``df`` plus ``ingested_at``, ``source_uri``, ``transform_id`` (same value on every row).

    Examples
    --------
    >>> out = add_lineage(pd.DataFrame({"x": [1, 2]}),
    ...                   pd.Timestamp("2024-01-02 22:00", tz="UTC"), "synthetic://bars", "abc")
    >>> list(out.columns), str(out["ingested_at"].dtype)
    (['x', 'ingested_at', 'source_uri', 'transform_id'], 'datetime64[ns, UTC]')
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    clash = [c for c in LINEAGE_COLUMNS if c in df.columns]
    if clash:
        raise ValueError(f"df already has lineage column(s) {clash}")
    if not isinstance(source_uri, str) or not source_uri:
        raise ValueError("source_uri must be a non-empty string")
    if not isinstance(transform_id, str) or not transform_id:
        raise ValueError("transform_id must be a non-empty string")
    out = df.copy()
    n = len(out)
    out["ingested_at"] = pd.Series(_utc_times(ingested_at, n), index=out.index)
    out["source_uri"] = pd.Series([source_uri] * n, index=out.index, dtype=object)
    out["transform_id"] = pd.Series([transform_id] * n, index=out.index, dtype=object)
    return out


def validate_lineage(df: pd.DataFrame) -> None:
    """Raise ``ValueError`` unless ``df`` carries complete lineage columns.

    Checks that all of :data:`LINEAGE_COLUMNS` exist, that ``ingested_at`` is a UTC
    ``datetime64`` column and that no lineage value is missing.

    Examples
    --------
    >>> validate_lineage(add_lineage(pd.DataFrame({"x": [1]}),
    ...                  pd.Timestamp(0, tz="UTC"), "s://x", "t"))
    """
    missing = [c for c in LINEAGE_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"lineage column(s) missing: {missing}")
    dtype = df["ingested_at"].dtype
    if not isinstance(dtype, pd.DatetimeTZDtype) or str(dtype.tz) != "UTC":
        raise ValueError(f"ingested_at must be datetime64[ns, UTC], got {dtype}")
    for col in LINEAGE_COLUMNS:
        bad = df.index[df[col].isna()].tolist()
        if bad:
            raise ValueError(f"lineage column '{col}' is missing at rows {bad[:10]}")


def config_fingerprint(config: Any) -> str:
    """Stable SHA-256 hex digest of a JSON-serialisable configuration.

    Keys are sorted and separators fixed, so equal configurations give equal fingerprints
    regardless of key order.

    Examples
    --------
    >>> config_fingerprint({"a": 1, "b": 2}) == config_fingerprint({"b": 2, "a": 1})
    True
    """
    payload = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def transform_id_for(name: str, version: str, config_fingerprint: str) -> str:
    """Short stable identifier of a transform: ``sha256(name, version, fingerprint)[:16]``.

    Parameters
    ----------
    name : str
        Transform (asset) name, e.g. ``"raw_bars"``.
    version : str
        Code version of the transform.
    config_fingerprint : str
        Fingerprint of the configuration it ran with (see :func:`config_fingerprint`).

    Returns
    -------
    str
        16 lowercase hex characters; equal inputs always give the same id.

    Examples
    --------
    >>> tid = transform_id_for("raw_bars", "1", "cafe")
    >>> len(tid), tid == transform_id_for("raw_bars", "1", "cafe")
    (16, True)
    """
    for arg, value in (("name", name), ("version", version), ("config_fingerprint", config_fingerprint)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"{arg} must be a non-empty string, got {value!r}")
    payload = json.dumps([name, version, config_fingerprint], separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:_TRANSFORM_ID_HEX]
