r"""Largest curvature an SSVI surface can have and stay free of static arbitrage.

Gatheral & Jacquier (2014), "Arbitrage-free SVI volatility surfaces", Quantitative Finance
14(1): a slice with ATM total variance :math:`\theta` is free of butterfly arbitrage when
(Theorem 4.2)

.. math:: \theta\varphi(\theta)(1+|\rho|) < 4 \quad\text{and}\quad
          \theta\varphi(\theta)^2(1+|\rho|) \le 4.

For the two curvature families of :mod:`quant_assets.options.ssvi` these bounds are solved in
closed form (power law) or by a monotone scalar root (Heston-like) for every :math:`\theta` in
an interval :math:`[\theta_{lo}, \theta_{hi}]`, so that a calibration can parameterise the
curvature as a fraction of its bound and be arbitrage-free for any parameter value
(:func:`~quant_assets.options.fit_ssvi_surface`). Both families are free of calendar arbitrage
for increasing :math:`\theta` (Theorem 4.1; power law with :math:`0\le\gamma\le1`).
"""

from __future__ import annotations

import math

from scipy.optimize import brentq

from quant_assets.options.ssvi import phi_heston

__all__ = ["BUTTERFLY_MARGIN", "heston_lambda_min", "power_law_eta_max"]

BUTTERFLY_MARGIN = 1e-6  # relative distance kept from the Theorem 4.2 bounds


def power_law_eta_max(theta_lo: float, theta_hi: float, rho: float, gamma: float) -> float:
    r"""Largest :math:`\eta` of the power law :math:`\varphi = \eta\theta^{-\gamma}
    (1+\theta)^{\gamma-1}` satisfying Theorem 4.2 for every :math:`\theta\in[\theta_{lo},
    \theta_{hi}]`, less a relative margin of ``BUTTERFLY_MARGIN``.

    :math:`\theta\varphi = \eta(\theta/(1+\theta))^{1-\gamma}` increases in :math:`\theta`
    (largest at :math:`\theta_{hi}`); :math:`\theta\varphi^2 = \eta^2\theta^{1-2\gamma}
    (1+\theta)^{2\gamma-2}` is unimodal with its maximum at :math:`\theta = 1-2\gamma`, so its
    largest value on the interval is at that point clipped to the interval. Hence

    .. math:: \eta_{max} = \min\left(\frac{4}{(1+|\rho|)\,m_1},
              \sqrt{\frac{4}{(1+|\rho|)\,m_2}}\right)

    with :math:`m_1, m_2` those maxima at :math:`\eta = 1`.

    Parameters
    ----------
    theta_lo, theta_hi : float
        ``0 < theta_lo <= theta_hi``.
    rho : float
        ``|rho| < 1``.
    gamma : float
        ``0 <= gamma <= 1``.

    Returns
    -------
    float

    Examples
    --------
    >>> from quant_assets.options import phi_power_law, ssvi_butterfly_free
    >>> eta = power_law_eta_max(0.05, 0.1, -0.3, 0.9)
    >>> bool(ssvi_butterfly_free(0.05, -0.3, phi_power_law(0.05, eta, 0.9)))
    True
    >>> bool(ssvi_butterfly_free(0.05, -0.3, phi_power_law(0.05, 1.001 * eta, 0.9)))
    False
    """
    one_rho = 1.0 + abs(rho)
    m1 = (theta_hi / (1.0 + theta_hi)) ** (1.0 - gamma)
    peak = min(max(1.0 - 2.0 * gamma, theta_lo), theta_hi)
    m2 = peak ** (1.0 - 2.0 * gamma) / (1.0 + peak) ** (2.0 - 2.0 * gamma)
    bound = 4.0 * (1.0 - BUTTERFLY_MARGIN) / one_rho
    return min(bound / m1, math.sqrt(bound / m2))


def heston_lambda_min(theta_hi: float, rho: float) -> float:
    r"""Smallest :math:`\lambda` of the Heston-like :math:`\varphi` satisfying Theorem 4.2 for
    every :math:`\theta \le \theta_{hi}`, with a relative margin of ``BUTTERFLY_MARGIN``
    (0 when every :math:`\lambda > 0` does).

    :math:`\theta\varphi(\theta)` increases in :math:`\theta` and decreases in :math:`\lambda`
    (from :math:`\theta/2` as :math:`\lambda\to0`), and :math:`\varphi\le1/2` makes the second
    condition follow from the first; so the bound is the root in :math:`\lambda` of
    :math:`\theta_{hi}\varphi(\theta_{hi})(1+|\rho|) = 4`. Corollary 4.1's
    :math:`\lambda \ge (1+|\rho|)/4` is a sufficient, larger, value.

    Examples
    --------
    >>> heston_lambda_min(0.5, -0.7)
    0.0
    >>> lam = heston_lambda_min(6.0, -0.7)
    >>> from quant_assets.options import phi_heston, ssvi_butterfly_free
    >>> bool(ssvi_butterfly_free(6.0, -0.7, phi_heston(6.0, lam)))
    True
    """
    target = 4.0 * (1.0 - BUTTERFLY_MARGIN) / ((1.0 + abs(rho)) * theta_hi)  # phi(theta_hi)
    if target > 0.5:
        return 0.0

    def excess(z: float) -> float:  # phi as a function of z = lambda * theta_hi
        return float(phi_heston(z, 1.0)) - target

    z = brentq(excess, 1e-12, 2.0 / target + 10.0, xtol=1e-14, rtol=1e-13)
    return z * (1.0 + 1e-9) / theta_hi
