"""The known, arbitrage-free SSVI implied-variance surface of each option underlier.

SSVI (Gatheral & Jacquier 2014, "Arbitrage-free SVI volatility surfaces", eq. 4.1)::

    w(k, T) = theta_T / 2 * (1 + rho phi k + sqrt((phi k + rho)^2 + 1 - rho^2)),
    phi(theta) = eta / (theta^gamma (1 + theta)^(1 - gamma))      (power law, section 4.3)

is free of butterfly arbitrage when ``eta (1 + |rho|) <= 2`` and ``0 < gamma <= 1/2``
(their Remark 4.4 / Theorem 4.2) and of calendar arbitrage when ``theta_T`` increases in ``T``
(Theorem 4.1). The ATM total variance term structure is an exponentially decaying forward
variance curve (as in the Heston expected variance)::

    theta_T = T * (v_long + (v_short - v_long) (1 - e^{-lambda T}) / (lambda T))

whose derivative ``v_long (1 - e^{-lambda T}) + v_short e^{-lambda T}`` is positive. Dynamics:
``v_short = VRP * 252 * true_var * exp(u - var_u / 2)`` with ``true_var`` the name's conditional
daily variance (which mean-reverts and rises after down moves: the leverage of the
log-volatility components in :mod:`.equities`) and
``u`` an AR(1) implied-variance shock; ``v_long = VRP * 252 * long-run variance``. So implied
variance exceeds the expected realised variance by the factor VRP on average.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from quant_assets.market.synthetic.config import MarketConfig
from quant_assets.market.synthetic.equities import EquityPaths
from quant_assets.market.synthetic.seeding import stream
from quant_assets.market.synthetic.universe import Universe

__all__ = [
    "ETA_MEAN",
    "TERM_DECAY",
    "SurfaceState",
    "atm_total_variance",
    "option_oracle_frame",
    "phi_power_law",
    "simulate_surfaces",
]

ETA_MEAN = 1.0
TERM_DECAY = 2.52  # per year: speed at which the ATM variance term structure reverts
_U_PHI, _U_SIGMA = 0.95, 0.05
_ETA_CAP = 0.98  # eta <= 0.98 * 2 / (1 + |rho|)


@dataclass(frozen=True)
class SurfaceState:
    """SSVI state per (session, underlier); arrays of shape (T, U) unless noted."""

    underliers: np.ndarray  # (U,) name indices
    v_short: np.ndarray
    v_long: np.ndarray  # (U,)
    rho: np.ndarray
    eta: np.ndarray
    gamma: float
    term_decay: float
    spot: np.ndarray
    div_yield: np.ndarray  # (U,) continuous dividend yield used in pricing


def atm_total_variance(tau, v_short, v_long, lam: float = TERM_DECAY):
    """ATM total implied variance ``theta_T`` (increasing in ``tau``; broadcasting).

    Examples
    --------
    >>> float(np.round(atm_total_variance(1.0, 0.04, 0.04, 2.5), 12))
    0.04
    """
    tau = np.asarray(tau, dtype=float)
    x = lam * tau
    frac = np.where(x > 1e-12, -np.expm1(-x) / np.where(x > 1e-12, x, 1.0), 1.0)
    return tau * (v_long + (v_short - v_long) * frac)


def phi_power_law(theta, eta, gamma):
    """SSVI power-law ``phi(theta) = eta / (theta^gamma (1 + theta)^(1 - gamma))``.

    Examples
    --------
    >>> float(np.round(phi_power_law(1.0, 1.0, 0.5), 6))
    0.707107
    """
    theta = np.asarray(theta, dtype=float)
    return eta / (theta**gamma * (1.0 + theta) ** (1.0 - gamma))


def simulate_surfaces(cfg: MarketConfig, uni: Universe, paths: EquityPaths) -> SurfaceState:
    """SSVI state of every option underlier over the whole range."""
    und = uni.option_underliers
    n_t, n_u = paths.close.shape[0], len(und)
    rng = stream(cfg.seed, "surfaces")
    shocks = rng.standard_normal((3, n_t, n_u))
    var_u = _U_SIGMA**2 / (1.0 - _U_PHI**2)
    u = _ar1(shocks[0], _U_PHI, _U_SIGMA, np.sqrt(var_u))
    rho = np.clip(cfg.ssvi_rho + _ar1(shocks[1], 0.98, 0.01, 0.05), -0.95, 0.95)
    eta = np.minimum(ETA_MEAN * np.exp(_ar1(shocks[2], 0.98, 0.02, 0.1)), _ETA_CAP * 2.0 / (1.0 + np.abs(rho)))
    vrp = cfg.variance_risk_premium
    v_short = vrp * 252.0 * paths.true_vol[:, und] ** 2 * np.exp(u - 0.5 * var_u)
    v_long = vrp * 252.0 * paths.longrun_var[und]
    return SurfaceState(
        underliers=und,
        v_short=v_short,
        v_long=v_long,
        rho=rho,
        eta=eta,
        gamma=cfg.ssvi_gamma,
        term_decay=TERM_DECAY,
        spot=paths.close[:, und],
        div_yield=uni.div_yield[und],
    )


def _ar1(eps: np.ndarray, phi: float, sigma: float, sd0: float) -> np.ndarray:
    out = np.empty_like(eps)
    out[0] = sd0 * eps[0]
    for t in range(1, len(eps)):
        out[t] = phi * out[t - 1] + sigma * eps[t]
    return out


def option_oracle_frame(state: SurfaceState, sessions: pd.DatetimeIndex, symbols: np.ndarray) -> pd.DataFrame:
    """Per (date, underlier): the SSVI state that generated the quotes.

    Columns: date, underlier, ssvi_theta_30d, ssvi_rho, ssvi_phi_eta, ssvi_phi_gamma,
    atm_var_short, atm_var_long, term_decay, spot, dividend_yield.
    """
    n_t, n_u = state.v_short.shape
    v_long = np.broadcast_to(state.v_long, (n_t, n_u))
    return pd.DataFrame(
        {
            "date": np.repeat(sessions.values, n_u),
            "underlier": np.tile(symbols[state.underliers], n_t),
            "ssvi_theta_30d": atm_total_variance(30.0 / 365.0, state.v_short, v_long, state.term_decay).ravel(),
            "ssvi_rho": state.rho.ravel(),
            "ssvi_phi_eta": state.eta.ravel(),
            "ssvi_phi_gamma": np.full(n_t * n_u, state.gamma),
            "atm_var_short": state.v_short.ravel(),
            "atm_var_long": v_long.ravel(),
            "term_decay": np.full(n_t * n_u, state.term_decay),
            "spot": state.spot.ravel(),
            "dividend_yield": np.tile(state.div_yield, n_t),
        }
    )
