"""A small in-memory synthetic option market for the options-sleeve tests (built once per process)."""

from __future__ import annotations

from functools import lru_cache

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
