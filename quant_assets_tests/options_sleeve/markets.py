"""A small in-memory synthetic option market for the options-sleeve tests (built once per process)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from quant_assets.calendars import sessions_in_range
from quant_assets.market.synthetic import MarketConfig, SyntheticMarket


@lru_cache(maxsize=2)
def option_market(seed: int = 5, n_underliers: int = 12) -> SyntheticMarket:
    """``n_underliers`` option underliers over one quarter (planted SSVI surfaces, VRP 1.2)."""
    cfg = MarketConfig(
        seed=seed,
        n_symbols=max(30, n_underliers + 10),
        n_option_underliers=n_underliers,
        start="2024-01-02",
        end="2024-03-28",
    )
    return SyntheticMarket(cfg, sessions_in_range(cfg.start, cfg.end))


def flat_smile_row(date, underlier: str, expiry, t_years: float, spot: float, rate: float, vol: float) -> dict:
    """One surface row with a flat SVI smile (``b = 0``): total variance ``vol**2 * t_years`` at every strike."""
    return {
        "date": pd.Timestamp(date),
        "underlier": underlier,
        "expiry": pd.Timestamp(expiry),
        "t_years": t_years,
        "forward": spot * np.exp(rate * t_years),
        "rate": rate,
        "a": vol * vol * t_years,
        "b": 0.0,
        "rho": 0.0,
        "m": 0.0,
        "sigma": 0.1,
    }
