"""Vol sleeve: delta-hedged straddles and strangles from the day's vol forecasts.

A forecast row (``vol_forecasts``: ``underlier, asof, horizon, forecast_iv_change,
forecast_straddle_pnl_bps, conf``) states the expected delta-hedged PnL of a long ATM straddle
over its horizon, bps of premium. Positive: implied is cheap, buy; negative: implied is rich,
sell. The strangle's expected PnL is the straddle's scaled by their vega ratio (the same vol
view on a vega-equivalent position). Each is sized to ``vega_per_strategy`` of the book (and its
share of the gamma cap); the one with the larger expected PnL after round-trip costs is kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from quant_assets.options.strategies.evaluate import better_candidate, evaluate, size_units
from quant_assets.options.strategies.legs import straddle, strangle
from quant_assets.options.strategies.panel import SurfacePanel
from quant_assets.options.strategies.policy import StrategyPolicy

__all__ = ["vol_candidate"]


def vol_candidate(
    forecast: pd.Series, panel: SurfacePanel, date, policy: StrategyPolicy, quotes: pd.DataFrame | None = None
) -> dict | None:
    """The best delta-hedged straddle or strangle for one forecast row on ``date`` (None if no edge)."""
    bps = float(forecast["forecast_straddle_pnl_bps"])
    conf = float(forecast["conf"])
    if not np.isfinite(bps) or bps == 0.0 or conf < policy.min_conf:
        return None
    name = str(forecast["underlier"])
    slices, spot = panel.day(date, name), panel.spot_at(date, name)
    horizon_days = float(forecast.get("horizon", policy.holding_sessions)) * 365.0 / 252.0
    if not slices["expiry"].size or not np.isfinite(spot):
        return None
    legs_s = straddle(slices, spot, policy.target_dte, min_days=horizon_days + 1)
    if legs_s is None:
        return None
    ev_s = evaluate(legs_s, slices, spot, quotes, policy)
    edge_per_vega = abs(bps) * 1e-4 * ev_s.premium / max(abs(ev_s.vega), 1e-12)
    side = 1.0 if bps > 0 else -1.0
    best = None
    legs_g = strangle(slices, spot, policy.target_dte, policy.strangle_width_sd, min_days=horizon_days + 1)
    for kind, legs in (("delta_hedged_straddle", legs_s), ("delta_hedged_strangle", legs_g)):
        if legs is None:
            continue
        ev = ev_s if kind == "delta_hedged_straddle" else evaluate(legs, slices, spot, quotes, policy)
        units = size_units(ev, policy, hedged=True)
        if units < 1:
            continue
        gross = edge_per_vega * abs(ev.vega) * units
        ids = {"sleeve": "vol", "underlier": name, "type": kind, "qty": int(side * units)}
        best = better_candidate(best, ev, units, gross, policy, conf, **ids)
    return best
