r"""Raw SVI parameterisation of a total implied variance slice and Durrleman's butterfly function.

Raw SVI (Gatheral 2004, "A parsimonious arbitrage-free implied volatility parameterization";
Gatheral & Jacquier 2014, "Arbitrage-free SVI volatility surfaces", Quantitative Finance
14(1), eq. 3.1): at log-moneyness :math:`k = \ln(K/F)`

.. math:: w(k) = a + b\left(\rho(k - m) + \sqrt{(k - m)^2 + \sigma^2}\right),

with :math:`b \ge 0`, :math:`|\rho| < 1`, :math:`\sigma > 0`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from quant_assets.options._inputs import broadcast_float_arrays, scalar_or_array

__all__ = ["durrleman_g", "svi_derivatives", "svi_g", "svi_total_variance"]

Array = NDArray[np.float64]


def _valid_params(b: Array, rho: Array, sigma: Array) -> NDArray[np.bool_]:
    with np.errstate(invalid="ignore"):
        return (b >= 0) & (np.abs(rho) < 1) & (sigma > 0)


def svi_derivatives(
    k: ArrayLike, a: ArrayLike, b: ArrayLike, rho: ArrayLike, m: ArrayLike, sigma: ArrayLike
) -> tuple[Array, Array, Array]:
    r"""Raw SVI total variance and its first two derivatives in :math:`k`.

    .. math:: w' = b\left(\rho + \frac{k-m}{\sqrt{(k-m)^2+\sigma^2}}\right),\qquad
              w'' = \frac{b\sigma^2}{((k-m)^2+\sigma^2)^{3/2}}

    Returns
    -------
    w, w1, w2 : ndarray
        Broadcast arrays; NaN where ``b < 0``, ``|rho| >= 1`` or ``sigma <= 0``.
    """
    kk, aa, bb, rr, mm, ss = broadcast_float_arrays(k=k, a=a, b=b, rho=rho, m=m, sigma=sigma)
    km = kk - mm
    root = np.sqrt(km * km + ss * ss)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = aa + bb * (rr * km + root)
        w1 = bb * (rr + km / root)
        w2 = bb * ss * ss / root**3
    bad = ~_valid_params(bb, rr, ss)
    return tuple(np.where(bad, np.nan, arr) for arr in (w, w1, w2))  # type: ignore[return-value]


def durrleman_g(k: Array, w: Array, w1: Array, w2: Array) -> Array:
    r"""Durrleman's function from total variance and its derivatives (no validation):
    :math:`(1 - kw'/(2w))^2 - \tfrac{w'^2}{4}(1/w + 1/4) + w''/2`; NaN where ``w <= 0``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        g = (1.0 - k * w1 / (2.0 * w)) ** 2 - 0.25 * w1 * w1 * (1.0 / w + 0.25) + 0.5 * w2
    return np.where(w > 0, g, np.nan)


def raw_svi_g(k: Array, a: Array, b: Array, rho: Array, m: Array, sigma: Array) -> Array:
    """Durrleman's g for raw SVI, plain broadcasting without validation (internal fast path)."""
    km = k - m
    root = np.sqrt(km * km + sigma * sigma)
    w = a + b * (rho * km + root)
    w1 = b * (rho + km / root)
    w2 = b * sigma * sigma / (root * root * root)
    return durrleman_g(k, w, w1, w2)


def svi_total_variance(k: ArrayLike, a: ArrayLike, b: ArrayLike, rho: ArrayLike, m: ArrayLike, sigma: ArrayLike) -> Any:
    r"""Raw SVI total implied variance (Gatheral & Jacquier 2014, eq. 3.1).

    .. math:: w(k) = a + b\left(\rho(k - m) + \sqrt{(k - m)^2 + \sigma^2}\right)

    Parameters
    ----------
    k : array_like
        Log-moneyness :math:`\ln(K/F)`.
    a, b, rho, m, sigma : array_like
        Raw SVI parameters (``b >= 0``, ``|rho| < 1``, ``sigma > 0``); broadcast with ``k``.

    Returns
    -------
    ndarray or numpy scalar
        Total variance :math:`\sigma_{BS}^2 T`; NaN for invalid parameters.

    Examples
    --------
    >>> float(svi_total_variance(0.0, 0.04, 0.1, 0.0, 0.0, 0.1))
    0.05
    """
    return scalar_or_array(svi_derivatives(k, a, b, rho, m, sigma)[0])


def svi_g(k: ArrayLike, a: ArrayLike, b: ArrayLike, rho: ArrayLike, m: ArrayLike, sigma: ArrayLike) -> Any:
    r"""Durrleman's butterfly-arbitrage function of a raw SVI slice.

    .. math:: g(k) = \left(1 - \frac{k w'}{2w}\right)^2
              - \frac{w'^2}{4}\left(\frac1w + \frac14\right) + \frac{w''}{2}

    The density of the terminal price is :math:`\propto g(k)` times a positive factor, so the
    slice is free of butterfly arbitrage iff :math:`g \ge 0` and :math:`w > 0` everywhere
    (Gatheral & Jacquier 2014, Lemma 2.2, after Durrleman 2005).

    Parameters
    ----------
    k, a, b, rho, m, sigma : array_like
        As in :func:`svi_total_variance`.

    Returns
    -------
    ndarray or numpy scalar
        :math:`g(k)`; NaN for invalid parameters or where :math:`w \le 0`.

    Examples
    --------
    >>> float(svi_g(0.0, 0.04, 0.1, 0.0, 0.0, 0.1)) > 0
    True
    """
    w, w1, w2 = svi_derivatives(k, a, b, rho, m, sigma)
    kk = np.broadcast_to(np.asarray(k, dtype=float), w.shape)
    return scalar_or_array(durrleman_g(kk, w, w1, w2))
