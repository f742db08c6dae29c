"""Small hand-made curated price frames for the backtester tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

SESSIONS = pd.bdate_range("2024-01-02", periods=6)

FRICTIONLESS = {"initial_capital": 10_000.0, "spread_bps": 0.0, "impact_y": 0.0, "default_borrow_bps": 0.0}


def bars(symbol: str, opens, closes=None, volume=1e9, split=None, dividend=None, delisting=None) -> pd.DataFrame:
    """Curated bars of one name over the first sessions; ``split``, ``dividend``, ``delisting``: index -> value."""
    n = len(opens)
    closes = opens if closes is None else closes
    df = pd.DataFrame(
        {
            "date": SESSIONS[:n],
            "symbol": symbol,
            "open": np.asarray(opens, float),
            "close": np.asarray(closes, float),
            "volume": np.broadcast_to(np.asarray(volume, float), n).copy(),
            "split_ratio": 1.0,
            "dividend": 0.0,
            "is_delisting": False,
            "delisting_return": np.nan,
        }
    )
    for k, v in (split or {}).items():
        df.loc[k, "split_ratio"] = v
    for k, v in (dividend or {}).items():
        df.loc[k, "dividend"] = v
    for k, v in (delisting or {}).items():
        df.loc[k, ["is_delisting", "delisting_return"]] = [True, v]
    return df


def targets(rows) -> pd.DataFrame:
    """``[(session index, symbol, target_w, ...)]`` -> targets frame (optional 4th item: limit price)."""
    out = pd.DataFrame([r[:3] for r in rows], columns=["date", "symbol", "target_w"])
    out["date"] = SESSIONS[out["date"].to_numpy()]
    if any(len(r) > 3 for r in rows):
        out["order_type"] = ["LMT" if len(r) > 3 else "MKT" for r in rows]
        out["limit_price"] = [r[3] if len(r) > 3 else np.nan for r in rows]
    return out


def random_bars(rng: np.random.Generator, sessions: pd.DatetimeIndex, symbols: list[str]) -> pd.DataFrame:
    """Lognormal closes (2 % daily vol from 50), opens within 0.5 % of them, no corporate action."""
    n_days, n_names = len(sessions), len(symbols)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, (n_days, n_names)), axis=0))
    opn = close * np.exp(rng.normal(0, 0.005, close.shape))
    return pd.DataFrame(
        {
            "date": np.repeat(sessions, n_names),
            "symbol": np.tile(symbols, n_days),
            "open": opn.ravel(),
            "close": close.ravel(),
            "volume": rng.uniform(2e4, 2e5, close.size),
            "split_ratio": 1.0,
            "dividend": 0.0,
            "is_delisting": False,
            "delisting_return": np.nan,
        }
    )
