r"""Turnover-aware rebalancing: trade part of the way toward the aim portfolio, skip small trades.

With quadratic trading costs ``λ/2 Δw' Σ Δw`` and mean-variance risk aversion ``γ``, Gârleanu and
Pedersen (2013), "Dynamic trading with predictable returns and transaction costs", *J. Finance*
68(6), 2309-2340, show the optimal portfolio trades a constant fraction of the way toward an
*aim* portfolio each period,

.. math:: w_t = w_{t-1} + \frac{a}{λ} (\mathrm{aim}_t - w_{t-1}),
   \qquad a = \frac{-(γ(1-ρ) + λρ) + \sqrt{(γ(1-ρ) + λρ)^2 + 4 γ λ (1-ρ)^2}}{2}

(their eq. 9 with discount rate ``ρ``). Here the aim is the capped fractional-Kelly target of
:func:`~quant_assets.portfolio.build`; ``RiskConfig.trade_rate`` is ``a/λ``. A per-name no-trade
band (Davis and Norman 1990, "Portfolio selection with transaction costs", *Math. Oper. Res.*
15(4)) leaves names whose gap is within it untouched. Both only shrink every name's trade, so
turnover never exceeds the full rebalance; the level caps are restored afterwards along the
move by :func:`~quant_assets.portfolio.caps.limit_trades`.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from quant_assets.portfolio.caps import CapLog

__all__ = ["gp_trade_rate", "partial_rebalance"]


def gp_trade_rate(risk_aversion: float, cost: float, discount: float = 0.0) -> float:
    """Gârleanu–Pedersen trading rate ``a / λ`` in (0, 1] (1 when trading is free).

    Examples
    --------
    >>> round(gp_trade_rate(1.0, 2.0), 4)  # (-1 + sqrt(1 + 8)) / 2 / 2
    0.5
    >>> gp_trade_rate(1.0, 0.0)
    1.0
    """
    g, lam, rho = float(risk_aversion), float(cost), float(discount)
    if g <= 0 or lam < 0 or not 0 <= rho < 1:
        raise ValueError(f"need risk_aversion > 0, cost >= 0, 0 <= discount < 1; got {g}, {lam}, {rho}")
    if lam == 0:
        return 1.0
    b = g * (1 - rho) + lam * rho
    a = (-b + math.sqrt(b * b + 4 * g * lam * (1 - rho) ** 2)) / 2
    return min(1.0, a / lam)


def partial_rebalance(
    aim: NDArray[np.float64], current: NDArray[np.float64], rate: float, band: float, log: CapLog
) -> NDArray[np.float64]:
    """``current + rate (aim - current)``, names with ``|aim - current| <= band`` held; each step logged."""
    w = current + rate * (aim - current)
    log.record("trade_rate", aim, w)
    held = np.where(np.abs(aim - current) <= band, current, w)
    log.record("no_trade_band", w, held)
    return held
