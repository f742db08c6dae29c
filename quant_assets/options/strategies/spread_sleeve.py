"""Spread sleeve: the equities score plus the surface shape mapped to verticals, calendars, diagonals.

For an underlier with score ``mu`` (expected excess return over the score's horizon) the
expected PnL of a structure held over ``spread_horizon_sessions`` is, per unit,

- direction: ``Delta S mu`` (the score's drift through the structure's delta);
- surface shape: the near expiry's ATM vol is expected to close ``term_reversion`` of its gap to
  the far expiry's, so each near leg earns ``ratio x vega x (-term_reversion x gap)``;
- the vol view, where a forecast exists: ``vega x forecast_iv_change``.

Theta and gamma are left out: at the implied vol they offset in expectation (the risk-neutral
drift of the option price). Verticals (bull call / bear put in the score's direction), ATM call
calendars and diagonals (far ATM bought, near out-of-the-money sold in the score's direction)
are sized within the Greeks budgets; the one with the largest expected PnL after round-trip
costs is kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from quant_assets.options.strategies.evaluate import Evaluated, better_candidate, evaluate, size_units
from quant_assets.options.strategies.legs import atm_vol, calendar, diagonal, pick_expiry, vertical
from quant_assets.options.strategies.panel import SurfacePanel
from quant_assets.options.strategies.policy import StrategyPolicy

__all__ = ["spread_candidate", "structure_edge"]

NEAR_DAYS, FAR_DAYS = 30.0, 90.0


def structure_edge(ev: Evaluated, mu: float, gap: float, iv_change: float, near_expiry, policy) -> float:
    """Expected PnL per unit (USD) of an evaluated structure (module docstring)."""
    m = policy.multiplier
    near = (ev.legs.expiry == np.datetime64(near_expiry, "ns")).astype(float)
    vega_legs = ev.legs.ratio * m * ev.values["vega"]
    shape = float((vega_legs * near).sum()) * (-policy.term_reversion * gap)
    return ev.delta * ev.spot * mu + shape + ev.vega * iv_change


def spread_candidate(
    score: pd.Series,
    panel: SurfacePanel,
    date,
    policy: StrategyPolicy,
    quotes: pd.DataFrame | None = None,
    iv_change: float = 0.0,
) -> dict | None:
    """The best vertical, calendar or diagonal for one ``equity_scores`` row (None if no edge).

    ``iv_change`` is the vol forecast's expected ATM IV change (fraction of vol), if any.
    """
    name = str(score["symbol"])
    mu = float(score["expected_excess_return"])
    slices, spot = panel.day(date, name), panel.spot_at(date, name)
    if not slices["expiry"].size or not np.isfinite(spot) or not np.isfinite(mu):
        return None
    min_days = policy.spread_horizon_sessions * 365.0 / 252.0 + 1
    near, far = pick_expiry(slices, NEAR_DAYS, min_days), pick_expiry(slices, FAR_DAYS, min_days)
    if near is None:
        return None
    far_ok = far is not None and slices["expiry"][far] > slices["expiry"][near]
    gap = atm_vol(slices, near) - atm_vol(slices, far) if far_ok else 0.0
    direction = 1.0 if mu >= 0 else -1.0
    structures = {
        "vertical": vertical(slices, spot, NEAR_DAYS, direction, min_days=min_days),
        "calendar": calendar(slices, spot, NEAR_DAYS, FAR_DAYS, min_days=min_days),
        "diagonal": diagonal(slices, spot, NEAR_DAYS, FAR_DAYS, direction, min_days=min_days),
    }
    best = None
    for kind, legs in structures.items():
        if legs is None:
            continue
        ev = evaluate(legs, slices, spot, quotes, policy)
        edge = structure_edge(ev, mu, gap, iv_change, slices["expiry"][near], policy)
        side = 1.0 if edge >= 0 else -1.0
        units = size_units(ev, policy, hedged=False)
        if units < 1:
            continue
        conf = float(score["confidence"])
        ids = {"sleeve": "spread", "underlier": name, "type": kind, "qty": int(side * units)}
        best = better_candidate(best, ev, units, abs(edge) * units, policy, conf, **ids)
    return best
