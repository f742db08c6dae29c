"""Truth check on the synthetic market: the planted variance risk premium reaches labels and forecasts.

Two markets with the same seed differ only in ``variance_risk_premium`` (1.2 and 1.0): the
realized paths are the same and implied variance is 1.2 times higher in the first. Fitted
surfaces (the real pipeline, no oracle) -> features -> labels -> walk-forward forecasts.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from quant_assets.calendars import sessions_in_range
from quant_assets.market.synthetic import MarketConfig, SyntheticMarket
from quant_assets.options.forecast import VolForecastConfig, walk_forward_forecasts
from quant_assets.options.surfaces import fit_svi_surfaces
from quant_assets.options.vol_features import VolFeatureConfig, build_vol_features, option_flows, surface_summary
from quant_assets.options.vol_labels import build_vol_labels

CFG = VolForecastConfig(horizon=5, features=VolFeatureConfig(rank_window=20))


@lru_cache(maxsize=2)
def vol_research(vrp: float):
    cfg = MarketConfig(
        seed=5, n_symbols=20, n_option_underliers=3, start="2024-01-02", end="2024-03-28", variance_risk_premium=vrp
    )
    s = sessions_in_range(cfg.start, cfg.end)
    m = SyntheticMarket(cfg, s)
    quotes, rates = m.option_quotes(s[0], s[-1]), m.rates(s[0], s[-1])
    slices = pd.concat(
        [fit_svi_surfaces(d, quotes=quotes[quotes["date"] == d], rates=rates[rates["date"] == d])[1] for d in s],
        ignore_index=True,
    )
    bars = m.bars(s[0], s[-1]).sort_values(["symbol", "date"])
    bars = bars.assign(split_ratio=1.0, ret_price=bars.groupby("symbol")["close"].pct_change())
    summary = surface_summary(slices, CFG.features)
    feats = build_vol_features(
        summary, bars, option_flows(quotes), m.earnings_calendar(s[0], s[-1]), s[1:], CFG.features
    )
    labels = build_vol_labels(summary, slices, bars, s, CFG.labels)
    return feats, labels


def test_the_planted_premium_makes_implied_rich_in_features_labels_and_forecasts():
    f12, l12 = vol_research(1.2)
    f10, l10 = vol_research(1.0)
    pair = l12.merge(l10, on=["entry_date", "underlier"], suffixes=("_12", "_10"))
    assert len(pair) > 100
    # Same realized paths, implied variance x1.2: the realized VRP rises, the hedged straddle loses more.
    assert (pair["rvrp_21_12"] > pair["rvrp_21_10"]).mean() > 0.95
    for h in (5, 21):
        diff = pair[f"straddle_pnl_bps_{h}_12"] - pair[f"straddle_pnl_bps_{h}_10"]
        assert diff.mean() < -100 and (diff < 0).mean() > 0.8, (h, diff.describe())
    assert f12["feature_vrp"].mean() > f10["feature_vrp"].mean()
    wf = {
        vrp: walk_forward_forecasts(f, lab, CFG, candidate="vrp_baseline", refit_every=5, min_sessions=15)
        for vrp, (f, lab) in {1.2: (f12, l12), 1.0: (f10, l10)}.items()
    }
    assert len(wf[1.2]) and np.isfinite(wf[1.2]["forecast_straddle_pnl_bps"]).all()
    assert wf[1.2]["forecast_straddle_pnl_bps"].mean() < wf[1.0]["forecast_straddle_pnl_bps"].mean() - 100
