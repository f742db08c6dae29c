"""Exchange calendars and trading sessions."""

from quant_assets.calendars.sessions import (
    EXCHANGE,
    EXCHANGE_TZ,
    NotASessionError,
    is_session,
    non_session_weekdays,
    previous_session,
    session_close_utc,
    session_closes_utc,
    session_table,
    sessions_in_range,
)

__all__ = [
    "EXCHANGE",
    "EXCHANGE_TZ",
    "NotASessionError",
    "is_session",
    "non_session_weekdays",
    "previous_session",
    "session_close_utc",
    "session_closes_utc",
    "session_table",
    "sessions_in_range",
]
