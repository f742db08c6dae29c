"""Shared fixtures: XNYS sessions and small cached markets."""

from __future__ import annotations

import functools

import exchange_calendars as xcals
import pandas as pd
import pytest

from quant_assets.market.synthetic import MarketConfig, SyntheticMarket


@functools.lru_cache(maxsize=1)
def _calendar():
    return xcals.get_calendar("XNYS", start="2015-01-01", end="2027-12-31")


def sessions_for(cfg: MarketConfig) -> pd.DatetimeIndex:
    return _calendar().sessions_in_range(cfg.start, cfg.end)


def make_market(**kw) -> SyntheticMarket:
    cfg = MarketConfig(**kw)
    return SyntheticMarket(cfg, sessions_for(cfg))


TINY = {
    "seed": 11,
    "n_symbols": 30,
    "start": "2024-01-02",
    "end": "2024-06-21",
    "n_option_underliers": 3,
    "annual_delisting_rate": 0.3,
    "annual_ipo_rate": 0.3,
}


@pytest.fixture(scope="session")
def tiny_market() -> SyntheticMarket:
    """30 names over ~120 sessions with a high delisting rate."""
    return make_market(**TINY)


@pytest.fixture(scope="session")
def demo_market() -> SyntheticMarket:
    """The demo-size market (defaults: 200 names, 2023-2024)."""
    return make_market()


@pytest.fixture(scope="session")
def noise_market() -> SyntheticMarket:
    """Demo-size market in noise-only mode."""
    return make_market(noise_only=True)
