r"""Greeks attribution of a daily re-hedged option position: delta, gamma, theta, vega, residual.

Over each step :math:`[t_i, t_{i+1}]` a position of ``qty`` options per leg (times the contract
``multiplier``) and ``hedge`` shares, marked at Black–Scholes–Merton prices with each leg's
implied vol, earns

.. math:: \Pi_i = \sum_\ell n_\ell\,(V_{\ell,i+1} - V_{\ell,i}) + h_i\,(S_{i+1} - S_i),

split by the second-order Taylor expansion in spot, time and volatility (Taleb 1997,
*Dynamic Hedging*, ch. 8; Bennett 2014, *Trading Volatility*, §2.4):

.. math::
    \text{delta} = (N\Delta_i + h_i)\,\delta S,\quad
    \text{gamma} = \tfrac12 N\Gamma_i\,\delta S^2,\quad
    \text{theta} = N\Theta_i\,\delta t,\quad
    \text{vega} = N\mathcal V_i\,\delta\sigma,

with :math:`N\cdot` the quantity-weighted sum over legs, :math:`\delta t` the calendar time
elapsed (years, the time to expiry shrinks by it) and :math:`\delta\sigma` each leg's change of
implied vol. The residual (higher orders, cross terms such as vanna and volga, rate changes)
is the total minus the four, so the buckets sum to the total exactly. Hedging daily to
:math:`h_i = -N\Delta_i` makes the delta bucket zero. Cash financing is not included.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from quant_assets.options.black_scholes import bs_greeks, bs_price

__all__ = ["ATTRIBUTION_COLUMNS", "greeks_attribution"]

ATTRIBUTION_COLUMNS = (
    "option_pnl",
    "hedge_pnl",
    "total",
    "delta",
    "gamma",
    "theta",
    "vega",
    "residual",
    "net_delta",
    "net_gamma",
    "net_vega",
    "hedge",
)


def greeks_attribution(
    spot: ArrayLike,
    t_years: ArrayLike,
    vol: ArrayLike,
    strike: ArrayLike,
    is_call: ArrayLike,
    qty: ArrayLike,
    r: ArrayLike = 0.0,
    q: ArrayLike = 0.0,
    *,
    multiplier: float = 100.0,
    hedge: ArrayLike | None = None,
) -> pd.DataFrame:
    """Per-step PnL of option legs plus a share hedge, attributed to the Greeks.

    Parameters
    ----------
    spot : array_like, shape (n,)
        Underlier price at each mark (n >= 2 marks, n - 1 steps).
    t_years : array_like, shape (n,) or (n, legs)
        Time to expiry at each mark (years), per leg or shared.
    vol : array_like, shape (n,) or (n, legs)
        Implied vol of each leg at each mark (e.g. from the fitted surface at its strike).
    strike, is_call, qty : array_like, shape (legs,)
        Leg definitions; ``qty`` in contracts (negative: short).
    r, q : array_like
        Rate and dividend yield, scalars or per mark (n,).
    multiplier : float, default 100
        Shares per contract.
    hedge : array_like, shape (n,), optional
        Shares held over each step from each mark; default ``-N Delta`` at every mark (daily
        re-hedge to delta-neutral).

    Returns
    -------
    DataFrame
        One row per step: :data:`ATTRIBUTION_COLUMNS` in USD (``net_*`` and ``hedge`` at the
        step's start). ``delta + gamma + theta + vega + residual == total`` exactly.
    """
    s = np.asarray(spot, float).ravel()
    n = s.size
    if n < 2:
        raise ValueError("spot: need at least two marks")
    k, call, qq = (np.atleast_1d(np.asarray(x)) for x in (strike, is_call, qty))
    n_legs = k.size
    t = np.asarray(t_years, float)
    v = np.asarray(vol, float)
    t = np.broadcast_to(t.reshape(n, -1), (n, n_legs))
    v = np.broadcast_to(v.reshape(n, -1), (n, n_legs))
    rr = np.broadcast_to(np.asarray(r, float).reshape(-1, 1), (n, 1))
    qd = np.broadcast_to(np.asarray(q, float).reshape(-1, 1), (n, 1))
    args = (s[:, None], k[None, :], t, rr, qd, v, call.astype(bool)[None, :])
    price = np.asarray(bs_price(*args), float)
    g = bs_greeks(*args)
    units = qq.astype(float)[None, :] * multiplier
    net = {name: (units * np.asarray(getattr(g, name), float)).sum(axis=1) for name in ("delta", "gamma", "vega")}
    h = -net["delta"] if hedge is None else np.asarray(hedge, float).ravel()
    ds, dt = np.diff(s), -np.diff(t, axis=0)
    option_pnl = (units * np.diff(price, axis=0)).sum(axis=1)
    hedge_pnl = h[:-1] * ds
    total = option_pnl + hedge_pnl
    out = pd.DataFrame(
        {
            "option_pnl": option_pnl,
            "hedge_pnl": hedge_pnl,
            "total": total,
            "delta": (net["delta"][:-1] + h[:-1]) * ds,
            "gamma": 0.5 * net["gamma"][:-1] * ds * ds,
            "theta": (units * np.asarray(g.theta, float)[:-1] * dt).sum(axis=1),
            "vega": (units * np.asarray(g.vega, float)[:-1] * np.diff(v, axis=0)).sum(axis=1),
        }
    )
    out["residual"] = total - out[["delta", "gamma", "theta", "vega"]].sum(axis=1)
    out["net_delta"], out["net_gamma"], out["net_vega"] = net["delta"][:-1], net["gamma"][:-1], net["vega"][:-1]
    out["hedge"] = h[:-1]
    return out[list(ATTRIBUTION_COLUMNS)]
