"""Asset checks of the market-data graph: what the schemas cannot say about the data.

Every frame is validated against its schema before it is stored (types, ranges, unique keys,
OHLC order); the checks here look across rows, sessions and datasets instead. Each is a pure
function returning the offending rows (tested directly) and a Dagster check reporting them.

=============================  ========  ========  ==========================================
check (asset)                  severity  blocking  fails when
=============================  ========  ========  ==========================================
``ingested_at_within_arrival``  ERROR     yes       a row's ``ingested_at`` is before the close
(every vendor feed)                                 of its ``known_at`` session or later than
                                                    that close plus ``ARRIVAL_DELAY``
``bar_coverage`` (raw_bars)     WARN /    yes       a name listed in ``symbols`` on a session
                                ERROR               has no bar that session (WARN, listing
                                                    them); ERROR when a session misses more than
                                                    ``COVERAGE_ERROR_SHARE`` of the listed names
``row_count_matches_raw``       ERROR     yes       a session's curated row count differs from
(adjusted_prices)                                   its raw bar count
``corporate_actions_applied_``  ERROR     yes       a raw split/dividend is missing, doubled or
``once`` (adjusted_prices)                          moved in curated, or the ex-date's returns
                                                    disagree with the raw closes and the event
``return_outliers``             WARN      no        ``|ret_price|`` or ``|ret_total|`` above
(adjusted_prices)                                   ``OUTLIER_ABS_RETURN`` on a row without a
                                                    split, dividend or delisting
=============================  ========  ========  ==========================================

Realistic feed dirt (a name missing a day, a halt, a zero-volume day, a bad print, a corporate
action delivered late) shows up as WARN results and never fails a blocking check.

Option-surface sanity checks (no static arbitrage in the curated quotes' implied surface)
belong with the options sleeve and are not defined yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from quant_assets.calendars import session_closes_utc
from quant_assets.defs.lib.frame_checks import FrameCheck, check_result
from quant_assets.defs.lib.runtime import window_sessions
from quant_assets.market.ingest import ARRIVAL_DELAY

CHECK_ARRIVAL = "ingested_at_within_arrival"
CHECK_BAR_COVERAGE = "bar_coverage"
CHECK_ROW_COUNT = "row_count_matches_raw"
CHECK_CORPORATE_ACTIONS = "corporate_actions_applied_once"
CHECK_RETURN_OUTLIERS = "return_outliers"

COVERAGE_ERROR_SHARE = 0.10
"""A session missing bars for more than this share of its listed names fails with ERROR."""

COVERAGE_ERROR_MIN_NAMES = 3
"""... and for at least this many names: in a small universe one halted name is a WARN, not an outage."""

OUTLIER_ABS_RETURN = 0.5
"""Absolute daily return above which a row without a corporate action or delisting is flagged."""

RETURN_RTOL = 1e-9
"""Relative tolerance when recomputing ex-date returns from raw closes."""

_EVENT_KEY = ["symbol", "event_type", "announce_date", "ratio", "amount"]


# --- pure functions: the offending rows ---------------------------------------------------


def arrival_violations(df: pd.DataFrame, known_at: str) -> pd.DataFrame:
    """Rows whose ``ingested_at`` is before the close of their ``known_at`` session or after
    the documented arrival (that close plus :data:`~quant_assets.market.ingest.ARRIVAL_DELAY`).

    Examples
    --------
    >>> df = pd.DataFrame({"date": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04"]),
    ...     "ingested_at": pd.to_datetime(["2024-01-02 22:00", "2024-01-03 20:00", "2024-01-04 23:00"],
    ...                                   utc=True)})  # closes at 21:00 UTC, arrival at 22:00
    >>> arrival_violations(df, "date")["problem"].tolist()
    ['before_close', 'late']
    """
    close = session_closes_utc(df[known_at])
    ingested = pd.DatetimeIndex(df["ingested_at"])
    early, late = ingested < close, ingested > close + ARRIVAL_DELAY
    bad = early | late
    out = df.loc[bad, [known_at, *(c for c in ("symbol", "underlier") if c in df.columns), "ingested_at"]]
    return out.assign(session_close=close[bad], problem=np.where(early[bad], "before_close", "late"))


def missing_bars(bars: pd.DataFrame, symbols: pd.DataFrame) -> pd.DataFrame:
    """``date, symbol`` of names listed in ``symbols`` on a session without a bar that session.

    Examples
    --------
    >>> d = pd.to_datetime(["2024-01-02"] * 2)
    >>> missing_bars(pd.DataFrame({"date": d[:1], "symbol": ["A"]}),
    ...              pd.DataFrame({"date": d, "symbol": ["A", "B"]}))["symbol"].tolist()
    ['B']
    """
    listed = symbols[["date", "symbol"]].drop_duplicates()
    merged = listed.merge(bars[["date", "symbol"]].drop_duplicates(), how="left", indicator=True)
    return merged.loc[merged["_merge"] == "left_only", ["date", "symbol"]].sort_values(
        ["date", "symbol"], ignore_index=True
    )


def coverage_by_session(bars: pd.DataFrame, symbols: pd.DataFrame) -> pd.DataFrame:
    """Per session with missing bars: listed names, missing names and their share."""
    missing = missing_bars(bars, symbols)
    if missing.empty:
        return pd.DataFrame(
            {
                "date": pd.DatetimeIndex([]),
                "listed": pd.Series(dtype=int),
                "missing": pd.Series(dtype=int),
                "share": pd.Series(dtype=float),
                "symbols": pd.Series(dtype=str),
            }
        )
    listed = symbols.groupby("date")["symbol"].nunique().rename("listed")
    per_day = missing.groupby("date")["symbol"].agg(missing="size", symbols=lambda s: ", ".join(s))
    out = per_day.join(listed).reset_index()
    out["share"] = out["missing"] / out["listed"]
    return out[["date", "listed", "missing", "share", "symbols"]]


def row_count_mismatches(curated: pd.DataFrame, raw_bars: pd.DataFrame, sessions: pd.DatetimeIndex) -> pd.DataFrame:
    """Sessions (of ``sessions``) whose curated row count differs from their raw bar count."""
    counts = (
        pd.DataFrame(
            {
                "raw_rows": raw_bars["date"].value_counts(),
                "curated_rows": curated["date"].value_counts(),
            }
        )
        .reindex(pd.DatetimeIndex(sessions))
        .fillna(0)
        .astype(int)
    )
    counts.index.name = "date"
    return counts[counts["raw_rows"] != counts["curated_rows"]].reset_index()


def corporate_action_mismatches(
    curated: pd.DataFrame, raw_bars: pd.DataFrame, corporate_actions: pd.DataFrame
) -> pd.DataFrame:
    """Raw corporate actions not applied exactly once, on their ex-date, in ``curated``.

    Problems reported (``problem`` column):

    - ``delivered_twice``: the same event (symbol, type, announce date, ratio, amount) appears
      more than once in raw, e.g. re-delivered with a moved ex-date; curation would apply it
      on each ex-date.
    - ``split_ratio`` / ``dividend``: curated's event columns on a (symbol, date) differ from
      the product of the raw split ratios / the sum of the raw dividends going ex that day
      (missing, doubled or moved events).
    - ``ret_price`` / ``ret_total``: on an ex-date, ``1 + ret_price`` differs from
      ``split_ratio * close / previous raw close`` or ``ret_total - ret_price`` from
      ``dividend / previous raw close`` (the event recorded but not, or twice, applied).
      ``raw_bars`` may start a session before ``curated`` (the previous closes); a name
      whose previous close is unknown is not checked here.
    """
    ca = corporate_actions
    problems = []
    dup = ca[ca.duplicated(_EVENT_KEY, keep=False)]
    if not dup.empty:
        problems.append(
            dup[["symbol", "ex_date"]].rename(columns={"ex_date": "date"}).assign(problem="delivered_twice")
        )

    key = ["symbol", "date"]
    splits = ca[ca["event_type"] == "split"].groupby(["symbol", "ex_date"])["ratio"].prod()
    divs = ca[ca["event_type"] == "dividend"].groupby(["symbol", "ex_date"])["amount"].sum()
    expected = pd.DataFrame({"exp_split": splits, "exp_div": divs})
    expected.index.names = key
    cur = curated.set_index(key)[["split_ratio", "dividend", "close", "ret_price", "ret_total", "is_delisting"]]
    both = cur.join(expected, how="outer")
    both["exp_split"] = both["exp_split"].fillna(1.0)
    both["exp_div"] = both["exp_div"].fillna(0.0)
    for col, exp in (("split_ratio", "exp_split"), ("dividend", "exp_div")):
        bad = both[col].isna() | ~np.isclose(both[col], both[exp], rtol=RETURN_RTOL, atol=0.0)
        if bad.any():
            problems.append(both.index[bad].to_frame(index=False).assign(problem=col))

    events = cur[(cur["split_ratio"] != 1.0) | (cur["dividend"] > 0)]
    if not events.empty:
        prev = _previous_raw_close(raw_bars, events.index)
        implied = events["split_ratio"] * events["close"] / prev
        bad_price = prev.notna() & ~np.isclose(1.0 + events["ret_price"], implied, rtol=RETURN_RTOL)
        div_part = events["ret_total"] - events["ret_price"]
        bad_total = (
            prev.notna()
            & ~events["is_delisting"]
            & ~np.isclose(div_part, events["dividend"] / prev, rtol=RETURN_RTOL, atol=1e-12)
        )
        for mask, name in ((bad_price, "ret_price"), (bad_total, "ret_total")):
            if mask.any():
                problems.append(events.index[mask.to_numpy()].to_frame(index=False).assign(problem=name))
    if not problems:
        return pd.DataFrame(columns=["symbol", "date", "problem"])
    return pd.concat(problems, ignore_index=True).sort_values(["date", "symbol"], ignore_index=True)


def _previous_raw_close(raw_bars: pd.DataFrame, keys: pd.MultiIndex) -> pd.Series:
    """For each (symbol, date) of ``keys``, the symbol's last raw close before that date."""
    bars = raw_bars[["symbol", "date", "close"]].sort_values(["symbol", "date"])
    prev = bars.assign(prev_close=bars.groupby("symbol")["close"].shift(1)).set_index(["symbol", "date"])
    return prev["prev_close"].reindex(keys)


def return_outliers(curated: pd.DataFrame, threshold: float = OUTLIER_ABS_RETURN) -> pd.DataFrame:
    """Rows with ``|ret_price|`` or ``|ret_total|`` above ``threshold`` and no split, dividend
    or delisting that session (a bad print, a missing corporate action, a data error).

    Examples
    --------
    >>> cur = pd.DataFrame({"date": pd.to_datetime(["2024-01-03"] * 2), "symbol": ["A", "B"],
    ...     "close": [1.0, 2.0], "ret_price": [0.9, -0.5], "ret_total": [0.9, -0.5],
    ...     "split_ratio": [1.0, 2.0], "dividend": [0.0, 0.0], "is_delisting": [False, False]})
    >>> return_outliers(cur)["symbol"].tolist()
    ['A']
    """
    big = (curated["ret_price"].abs() > threshold) | (curated["ret_total"].abs() > threshold)
    explained = (curated["split_ratio"] != 1.0) | (curated["dividend"] > 0) | curated["is_delisting"]
    cols = ["date", "symbol", "close", "ret_price", "ret_total"]
    return curated.loc[big & ~explained, cols].sort_values(["date", "symbol"], ignore_index=True)


# --- Dagster checks -----------------------------------------------------------------------


def arrival_check(known_at: str) -> FrameCheck:
    """The arrival check of a feed whose rows become known at their ``known_at`` session."""

    def evaluate(df: pd.DataFrame, _inputs: Mapping[str, Any]) -> dg.AssetCheckResult:
        return check_result(
            arrival_violations(df, known_at),
            description=f"ingested_at outside [close of {known_at}, close + {ARRIVAL_DELAY}]",
            metadata={"known_at": known_at, "arrival_delay": str(ARRIVAL_DELAY)},
        )

    return FrameCheck(
        CHECK_ARRIVAL,
        f"Every row arrived after the close of its {known_at} session and no later than "
        f"{ARRIVAL_DELAY} after it (the documented arrival).",
        evaluate,
        blocking=True,
    )


def _row_count(df: pd.DataFrame, inputs: Mapping[str, Any]) -> dg.AssetCheckResult:
    sessions = window_sessions(inputs["context"])
    raw = inputs["raw_bars"]
    return check_result(
        row_count_mismatches(df, raw[raw["date"] >= sessions[0]], sessions),
        description="curated and raw row counts differ",
        metadata={"rows": int(len(df))},
    )


def _corporate_actions(df: pd.DataFrame, inputs: Mapping[str, Any]) -> dg.AssetCheckResult:
    ca = inputs["raw_corporate_actions"]
    return check_result(
        corporate_action_mismatches(df, inputs["raw_bars"], ca),
        description="corporate actions not applied exactly once on their ex-date",
        metadata={"raw_events": int(len(ca))},
    )


def _outliers(df: pd.DataFrame, _inputs: Mapping[str, Any]) -> dg.AssetCheckResult:
    return check_result(
        return_outliers(df),
        severity=dg.AssetCheckSeverity.WARN,
        description=f"|return| > {OUTLIER_ABS_RETURN:.0%} without a corporate action or delisting",
        metadata={"threshold": OUTLIER_ABS_RETURN},
    )


CURATED_PRICE_CHECKS = (
    FrameCheck(CHECK_ROW_COUNT, "Each session has as many curated rows as raw bars.", _row_count, blocking=True),
    FrameCheck(
        CHECK_CORPORATE_ACTIONS,
        "Each raw split and dividend is applied once, on its ex-date, and the ex-date's returns "
        "agree with the raw closes and the event.",
        _corporate_actions,
        blocking=True,
    ),
    FrameCheck(
        CHECK_RETURN_OUTLIERS,
        f"Flags |return| above {OUTLIER_ABS_RETURN:.0%} on sessions without a split, dividend or delisting.",
        _outliers,
    ),
)
"""Checks of ``adjusted_prices``, evaluated in its step on its output and its raw inputs."""


def coverage_result(bars: pd.DataFrame, symbols: pd.DataFrame) -> dg.AssetCheckResult:
    """WARN listing the names without a bar; ERROR when a session misses too many."""
    gaps = coverage_by_session(bars, symbols)
    worst = float(gaps["share"].max()) if not gaps.empty else 0.0
    outage = gaps[(gaps["share"] > COVERAGE_ERROR_SHARE) & (gaps["missing"] >= COVERAGE_ERROR_MIN_NAMES)]
    error = not outage.empty
    return check_result(
        gaps.assign(date=gaps["date"].dt.strftime("%Y-%m-%d")),
        severity=dg.AssetCheckSeverity.ERROR if error else dg.AssetCheckSeverity.WARN,
        description=(
            f"{int(gaps['missing'].sum()) if not gaps.empty else 0} listed name-session(s) without "
            f"a bar; worst session misses {worst:.1%} of its names "
            f"({'above' if error else 'within'} the error threshold: more than {COVERAGE_ERROR_SHARE:.0%} "
            f"and at least {COVERAGE_ERROR_MIN_NAMES} names)"
        ),
        metadata={
            "worst_session_share": worst,
            "error_share": COVERAGE_ERROR_SHARE,
            "error_min_names": COVERAGE_ERROR_MIN_NAMES,
        },
    )


def build_market_checks(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetChecksDefinition]:
    """The market checks that read other assets, partitioned like the assets they check."""

    @dg.asset_check(
        asset="raw_bars",
        name=CHECK_BAR_COVERAGE,
        additional_ins={"symbols": dg.AssetIn()},
        partitions_def=partitions_def,
        blocking=True,
        description=(
            "Every name listed in the symbol master on a session has a bar that session: WARN "
            f"listing the gaps, ERROR when a session misses more than {COVERAGE_ERROR_SHARE:.0%} "
            "of its names."
        ),
    )
    def bar_coverage(raw_bars: pd.DataFrame, symbols: pd.DataFrame) -> dg.AssetCheckResult:
        return coverage_result(raw_bars, symbols)

    return [bar_coverage]
