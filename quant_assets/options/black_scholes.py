r"""Black–Scholes–Merton prices and Greeks of European options with a continuous dividend yield.

Model (Merton 1973, "Theory of rational option pricing"; Haug 2007, *The Complete Guide to
Option Pricing Formulas*, 2nd ed., §1.1.6): with forward :math:`F = S e^{(r-q)T}`,
:math:`d_{1,2} = [\ln(F/K) \pm \tfrac12\sigma^2 T]/(\sigma\sqrt T)` and :math:`\theta = +1`
for calls, :math:`-1` for puts,

.. math:: V = \theta\,[S e^{-qT}\Phi(\theta d_1) - K e^{-rT}\Phi(\theta d_2)].

Prices are computed as :math:`e^{-rT}[\max(\theta(F-K),0) + \sqrt{FK}\,b(-|\theta x|, s)]`,
the out-of-the-money normalised Black price :math:`b` being evaluated without cancellation
(see :mod:`quant_assets.options._normalised_black`), so deep out-of-the-money prices keep
their relative accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from quant_assets.options._inputs import as_is_call, broadcast_float_arrays, scalar_or_array
from quant_assets.options._normalised_black import otm_black

__all__ = ["Greeks", "bs_greeks", "bs_price"]

Array = NDArray[np.float64]
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


@dataclass(frozen=True)
class Greeks:
    """Black–Scholes–Merton sensitivities (arrays, or NumPy scalars for scalar inputs).

    Attributes
    ----------
    delta : ∂V/∂S.
    gamma : ∂²V/∂S².
    vega : ∂V/∂σ, per 1.00 (100 vol points) of volatility.
    theta : ∂V/∂t in calendar time, per year (``-∂V/∂T``); negative for a long call without
        dividends.
    rho : ∂V/∂r, per 1.00 of rate.
    """

    delta: Any
    gamma: Any
    vega: Any
    theta: Any
    rho: Any


def _prepare(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    vol: ArrayLike,
    is_call: ArrayLike,
) -> tuple[Array, Array, Array, Array, Array, Array, NDArray[np.bool_], NDArray[np.bool_]]:
    """Broadcast the inputs; return them, the call mask and the mask of valid entries."""
    call = as_is_call(is_call)
    s, k, tt, rr, qq, v, c = broadcast_float_arrays(spot=spot, strike=strike, t=t, r=r, q=q, vol=vol, is_call=call)
    with np.errstate(invalid="ignore"):
        valid = (
            np.isfinite(s)
            & np.isfinite(k)
            & np.isfinite(tt)
            & np.isfinite(rr)
            & np.isfinite(qq)
            & np.isfinite(v)
            & (s > 0)
            & (k > 0)
            & (tt >= 0)
            & (v >= 0)
        )
    return s, k, tt, rr, qq, v, c > 0.5, valid


def bs_price(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    vol: ArrayLike,
    is_call: ArrayLike,
) -> Any:
    r"""Black–Scholes–Merton price of a European option with continuous dividend yield.

    .. math:: V = \theta\,[S e^{-qT}\Phi(\theta d_1) - K e^{-rT}\Phi(\theta d_2)],\quad
              d_{1,2} = \frac{\ln(S/K) + (r - q \pm \sigma^2/2)T}{\sigma\sqrt T}

    (Merton 1973; Haug 2007, §1.1.6). All arguments broadcast like NumPy.

    Parameters
    ----------
    spot, strike : array_like
        Spot price and strike, > 0.
    t : array_like
        Time to expiry in years, >= 0 (``t = 0`` gives the payoff).
    r, q : array_like
        Continuously compounded risk-free rate and dividend yield (any sign).
    vol : array_like
        Black–Scholes volatility, >= 0 (``vol = 0`` gives the discounted forward intrinsic).
    is_call : array_like of bool
        True for calls, False for puts.

    Returns
    -------
    ndarray or numpy scalar
        The price; NaN where an input is NaN/infinite, ``spot`` or ``strike`` <= 0, or
        ``t`` or ``vol`` < 0.

    Raises
    ------
    TypeError
        If ``is_call`` is not boolean or another argument is not numeric.
    ValueError
        If the argument shapes do not broadcast.

    Examples
    --------
    >>> round(float(bs_price(60.0, 65.0, 0.25, 0.08, 0.0, 0.30, True)), 4)  # Haug (2007) p. 3
    2.1334
    """
    s, k, tt, rr, qq, v, call, valid = _prepare(spot, strike, t, r, q, vol, is_call)
    out = np.full(s.shape, np.nan)
    if np.any(valid):
        sv, kv, tv, rv, qv, vv, cv = (a[valid] for a in (s, k, tt, rr, qq, v, call))
        log_fk = np.log(sv / kv) + (rv - qv) * tv
        forward = sv * np.exp((rv - qv) * tv)
        sign = np.where(cv, 1.0, -1.0)
        intrinsic = np.maximum(sign * (forward - kv), 0.0)
        total_sd = vv * np.sqrt(tv)
        time_value = np.zeros_like(sv)
        live = total_sd > 0
        if np.any(live):
            b = otm_black(-np.abs(log_fk[live]), total_sd[live])
            time_value[live] = np.sqrt(forward[live] * kv[live]) * b
        out[valid] = np.exp(-rv * tv) * (intrinsic + time_value)
    return scalar_or_array(out)


def bs_greeks(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    vol: ArrayLike,
    is_call: ArrayLike,
) -> Greeks:
    r"""Black–Scholes–Merton Greeks of a European option with continuous dividend yield.

    With :math:`\theta = \pm1` for calls/puts and :math:`\varphi` the normal density
    (Haug 2007, §2.1; Hull, *Options, Futures and Other Derivatives*, ch. 19):

    .. math::
        \Delta = \theta e^{-qT}\Phi(\theta d_1),\quad
        \Gamma = \frac{e^{-qT}\varphi(d_1)}{S\sigma\sqrt T},\quad
        \mathcal V = S e^{-qT}\varphi(d_1)\sqrt T,

        \Theta = -\frac{S e^{-qT}\varphi(d_1)\sigma}{2\sqrt T}
                 - \theta r K e^{-rT}\Phi(\theta d_2) + \theta q S e^{-qT}\Phi(\theta d_1),\quad
        \rho = \theta K T e^{-rT}\Phi(\theta d_2).

    Vega and rho are per 1.00 of volatility and rate; theta is per year of calendar time.
    Arguments are those of :func:`bs_price`; entries with ``t == 0`` or ``vol == 0`` (where the
    Greeks are not smooth) and invalid entries are NaN.

    Returns
    -------
    Greeks
        Dataclass with ``delta``, ``gamma``, ``vega``, ``theta``, ``rho``.

    Examples
    --------
    >>> g = bs_greeks(49.0, 50.0, 0.3846, 0.05, 0.0, 0.20, True)  # Hull (8th ed.), ch. 19 example
    >>> round(float(g.delta), 3)
    0.522
    """
    s, k, tt, rr, qq, v, call, valid = _prepare(spot, strike, t, r, q, vol, is_call)
    valid &= (tt > 0) & (v > 0)
    results = {name: np.full(s.shape, np.nan) for name in ("delta", "gamma", "vega", "theta", "rho")}
    if np.any(valid):
        sv, kv, tv, rv, qv, vv, cv = (a[valid] for a in (s, k, tt, rr, qq, v, call))
        sign = np.where(cv, 1.0, -1.0)
        sqrt_t = np.sqrt(tv)
        total_sd = vv * sqrt_t
        d1 = (np.log(sv / kv) + (rv - qv) * tv) / total_sd + 0.5 * total_sd
        d2 = d1 - total_sd
        disc_q = np.exp(-qv * tv)
        disc_r = np.exp(-rv * tv)
        density = _INV_SQRT_2PI * np.exp(-0.5 * d1 * d1)
        cdf1 = ndtr(sign * d1)
        cdf2 = ndtr(sign * d2)
        results["delta"][valid] = sign * disc_q * cdf1
        results["gamma"][valid] = disc_q * density / (sv * total_sd)
        results["vega"][valid] = sv * disc_q * density * sqrt_t
        results["theta"][valid] = (
            -sv * disc_q * density * vv / (2.0 * sqrt_t)
            - sign * rv * kv * disc_r * cdf2
            + sign * qv * sv * disc_q * cdf1
        )
        results["rho"][valid] = sign * kv * tv * disc_r * cdf2
    return Greeks(**{name: scalar_or_array(a) for name, a in results.items()})
