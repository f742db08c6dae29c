"""Small hand-built vendor frames for the market tests (no generator involved)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from quant_assets.market.lineage import add_lineage

SESSIONS = pd.DatetimeIndex(["2024-07-01", "2024-07-02", "2024-07-03", "2024-07-05", "2024-07-08"])
SYMBOLS = ("S0001", "S0002", "S0003")
INGESTED_AT = pd.Timestamp("2024-07-08 21:00", tz="UTC")


def bars(
    sessions: Sequence[pd.Timestamp] = SESSIONS,
    symbols: Sequence[str] = SYMBOLS,
    seed: int = 0,
) -> pd.DataFrame:
    """OHLC-consistent random raw bars, one row per (session, symbol), sorted by date."""
    rng = np.random.default_rng(seed)
    rows = []
    for sid, date in enumerate(sessions):
        for sym in symbols:
            close = float(np.round(rng.uniform(10, 100), 2))
            open_ = float(np.round(close * rng.uniform(0.97, 1.03), 2))
            high = max(open_, close) + 0.5
            low = min(open_, close) - 0.5
            rows.append(
                {
                    "date": pd.Timestamp(date),
                    "symbol": sym,
                    "open": open_,
                    "high": high,
                    "low": low,
                    "close": close,
                    "vwap": round((open_ + close) / 2, 4),
                    "volume": int(rng.integers(100, 10_000)),
                    "nbbo_spread": 0.02,
                    "trades": int(rng.integers(1, 100)),
                    "session_id": sid,
                }
            )
    out = pd.DataFrame(rows)
    out["volume"] = out["volume"].astype("int64")
    out["trades"] = out["trades"].astype("int64")
    out["session_id"] = out["session_id"].astype("int64")
    return out


def corporate_actions() -> pd.DataFrame:
    """A 2-for-1 split of S0001 and a $0.50 dividend of S0002."""
    d = pd.to_datetime
    return pd.DataFrame(
        {
            "symbol": ["S0001", "S0002"],
            "event_type": ["split", "dividend"],
            "announce_date": d(["2024-07-01", "2024-07-01"]),
            "ex_date": d(["2024-07-03", "2024-07-05"]),
            "record_date": d(["2024-07-05", "2024-07-08"]),
            "pay_date": d(["2024-07-25", "2024-07-26"]),
            "ratio": [2.0, 1.0],
            "amount": [0.0, 0.5],
        }
    )


def delistings() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": ["S0003"],
            "delist_date": pd.to_datetime(["2024-07-08"]),
            "reason": ["bankruptcy"],
            "delisting_return": [-0.6],
        }
    )


def rates(sessions: Sequence[pd.Timestamp] = SESSIONS) -> pd.DataFrame:
    tenors = [1, 30, 91, 182, 365, 730]
    return pd.DataFrame(
        {
            "date": np.repeat(pd.DatetimeIndex(sessions), len(tenors)),
            "tenor_days": np.tile(tenors, len(sessions)).astype("int64"),
            "rate": np.tile(np.linspace(0.05, 0.04, len(tenors)), len(sessions)),
        }
    )


def fundamentals() -> pd.DataFrame:
    d = pd.to_datetime
    return pd.DataFrame(
        {
            "symbol": ["S0001", "S0002"],
            "period_end": d(["2024-03-29", "2024-03-29"]),
            "report_date": d(["2024-05-02", "2024-05-20"]),
            "book_equity": [1.5e9, -2.0e7],
            "shares_outstanding": [1.0e8, 3.0e7],
            "eps": [0.42, -0.1],
        }
    )


def option_quotes(date: str = "2024-07-01") -> pd.DataFrame:
    """Two underliers x two strikes x C/P at one snapshot; ts_ns non-decreasing."""
    day = pd.Timestamp(date)
    ts = int(pd.Timestamp(f"{date} 15:59", tz="America/New_York").value)
    rows = []
    for i, (und, strike, cp) in enumerate(
        (u, k, c) for u in ("S0001", "S0002") for k in (95.0, 105.0) for c in ("C", "P")
    ):
        bid = 1.0 + 0.1 * i
        ask = bid + 0.1
        rows.append(
            {
                "date": day,
                "ts_ns": ts + i,
                "underlier": und,
                "expiry": pd.Timestamp("2024-07-19"),
                "strike": strike,
                "cp_flag": cp,
                "bid": bid,
                "ask": ask,
                "bid_size": 10,
                "ask_size": 12,
                "nbbo_mid": (bid + ask) / 2,
                "exchs_bitmap": 5,
                "volume": 3,
                "open_interest": 100,
            }
        )
    out = pd.DataFrame(rows)
    for col in ("ts_ns", "bid_size", "ask_size", "exchs_bitmap", "volume", "open_interest"):
        out[col] = out[col].astype("int64")
    return out


def with_lineage(df: pd.DataFrame, source: str = "test://vendor") -> pd.DataFrame:
    return add_lineage(df, INGESTED_AT, source, "t0000000000000001")
