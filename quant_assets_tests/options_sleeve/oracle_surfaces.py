"""Surfaces and spots of a synthetic market read off its planted SSVI state (tests and benchmarks only).

An SSVI slice is a raw SVI slice (Gatheral & Jacquier 2014, Lemma 3.2):
``a = theta (1 - rho^2) / 2``, ``b = theta phi / 2``, ``m = -rho / phi``,
``sigma = sqrt(1 - rho^2) / phi``; so the truth is written in the ``vol_surfaces`` shape for
every listed expiry of every session, without fitting quotes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from quant_assets.calendars import sessions_in_range
from quant_assets.market.synthetic import MarketConfig, SyntheticMarket
from quant_assets.market.synthetic.option_chains import option_expiries
from quant_assets.market.synthetic.option_surface import atm_total_variance, phi_power_law
from quant_assets.market.synthetic.rates import interpolate_zero_rate


def vrp_market(vrp: float, seed: int = 11, n_underliers: int = 6, start="2023-01-03", end="2023-12-29"):
    """A small market with ``n_underliers`` option underliers and the given variance risk premium."""
    cfg = MarketConfig(
        seed=seed,
        n_symbols=n_underliers + 6,
        n_option_underliers=n_underliers,
        start=start,
        end=end,
        variance_risk_premium=vrp,
    )
    return SyntheticMarket(cfg, sessions_in_range(cfg.start, cfg.end))


def oracle_surfaces(market: SyntheticMarket) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(surfaces, spots)``: one raw SVI row per session x underlier x listed expiry, and the spots."""
    st = market._surfaces
    names = market._universe.symbols[st.underliers]
    rows = []
    for t, date in enumerate(market.sessions):
        exp = option_expiries(date, market._ext_sessions)
        days = np.asarray((exp - date).days, float)
        tau = days / 365.0
        rate = interpolate_zero_rate(market._curve[t], days)
        theta = atm_total_variance(tau[None, :], st.v_short[t][:, None], st.v_long[:, None], st.term_decay)
        phi = phi_power_law(theta, st.eta[t][:, None], st.gamma)
        rho = np.broadcast_to(st.rho[t][:, None], theta.shape)
        fwd = st.spot[t][:, None] * np.exp((rate[None, :] - st.div_yield[:, None]) * tau[None, :])
        n_u, n_e = theta.shape
        rows.append(
            pd.DataFrame(
                {
                    "date": date,
                    "underlier": np.repeat(names, n_e),
                    "expiry": np.tile(exp.values, n_u),
                    "t_years": np.tile(tau, n_u),
                    "forward": fwd.ravel(),
                    "rate": np.tile(rate, n_u),
                    "a": (0.5 * theta * (1 - rho**2)).ravel(),
                    "b": (0.5 * theta * phi).ravel(),
                    "rho": rho.ravel(),
                    "m": (-rho / phi).ravel(),
                    "sigma": (np.sqrt(1 - rho**2) / phi).ravel(),
                }
            )
        )
    surfaces = pd.concat(rows, ignore_index=True)
    spots = pd.DataFrame(
        {
            "date": np.repeat(market.sessions.values, len(names)),
            "underlier": np.tile(names, len(market.sessions)),
            "spot": st.spot.ravel(),
        }
    )
    return surfaces, spots
