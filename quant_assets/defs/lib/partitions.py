"""Trading-session partitions, declared once.

Partitions are XNYS sessions, not calendar days: a weekday cron with every non-session
weekday (exchange holiday) excluded. Being a time-window definition it keeps time-window
partition mappings (e.g. "the previous session") and single-run backfills over ranges.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

import dagster as dg
import pandas as pd

from quant_assets.calendars import EXCHANGE_TZ, non_session_weekdays, sessions_in_range
from quant_assets.config import Profile

PARTITION_FMT = "%Y-%m-%d"


@lru_cache(maxsize=8)
def _session_partitions(start: str, end: str) -> dg.TimeWindowPartitionsDefinition:
    sessions = sessions_in_range(start, end)
    first, last = sessions[0], sessions[-1]
    holidays = non_session_weekdays(first, last)
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule="0 0 * * 1-5",
        fmt=PARTITION_FMT,
        timezone=EXCHANGE_TZ,
        start=first.strftime(PARTITION_FMT),
        # `end` is exclusive: the day after the last session keeps it in.
        end=(last + pd.Timedelta(days=1)).strftime(PARTITION_FMT),
        exclusions=[datetime(d.year, d.month, d.day) for d in holidays],
        # A session's partition is requestable from its own evening (after the close),
        # not only once the next session has started.
        end_offset=1,
    )


def session_partitions(profile: Profile) -> dg.TimeWindowPartitionsDefinition:
    """Partitions definition whose keys are exactly the profile's XNYS sessions."""
    return _session_partitions(str(profile.start.date()), str(profile.end.date()))


def previous_session_and_window() -> dg.TimeWindowPartitionMapping:
    """Partition mapping to the upstream window plus the session before it (none at the start)."""
    return dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=0, allow_nonexistent_upstream_partitions=True)
