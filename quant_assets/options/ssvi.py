r"""Surface SVI (SSVI) of Gatheral and Jacquier (2014), "Arbitrage-free SVI volatility surfaces",
Quantitative Finance 14(1), 59–71.

Total implied variance at log-moneyness :math:`k` for ATM total variance :math:`\theta_t`
(eq. 4.1):

.. math:: w(k, \theta) = \frac{\theta}{2}\left(1 + \rho\varphi(\theta)k
          + \sqrt{(\varphi(\theta)k + \rho)^2 + 1 - \rho^2}\right).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from quant_assets.options._inputs import broadcast_float_arrays, scalar_or_array

__all__ = ["phi_heston", "phi_power_law", "ssvi_total_variance"]


def ssvi_total_variance(k: ArrayLike, theta: ArrayLike, rho: ArrayLike, phi: ArrayLike) -> Any:
    r"""SSVI total implied variance (Gatheral & Jacquier 2014, eq. 4.1).

    .. math:: w = \frac{\theta}{2}\left(1 + \rho\varphi k
              + \sqrt{(\varphi k + \rho)^2 + 1 - \rho^2}\right)

    Parameters
    ----------
    k : array_like
        Log-moneyness :math:`\ln(K/F)`.
    theta : array_like
        ATM total implied variance :math:`\sigma_{ATM}^2 T`, >= 0.
    rho : array_like
        Correlation-like skew parameter, in [-1, 1].
    phi : array_like
        Curvature :math:`\varphi(\theta)`, >= 0 (e.g. from ``phi_power_law``).

    Returns
    -------
    ndarray or numpy scalar
        Total variance; NaN where ``theta < 0``, ``phi < 0``, ``|rho| > 1`` or an input is NaN.

    Examples
    --------
    >>> float(ssvi_total_variance(0.0, 0.04, -0.5, 1.0))  # ATM: w = theta
    0.04
    """
    kk, th, rh, ph = broadcast_float_arrays(k=k, theta=theta, rho=rho, phi=phi)
    with np.errstate(invalid="ignore"):
        bad = ~((th >= 0) & (ph >= 0) & (np.abs(rh) <= 1) & np.isfinite(kk))
        pk = ph * kk
        w = 0.5 * th * (1.0 + rh * pk + np.sqrt((pk + rh) ** 2 + 1.0 - rh * rh))
    w = np.where(bad, np.nan, w)
    return scalar_or_array(w)


def phi_power_law(theta: ArrayLike, eta: ArrayLike, gamma: ArrayLike) -> Any:
    r"""Power-law curvature function of SSVI (Gatheral & Jacquier 2014, §4.3, eq. 4.5):

    .. math:: \varphi(\theta) = \frac{\eta}{\theta^\gamma(1+\theta)^{1-\gamma}}.

    Free of calendar arbitrage for :math:`0 \le \gamma \le 1` (Theorem 4.1); with
    :math:`0 < \gamma \le 1/2` and :math:`\eta(1+|\rho|) \le 2` the conditions of Theorem 4.2
    hold for every :math:`\theta` (their Remark 4.4): check with
    :func:`~quant_assets.options.ssvi_butterfly_free`.

    Parameters
    ----------
    theta : array_like
        ATM total variance, > 0.
    eta, gamma : array_like
        ``eta > 0``, ``0 <= gamma <= 1`` (not enforced: out-of-range values are evaluated).

    Returns
    -------
    ndarray or numpy scalar
        NaN where ``theta <= 0``.

    Examples
    --------
    >>> float(phi_power_law(1.0, 1.0, 0.5))  # 1 / (1 * 2**0.5)
    0.7071067811865475
    """
    th, et, ga = broadcast_float_arrays(theta=theta, eta=eta, gamma=gamma)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = et / (th**ga * (1.0 + th) ** (1.0 - ga))
    return scalar_or_array(np.where(th > 0, out, np.nan))


def phi_heston(theta: ArrayLike, lam: ArrayLike) -> Any:
    r"""Heston-like curvature function of SSVI (Gatheral & Jacquier 2014, §4.2, eq. 4.4):

    .. math:: \varphi(\theta) = \frac{1}{\lambda\theta}
              \left(1 - \frac{1 - e^{-\lambda\theta}}{\lambda\theta}\right).

    Free of calendar arbitrage for every :math:`\lambda > 0` (Theorem 4.1); with
    :math:`\lambda \ge (1+|\rho|)/4` the conditions of Theorem 4.2 hold for every
    :math:`\theta` (their Corollary 4.1), since :math:`\theta\varphi < 1/\lambda` and
    :math:`\varphi \le 1/2`.

    Parameters
    ----------
    theta : array_like
        ATM total variance, > 0.
    lam : array_like
        :math:`\lambda > 0`.

    Returns
    -------
    ndarray or numpy scalar
        NaN where ``theta <= 0`` or ``lam <= 0``.

    Examples
    --------
    >>> round(float(phi_heston(1e-8, 1.0)), 6)  # -> 1/2 as lam*theta -> 0
    0.5
    """
    th, la = broadcast_float_arrays(theta=theta, lam=lam)
    z = la * th
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # 1 - (1 - e^{-z})/z = (z - 1 + e^{-z})/z, with -expm1 for accuracy at small z
        out = (z + np.expm1(-z)) / (z * z)
        small = z < 1e-4
        out = np.where(small, 0.5 - z / 6.0 + z * z / 24.0, out)
    return scalar_or_array(np.where((th > 0) & (la > 0), out, np.nan))
