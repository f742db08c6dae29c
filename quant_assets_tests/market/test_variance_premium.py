"""The planted variance risk premium: 30-day ATM implied variance over subsequently realised variance.

``variance_risk_premium`` is "implied / subsequently realised variance, on average". Measured on
independent market paths (the market factor's log-volatility has a 200-session component, so
one path is one draw of the volatility regime): for each seed, option underlier and session, the
planted 30-day ATM total variance ``ssvi_theta_30d`` against the sum of squared daily log returns
over the sessions of the next 30 calendar days (the options' ``tau = days / 365`` window), pooled
over seeds. Equity paths do not depend on the premium, so the surfaces of each premium are
planted on the same paths.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest

from quant_assets.market.synthetic.option_surface import atm_total_variance, simulate_surfaces
from quant_assets_tests.market.synthetic.conftest import make_market

SEEDS = tuple(range(1, 13))
SMALL = {"n_symbols": 12, "start": "2023-01-03", "end": "2023-12-29", "n_option_underliers": 4}
TAU_30 = 30.0 / 365.0
# Pooled over 12 one-year paths of 4 underliers the ratio's standard error is about 0.04
# (60 paths: 1.014 at premium 1.0, 1.217 at 1.2).
TOLERANCE = 0.12


@functools.lru_cache(maxsize=1)
def _paths():
    """(market, realised 30-day variance (T, U), valid mask (T, U)) per seed."""
    out = []
    for seed in SEEDS:
        mkt = make_market(seed=seed, **SMALL)
        und = mkt._universe.option_underliers
        r = mkt._paths.ret[:, und]
        csum = np.vstack([np.zeros(len(und)), np.cumsum(np.nan_to_num(r**2), axis=0)])
        dates = mkt.sessions.values
        end = np.searchsorted(dates, dates + np.timedelta64(30, "D"), side="right")
        full = end < len(dates)  # the whole window lies inside the range
        end = np.minimum(end, len(dates))
        rv = csum[end] - csum[np.arange(1, len(dates) + 1)]
        listed = np.isfinite(mkt._paths.close[:, und])
        later = np.isfinite(mkt._paths.close[np.minimum(end, len(dates) - 1)][:, und])
        out.append((mkt, rv, full[:, None] & listed & later))
    return tuple(out)


def planted_to_realised(premium: float, plant=simulate_surfaces) -> float:
    """Pooled mean planted 30-day ATM total variance over pooled mean realised variance."""
    implied, realised = 0.0, 0.0
    for mkt, rv, ok in _paths():
        cfg = dataclasses.replace(mkt.config, variance_risk_premium=premium)
        s = plant(cfg, mkt._universe, mkt._paths)
        theta = atm_total_variance(TAU_30, s.v_short, np.broadcast_to(s.v_long, s.v_short.shape), s.term_decay)
        implied += theta[ok].sum()
        realised += rv[ok].sum()
    return implied / realised


@pytest.mark.parametrize("premium", [1.0, 1.2])
def test_implied_over_realised_variance_is_the_configured_premium(premium):
    ratio = planted_to_realised(premium)
    print(f"premium {premium}: planted / realised 30-day variance {ratio:.3f}")
    assert abs(ratio - premium) < TOLERANCE


def test_a_misplanted_premium_is_caught():
    """Implied variance annualised per 365 sessions instead of 252 (x 1.45) is out of tolerance."""

    def per_365(cfg, uni, paths):
        s = simulate_surfaces(cfg, uni, paths)
        return dataclasses.replace(s, v_short=s.v_short * 365 / 252, v_long=s.v_long * 365 / 252)

    assert abs(planted_to_realised(1.0, per_365) - 1.0) > TOLERANCE
