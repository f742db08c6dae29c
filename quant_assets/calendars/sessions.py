"""XNYS trading sessions from ``exchange_calendars``.

Sessions are the unit of time of the whole graph: partitions, bars and labels are keyed by
session (tz-naive midnight ``Timestamp``), never by calendar day. Open and close times come
from the exchange calendar, so early closes (13:00 New York: the day after Thanksgiving,
3 July, Christmas Eve) and daylight-saving changes are handled by construction.

Example
-------
>>> t = session_table("2024-11-27", "2024-12-02")
>>> t[["date", "close_local", "is_early_close"]].astype(str).values.tolist()[1]
['2024-11-29', '2024-11-29 13:00:00-05:00', 'True']
"""

from __future__ import annotations

from functools import lru_cache

import exchange_calendars as xcals
import pandas as pd

EXCHANGE = "XNYS"
EXCHANGE_TZ = "America/New_York"
# exchange_calendars' default bounds move with the clock; fix them explicitly.
CALENDAR_START = "1995-01-03"
CALENDAR_END = "2030-12-31"


class NotASessionError(ValueError):
    """Raised when a date that is not an XNYS session is used as one."""


@lru_cache(maxsize=1)
def _calendar() -> xcals.ExchangeCalendar:
    return xcals.get_calendar(EXCHANGE, start=CALENDAR_START, end=CALENDAR_END)


def _ts(value) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert(EXCHANGE_TZ).tz_localize(None)
    ts = ts.normalize()
    if not (pd.Timestamp(CALENDAR_START) <= ts <= pd.Timestamp(CALENDAR_END)):
        raise ValueError(f"date {ts.date()} outside the supported calendar range {CALENDAR_START}..{CALENDAR_END}")
    return ts


def sessions_in_range(start, end) -> pd.DatetimeIndex:
    """XNYS sessions in ``[start, end]`` (inclusive) as tz-naive midnight timestamps."""
    a, b = _ts(start), _ts(end)
    if b < a:
        raise ValueError(f"end {b.date()} is before start {a.date()}")
    out = _calendar().sessions_in_range(a, b)
    return pd.DatetimeIndex(out, name="date")


def is_session(value) -> bool:
    """True if ``value`` (date-like) is an XNYS session."""
    return bool(_calendar().is_session(_ts(value)))


def previous_session(value) -> pd.Timestamp:
    """The session before ``value`` (which must itself be a session)."""
    ts = _ts(value)
    if not is_session(ts):
        raise NotASessionError(f"{ts.date()} is not an {EXCHANGE} session")
    return pd.Timestamp(_calendar().previous_session(ts))


def non_session_weekdays(start, end) -> list[pd.Timestamp]:
    """Weekdays in ``[start, end]`` that are not sessions (holidays), for partition exclusions."""
    a, b = _ts(start), _ts(end)
    sessions = set(sessions_in_range(a, b))
    return [d for d in pd.bdate_range(a, b) if d not in sessions]


def _as_utc(times: pd.Series) -> pd.DatetimeIndex:
    idx = pd.DatetimeIndex(times)
    return idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")


def session_table(start, end) -> pd.DataFrame:
    """One row per session: open/close in UTC and in New York time, early-close flag.

    Columns: ``date, session_id, open_utc, close_utc, open_local, close_local,
    is_early_close, minutes``. ``session_id`` counts sessions from ``start`` (0-based).
    A session is an early close when it closes before 16:00 New York time.
    """
    dates = sessions_in_range(start, end)
    cal = _calendar()
    open_utc = _as_utc(cal.opens.loc[dates])
    close_utc = _as_utc(cal.closes.loc[dates])
    close_local = close_utc.tz_convert(EXCHANGE_TZ)
    table = pd.DataFrame(
        {
            "date": dates,
            "session_id": range(len(dates)),
            "open_utc": open_utc,
            "close_utc": close_utc,
            "open_local": open_utc.tz_convert(EXCHANGE_TZ),
            "close_local": close_local,
        }
    )
    table["is_early_close"] = (close_local.hour * 60 + close_local.minute) < 16 * 60
    table["minutes"] = ((table["close_utc"] - table["open_utc"]).dt.total_seconds() // 60).astype("int64")
    return table.reset_index(drop=True)


def session_close_utc(value) -> pd.Timestamp:
    """Close of session ``value`` in UTC (13:00 New York on early closes)."""
    ts = _ts(value)
    if not is_session(ts):
        raise NotASessionError(f"{ts.date()} is not an {EXCHANGE} session")
    return _as_utc(_calendar().closes.loc[[ts]])[0]


def session_closes_utc(dates) -> pd.DatetimeIndex:
    """Vectorised :func:`session_close_utc` for an array of session dates."""
    idx = pd.DatetimeIndex(pd.to_datetime(dates)).normalize()
    if len(idx) == 0:
        return pd.DatetimeIndex([], tz="UTC")
    closes = _calendar().closes
    missing = idx[~idx.isin(closes.index)]
    if len(missing):
        raise NotASessionError(f"{len(missing)} dates are not {EXCHANGE} sessions, e.g. {missing[0].date()}")
    return _as_utc(closes.loc[idx])
