"""Risk-free curve: a mean-reverting (Vasicek) short rate and its closed-form zero curve.

Short rate (Vasicek 1977), simulated exactly on the session grid (dt = 1/252)::

    r_{t+1} = m + (r_t - m) e^{-kappa dt} + sigma sqrt((1 - e^{-2 kappa dt}) / (2 kappa)) eps

Zero rates (Vasicek 1977; Brigo & Mercurio 2006, eq. 3.8) with a risk-neutral long mean
``m* = m + term_premium`` (a small positive term premium)::

    B(tau) = (1 - e^{-kappa tau}) / kappa
    ln A(tau) = (m* - sigma^2 / (2 kappa^2)) (B - tau) - sigma^2 B^2 / (4 kappa)
    y(tau) = (B r - ln A) / tau          (continuously compounded)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from quant_assets.market.synthetic.seeding import stream

__all__ = [
    "TENORS_DAYS",
    "interpolate_zero_rate",
    "rates_frame",
    "simulate_short_rate",
    "vasicek_zero_rates",
]

TENORS_DAYS: tuple[int, ...] = (1, 30, 91, 182, 365, 730)
KAPPA = 0.3
SIGMA = 0.008
TERM_PREMIUM = 0.01


def simulate_short_rate(seed: int, n_sessions: int, r0: float) -> np.ndarray:
    """Daily short-rate path of length ``n_sessions`` starting at (and reverting to) ``r0``."""
    eps = stream(seed, "rates").standard_normal(n_sessions)
    dt = 1.0 / 252.0
    decay = np.exp(-KAPPA * dt)
    sd = SIGMA * np.sqrt((1.0 - decay**2) / (2.0 * KAPPA))
    out = np.empty(n_sessions)
    r = r0
    for i in range(n_sessions):
        out[i] = r
        r = r0 + (r - r0) * decay + sd * eps[i]
    return out


def vasicek_zero_rates(
    short_rate: np.ndarray,
    tau_years: np.ndarray,
    long_mean: float,
    kappa: float = KAPPA,
    sigma: float = SIGMA,
    term_premium: float = TERM_PREMIUM,
) -> np.ndarray:
    """Zero rates ``y[t, j]`` for short rates ``short_rate[t]`` and maturities ``tau_years[j]``.

    Examples
    --------
    >>> y = vasicek_zero_rates(np.array([0.03]), np.array([1e-6, 1.0]), 0.03)
    >>> bool(abs(y[0, 0] - 0.03) < 1e-6 and y[0, 1] > 0.03)
    True
    """
    tau = np.asarray(tau_years, dtype=float)[None, :]
    r = np.asarray(short_rate, dtype=float)[:, None]
    b = (1.0 - np.exp(-kappa * tau)) / kappa
    m_star = long_mean + term_premium
    ln_a = (m_star - sigma**2 / (2 * kappa**2)) * (b - tau) - sigma**2 * b**2 / (4 * kappa)
    return (b * r - ln_a) / tau


def rates_frame(sessions: pd.DatetimeIndex, short_rate: np.ndarray, long_mean: float) -> pd.DataFrame:
    """Long frame ``date, tenor_days, rate`` (one row per session and tenor)."""
    tenors = np.array(TENORS_DAYS, dtype=np.int64)
    y = vasicek_zero_rates(short_rate, tenors / 365.0, long_mean)
    return pd.DataFrame(
        {
            "date": np.repeat(sessions.values, len(tenors)),
            "tenor_days": np.tile(tenors, len(sessions)),
            "rate": y.ravel(),
        }
    )


def interpolate_zero_rate(curve_rates: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Zero rate at ``days`` by linear interpolation in tenor days, flat beyond the ends.

    Examples
    --------
    >>> curve = np.array([0.01, 0.02, 0.03, 0.04, 0.05, 0.06])
    >>> float(interpolate_zero_rate(curve, np.array([60.5]))[0])
    0.025
    """
    return np.interp(np.asarray(days, dtype=float), np.array(TENORS_DAYS, dtype=float), curve_rates)
