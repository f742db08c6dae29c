"""Lineage stamping for ingested frames.

``ingested_at`` is the point-in-time arrival of each row: the close of the session at which
the row became known (``known_at`` column) plus :data:`ARRIVAL_DELAY`. It is derived from the
data, never from the wall clock, so replaying a day reproduces byte-identical files.
"""

from __future__ import annotations

import pandas as pd

from quant_assets.calendars import session_closes_utc
from quant_assets.market.lineage import add_lineage

ARRIVAL_DELAY = pd.Timedelta(hours=1)

__all__ = ["ARRIVAL_DELAY", "arrival_times", "stamp_lineage"]


def arrival_times(known_at: pd.Series) -> pd.DatetimeIndex:
    """Session close (UTC) of each ``known_at`` session plus :data:`ARRIVAL_DELAY`."""
    return session_closes_utc(known_at) + ARRIVAL_DELAY


def stamp_lineage(df: pd.DataFrame, *, known_at: str, source_uri: str, transform_id: str) -> pd.DataFrame:
    """``df`` with ``ingested_at``/``source_uri``/``transform_id`` appended (index reset).

    Example
    -------
    >>> df = pd.DataFrame({"date": pd.to_datetime(["2024-11-29"]), "x": [1.0]})
    >>> str(stamp_lineage(df, known_at="date", source_uri="s://x", transform_id="t")["ingested_at"][0])
    '2024-11-29 19:00:00+00:00'
    """
    if known_at not in df.columns:
        raise KeyError(f"known_at column {known_at!r} not in frame columns {list(df.columns)}")
    df = df.reset_index(drop=True)
    return add_lineage(df, arrival_times(df[known_at]), source_uri, transform_id)
