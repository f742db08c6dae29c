"""XNYS session rules: holidays, early closes, DST, and agreement with exchange_calendars."""

from __future__ import annotations

import datetime as dt

import exchange_calendars as xcals
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_assets.calendars import (
    NotASessionError,
    is_session,
    non_session_weekdays,
    previous_session,
    session_close_utc,
    session_closes_utc,
    session_table,
    sessions_in_range,
)

# Independent reference: a calendar built here with its own explicit bounds.
REFERENCE = xcals.get_calendar("XNYS", start="2000-01-03", end="2029-12-31")


@pytest.mark.parametrize(
    "day",
    ["2024-07-03", "2024-11-29", "2024-12-24", "2019-07-03", "2018-12-24", "2023-11-24"],
)
def test_known_early_closes_close_at_1300_new_york(day):
    row = session_table(day, day).iloc[0]
    assert bool(row.is_early_close)
    assert (row.close_local.hour, row.close_local.minute) == (13, 0)
    assert row.minutes == 210


@pytest.mark.parametrize("day", ["2024-01-01", "2024-07-04", "2024-11-28", "2024-12-25", "2025-01-09", "2018-12-05"])
def test_holidays_and_closures_are_not_sessions(day):
    # 2025-01-09: national day of mourning (Carter); 2018-12-05: Bush funeral.
    assert not is_session(day)
    assert pd.Timestamp(day) not in sessions_in_range(pd.Timestamp(day) - pd.Timedelta(days=5), day)


def test_dst_shifts_utc_open_but_not_local_open():
    # US DST started 2024-03-10: open 14:30 UTC before, 13:30 UTC after.
    table = session_table("2024-03-08", "2024-03-11").set_index("date")
    assert table.loc["2024-03-08", "open_utc"].hour == 14
    assert table.loc["2024-03-11", "open_utc"].hour == 13
    assert (table["open_local"].dt.strftime("%H:%M") == "09:30").all()
    assert (table["close_local"].dt.strftime("%H:%M") == "16:00").all()


def test_2024_has_252_sessions_and_weekends_never_appear():
    s = sessions_in_range("2024-01-01", "2024-12-31")
    assert len(s) == 252
    assert (s.dayofweek < 5).all()
    assert len(non_session_weekdays("2024-01-01", "2024-12-31")) == 262 - 252


def test_previous_session_skips_holiday_weekend():
    assert previous_session("2024-07-05") == pd.Timestamp("2024-07-03")
    assert previous_session("2024-01-02") == pd.Timestamp("2023-12-29")
    with pytest.raises(NotASessionError, match="2024-07-04"):
        previous_session("2024-07-04")


def test_bad_inputs_are_clear():
    with pytest.raises(ValueError, match="before start"):
        sessions_in_range("2024-02-01", "2024-01-01")
    with pytest.raises(ValueError, match="outside the supported calendar range"):
        sessions_in_range("1900-01-01", "1900-02-01")
    with pytest.raises(NotASessionError):
        session_close_utc("2024-07-04")
    with pytest.raises(NotASessionError, match="not XNYS sessions"):
        session_closes_utc(["2024-07-03", "2024-07-04"])


dates = st.dates(min_value=dt.date(2001, 1, 1), max_value=dt.date(2029, 11, 1))  # + span stays in range


@settings(max_examples=150, deadline=None)
@given(day=dates, span=st.integers(min_value=0, max_value=40))
def test_matches_exchange_calendars_on_random_dates(day, span):
    start = pd.Timestamp(day)
    end = start + pd.Timedelta(days=span)
    ours = session_table(start, end) if len(REFERENCE.sessions_in_range(start, end)) else None
    ref_sessions = REFERENCE.sessions_in_range(start, end)
    if ours is None:
        assert len(sessions_in_range(start, end)) == 0
        return
    assert list(ours["date"]) == list(ref_sessions)
    ref_open = REFERENCE.opens.loc[ref_sessions]
    ref_close = REFERENCE.closes.loc[ref_sessions]
    assert list(ours["open_utc"]) == list(ref_open)
    assert list(ours["close_utc"]) == list(ref_close)
    # Half-day rule: an early close is any session closing before 16:00 New York.
    local_close = pd.DatetimeIndex(ref_close).tz_convert("America/New_York")
    assert list(ours["is_early_close"]) == list(local_close.hour < 16)
    assert (ours["open_local"].dt.strftime("%H:%M") == "09:30").all()
