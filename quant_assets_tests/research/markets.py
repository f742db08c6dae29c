"""Small in-memory synthetic markets for the research tests (generated once per process)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from quant_assets.calendars import sessions_in_range
from quant_assets.market.synthetic import MarketConfig, SyntheticMarket
from quant_assets.research import MarketFrames


@lru_cache(maxsize=2)
def small_market(seed: int = 3) -> MarketFrames:
    """40 names over 18 months with a high delisting rate (several names delist mid-range)."""
    cfg = MarketConfig(
        seed=seed, n_symbols=40, n_option_underliers=0, start="2022-01-03", end="2023-06-30", annual_delisting_rate=0.2
    )
    return MarketFrames.from_synthetic(SyntheticMarket(cfg, sessions_in_range(cfg.start, cfg.end)))


def perturb_after(market: MarketFrames, cut: pd.Timestamp, seed: int) -> MarketFrames:
    """A copy whose every row known after ``cut`` is changed (prices, fundamentals, calendar, rates)."""
    rng = np.random.default_rng(seed)
    p = market.prices.copy()
    late = (p["date"] > cut).to_numpy()
    k = int(late.sum())
    for col in ("open", "close"):
        p.loc[late, col] = p.loc[late, col].to_numpy() * rng.uniform(0.5, 1.5, k)
    p.loc[late, "volume"] = (p.loc[late, "volume"].to_numpy() * rng.uniform(0.1, 10, k)).astype(np.int64)
    p.loc[late, "ret_total"] = rng.normal(0, 0.1, k)
    p.loc[late, "ret_price"] = p.loc[late, "ret_total"]
    p.loc[late, "is_delisting"] = rng.uniform(size=k) < 0.02
    f = market.fundamentals.copy()
    fl = (f["report_date"] > cut).to_numpy()
    f.loc[fl, "book_equity"] = f.loc[fl, "book_equity"].to_numpy() * rng.uniform(-2, 3, int(fl.sum()))
    e = market.earnings.copy()
    el = (e["announce_date"] > cut).to_numpy()
    e.loc[el, "earnings_date"] = e.loc[el, "announce_date"] + pd.Timedelta(days=1)
    s = market.symbols.copy()
    sl = (s["date"] > cut).to_numpy()
    s.loc[sl, "shares_outstanding"] = s.loc[sl, "shares_outstanding"].to_numpy() * 3
    r = market.rates.copy()
    rl = (r["date"] > cut).to_numpy()
    r.loc[rl, "rate"] = r.loc[rl, "rate"].to_numpy() + rng.normal(0, 0.01, int(rl.sum()))
    return MarketFrames(prices=p, fundamentals=f, earnings=e, symbols=s, rates=r)
