"""Corporate actions: dividend schedules, split triggers and the corporate-action / delisting feeds.

* Cash dividends: payers go ex every 63 sessions from a per-name phase; the amount
  ``round(yield / 4 * P_announce, 2)`` is fixed when announced 15-30 sessions before the ex-date
  (rescaled if a split goes ex in between) and capped at a quarter of the pre-ex close.
* Forward splits (2:1 with probability 0.6, 3:1 0.25, 3:2 0.15) are announced when the raw
  close crosses a per-name threshold, 1.3-5x the price at the start and at least $60, raised
  2-4x after each forward split; only 40% of names split at all, which gives about 2% of names
  splitting per year. Reverse 1:10 splits are announced when the close falls below a per-name
  floor between $1 and $3 (listing compliance, institutional eligibility). The ex-date is
  10-30 sessions after the announcement.
* ``record_date`` is the next session after the ex-date and ``pay_date`` 15-25 sessions after.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from quant_assets.market.synthetic.seeding import stream
from quant_assets.market.synthetic.universe import Universe

__all__ = [
    "REVERSE_SPLIT_RATIO",
    "DividendSchedule",
    "SplitRecord",
    "choose_split",
    "corporate_actions_frame",
    "delistings_frame",
    "schedule_dividends",
]

REVERSE_SPLIT_RATIO = 0.1
_FORWARD_RATIOS = np.array([2.0, 3.0, 1.5])
_FORWARD_PROBS = np.array([0.6, 0.25, 0.15])


@dataclass
class DividendSchedule:
    """Dividend events (arrays); ``amount`` is NaN until announced and for cancelled events."""

    name: np.ndarray
    announce_idx: np.ndarray
    ex_idx: np.ndarray
    amount: np.ndarray
    paid: np.ndarray  # bool: went ex inside the range (amount final)


@dataclass(frozen=True)
class SplitRecord:
    """One split that went ex inside the range."""

    name: int
    announce_idx: int
    ex_idx: int
    ratio: float


def schedule_dividends(seed: int, n_sessions: int, uni: Universe, distress_drift: bool) -> DividendSchedule:
    """Quarterly ex-dates of the payers (strictly after listing, before delisting/distress)."""
    rng = stream(seed, "dividends")
    names, exs, anns = [], [], []
    for i in np.flatnonzero(uni.div_payer):
        ex = np.arange(int(uni.div_phase[i]), n_sessions, 63)
        stop = min(n_sessions - 1, int(uni.delist_idx[i]))
        if distress_drift:
            stop = min(stop, int(uni.distress_start[i]) - 1)
        ex = ex[(ex > uni.list_idx[i]) & (ex <= stop)]
        lead = rng.integers(15, 31, len(ex))
        names.append(np.full(len(ex), i, dtype=np.int64))
        exs.append(ex.astype(np.int64))
        anns.append(np.maximum(ex - lead, uni.list_idx[i]).astype(np.int64))
    if not names:
        z = np.zeros(0, dtype=np.int64)
        return DividendSchedule(z, z, z, np.zeros(0), np.zeros(0, dtype=bool))
    name, ex, ann = np.concatenate(names), np.concatenate(exs), np.concatenate(anns)
    order = np.lexsort((name, ex))
    n_ev = len(order)
    return DividendSchedule(name[order], ann[order], ex[order], np.full(n_ev, np.nan), np.zeros(n_ev, dtype=bool))


def choose_split(rng: np.random.Generator, price: np.ndarray, threshold: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """Split ratio (new shares per old) triggered by ``price``; 0 where nothing is triggered.

    A forward split when ``price > threshold``, a 1:10 reverse split when ``price < floor``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> up, floor = np.full(3, 300.0), np.full(3, 1.0)
    >>> r = choose_split(rng, np.array([500.0, 50.0, 0.8]), up, floor)
    >>> bool(r[0] in (1.5, 2.0, 3.0)), float(r[1]), float(r[2])
    (True, 0.0, 0.1)
    """
    u = rng.random(len(price))
    forward = _FORWARD_RATIOS[
        np.searchsorted(np.cumsum(_FORWARD_PROBS), u, side="right").clip(0, len(_FORWARD_RATIOS) - 1)
    ]
    return np.where(price > threshold, forward, np.where(price < floor, REVERSE_SPLIT_RATIO, 0.0))


def _settlement_dates(ext_sessions: pd.DatetimeIndex, ex_idx: np.ndarray, seed: int):
    lag = stream(seed, "pay_dates").integers(15, 26, len(ex_idx))
    last = len(ext_sessions) - 1
    record = ext_sessions.values[np.minimum(ex_idx + 1, last)]
    pay = ext_sessions.values[np.minimum(ex_idx + lag, last)]
    return record, pay


def corporate_actions_frame(
    splits: list[SplitRecord], divs: DividendSchedule, ext_sessions: pd.DatetimeIndex, symbols: np.ndarray, seed: int
) -> pd.DataFrame:
    """Corporate-actions feed sorted by (ex_date, symbol, event_type).

    Columns: symbol, event_type, announce_date, ex_date, record_date, pay_date, ratio, amount.
    ``ext_sessions`` are the sessions of the range followed by later sessions (for record and
    pay dates past the end of the range).
    """
    s_name = np.array([s.name for s in splits], dtype=np.int64)
    s_ann = np.array([s.announce_idx for s in splits], dtype=np.int64)
    s_ex = np.array([s.ex_idx for s in splits], dtype=np.int64)
    s_ratio = np.array([s.ratio for s in splits], dtype=float)
    paid = divs.paid
    name = np.concatenate([s_name, divs.name[paid]])
    ann = np.concatenate([s_ann, divs.announce_idx[paid]])
    ex = np.concatenate([s_ex, divs.ex_idx[paid]])
    n_split = len(s_name)
    record, pay = _settlement_dates(ext_sessions, ex, seed)
    df = pd.DataFrame(
        {
            "symbol": symbols[name],
            "event_type": np.array(["split"] * n_split + ["dividend"] * int(paid.sum()), dtype=object),
            "announce_date": ext_sessions.values[ann],
            "ex_date": ext_sessions.values[ex],
            "record_date": record,
            "pay_date": pay,
            "ratio": np.concatenate([s_ratio, np.ones(int(paid.sum()))]),
            "amount": np.concatenate([np.zeros(n_split), divs.amount[paid]]),
        }
    )
    return df.sort_values(["ex_date", "symbol", "event_type"], kind="stable").reset_index(drop=True)


def delistings_frame(uni: Universe, sessions: pd.DatetimeIndex) -> pd.DataFrame:
    """Delistings feed: symbol, delist_date, reason, delisting_return (sorted by date, symbol)."""
    idx = np.flatnonzero(uni.delist_idx < len(sessions))
    df = pd.DataFrame(
        {
            "symbol": uni.symbols[idx],
            "delist_date": sessions.values[uni.delist_idx[idx]],
            "reason": uni.delist_reason[idx],
            "delisting_return": np.round(uni.delisting_return[idx], 6),
        }
    )
    return df.sort_values(["delist_date", "symbol"], kind="stable").reset_index(drop=True)
