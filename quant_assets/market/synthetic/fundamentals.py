"""Quarterly fundamentals with an arrival lag, and the earnings calendar announcing them.

Each name reports book equity, shares outstanding and EPS for every calendar quarter end. A
report *arrives* (``report_date``) ``lag`` sessions after the period end, ``lag`` in [20, 60]
(per-name base lag with a small per-quarter jitter). The first visible report of a name is a
snapshot delivered on its first session in the range (the vendor's back-fill). Book equity
evolves slowly: ``ln B_{q+1} = ln B_q + g_i + 0.03 eps``, starting from ``B = M_0 * BM_0``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from quant_assets.market.synthetic.seeding import stream
from quant_assets.market.synthetic.universe import Universe

__all__ = [
    "ReportSchedule",
    "build_report_schedule",
    "earnings_calendar_frame",
    "fundamentals_frame",
]


@dataclass(frozen=True)
class ReportSchedule:
    """All reports visible in the range, sorted by (report_idx, name)."""

    name: np.ndarray  # int index of the name
    period_end: np.ndarray  # datetime64[ns]
    report_idx: np.ndarray  # session index of arrival
    book_equity: np.ndarray
    roe: np.ndarray  # quarterly return on equity used for EPS
    prev_book: np.ndarray  # book equity at the start of the period
    regular: np.ndarray  # bool: False for the first (back-fill) snapshot
    announce_idx: np.ndarray  # session the report date was announced (regular reports)


def build_report_schedule(seed: int, sessions: pd.DatetimeIndex, uni: Universe) -> ReportSchedule:
    """Draw report dates and book-equity paths for every name (independent of prices)."""
    rng = stream(seed, "fundamentals")
    n_t = len(sessions)
    first = sessions[0]
    quarters = pd.date_range(first - pd.DateOffset(years=1), sessions[-1], freq="QE").normalize()
    q_vals = quarters.values.astype("datetime64[D]")
    in_range = quarters >= first
    after = np.where(in_range, np.searchsorted(sessions.values, quarters.values, side="right"), 0)
    before_start = np.where(in_range, 0, np.busday_count(q_vals + 1, np.datetime64(first.date())))
    n_q = len(quarters)

    cols: dict[str, list[np.ndarray]] = {
        k: []
        for k in ("name", "period_end", "report_idx", "book_equity", "roe", "prev_book", "regular", "announce_idx")
    }
    jitter = rng.integers(-3, 4, (uni.n, n_q))
    shocks = rng.standard_normal((uni.n, n_q))
    roe_noise = rng.standard_normal((uni.n, n_q))
    announce_lead = rng.integers(15, 26, (uni.n, n_q))
    for i in range(uni.n):
        lag = np.clip(uni.report_lag[i] + jitter[i], 20, 60)
        ridx = np.where(in_range, after + lag - 1, lag - 1 - before_start)
        li = int(uni.list_idx[i])
        last = int(min(n_t - 1, uni.delist_idx[i]))
        if li == 0:
            known = np.flatnonzero(ridx <= 0)
        else:
            known = np.flatnonzero(quarters < sessions[li])
        q0 = int(known[-1]) if len(known) else 0
        qs = np.arange(q0, n_q)
        qs = qs[(qs == q0) | ((ridx[qs] > li) & (ridx[qs] <= last))]
        r_idx = np.where(qs == q0, li, ridx[qs])
        steps = uni.book_growth[i] + 0.03 * shocks[i, qs]
        steps[0] = 0.0
        book = np.round(uni.mktcap0[i] * np.exp(uni.log_bm0[i] + np.cumsum(steps)), 0)
        prev = np.concatenate([[book[0] / np.exp(uni.book_growth[i])], book[:-1]])
        cols["name"].append(np.full(len(qs), i, dtype=np.int64))
        cols["period_end"].append(quarters.values[qs])
        cols["report_idx"].append(r_idx.astype(np.int64))
        cols["book_equity"].append(book)
        cols["roe"].append(uni.roe[i] + 0.01 * roe_noise[i, qs])
        cols["prev_book"].append(prev)
        cols["regular"].append(qs != q0)
        cols["announce_idx"].append(np.maximum(r_idx - announce_lead[i, qs], li).astype(np.int64))
    arrays = {k: np.concatenate(v) for k, v in cols.items()}
    order = np.lexsort((arrays["name"], arrays["report_idx"]))
    return ReportSchedule(**{k: v[order] for k, v in arrays.items()})


def fundamentals_frame(
    sched: ReportSchedule, sessions: pd.DatetimeIndex, symbols: np.ndarray, shares: np.ndarray
) -> pd.DataFrame:
    """Fundamentals feed: ``symbol, period_end, report_date, book_equity, shares_outstanding, eps``.

    ``shares`` is the (T, N) shares-outstanding path; EPS is ``roe * prev_book / shares``.
    """
    sh = shares[sched.report_idx, sched.name]
    df = pd.DataFrame(
        {
            "symbol": symbols[sched.name],
            "period_end": pd.DatetimeIndex(sched.period_end),
            "report_date": sessions.values[sched.report_idx],
            "book_equity": sched.book_equity,
            "shares_outstanding": sh,
            "eps": np.round(sched.roe * sched.prev_book / sh, 4),
        }
    )
    return df.sort_values(["report_date", "symbol"], kind="stable").reset_index(drop=True)


def earnings_calendar_frame(sched: ReportSchedule, sessions: pd.DatetimeIndex, symbols: np.ndarray) -> pd.DataFrame:
    """Earnings calendar: ``symbol, announce_date, earnings_date`` for the regular reports."""
    m = sched.regular
    df = pd.DataFrame(
        {
            "symbol": symbols[sched.name[m]],
            "announce_date": sessions.values[sched.announce_idx[m]],
            "earnings_date": sessions.values[sched.report_idx[m]],
        }
    )
    return df.sort_values(["announce_date", "symbol"], kind="stable").reset_index(drop=True)
