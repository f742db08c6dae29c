r"""Normalised Black function for out-of-the-money options, evaluated without cancellation.

With forward :math:`F`, strike :math:`K`, log-moneyness :math:`x = \ln(F/K)` and total
standard deviation :math:`s = \sigma\sqrt{T}`, the undiscounted Black call price divided by
:math:`\sqrt{FK}` is (Jäckel 2015, "Let's be rational", Wilmott, eq. 2.2)

.. math:: b(x, s) = e^{x/2}\Phi(x/s + s/2) - e^{-x/2}\Phi(x/s - s/2).

Only the out-of-the-money branch :math:`x \le 0` is evaluated here; in-the-money calls and
all puts follow from put–call parity and the symmetry :math:`b_{put}(x,s) = b_{call}(-x,s)`.
With :math:`h = x/s`, :math:`t = s/2` and the scaled complementary error function
:math:`\operatorname{erfcx}`, the two terms share the factor :math:`e^{-(h^2+t^2)/2}`:

.. math:: b = \tfrac12 e^{-(h^2+t^2)/2}\,[\operatorname{erfcx}(-(h+t)/\sqrt2)
          - \operatorname{erfcx}(-(h-t)/\sqrt2)],

which stays accurate (and is available in logarithms) for prices far below the smallest
double (Jäckel 2015, §3, "region 4"). For tiny :math:`t < 1.4\cdot10^{-4}` the erfcx
difference is replaced by its Taylor expansion in :math:`t`. The direct formula with
:math:`\Phi` is used where :math:`h + t > 0.85` (Jäckel's region 3) and, for speed inside the
implied-volatility iteration only, wherever :math:`h - t \ge -5`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import erfcx, ndtr

__all__ = ["log_otm_black", "otm_black"]

_SQRT_HALF = np.sqrt(0.5)
_TWO_OVER_SQRT_PI = 2.0 / np.sqrt(np.pi)
_SQRT_2_OVER_PI = np.sqrt(2.0 / np.pi)
_DIRECT_REGION = 0.85
_TAYLOR_DELTA = 1e-4
_TAYLOR_T = _TAYLOR_DELTA / _SQRT_HALF
_DIRECT_MIN_ARGUMENT = -5.0
_SQRT_2PI = np.sqrt(2.0 * np.pi)

Array = NDArray[np.float64]


def _erfcx_difference(h: Array, t: Array) -> Array:
    """``erfcx(-(h+t)/√2) - erfcx(-(h-t)/√2)``, by Taylor expansion in t where t is tiny."""
    u = -h * _SQRT_HALF
    delta = t * _SQRT_HALF
    out = erfcx(u - delta) - erfcx(u + delta)
    small = np.flatnonzero(delta < _TAYLOR_DELTA)
    if small.size:
        us, ds = u.take(small), delta.take(small)
        e0 = erfcx(us)
        e1 = 2.0 * us * e0 - _TWO_OVER_SQRT_PI
        e2 = 2.0 * e0 + 2.0 * us * e1
        e3 = 4.0 * e1 + 2.0 * us * e2
        out[small] = -2.0 * ds * e1 - (ds**3 / 3.0) * e3
    return out


def _parts(x: Array, s: Array, direct_min: float) -> tuple[Array, Array, Array, NDArray[np.intp]]:
    """h, t, the direct-formula value of b, and the indices where erfcx is needed instead."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        h = x / s
        t = 0.5 * s
        direct = np.exp(0.5 * x) * ndtr(h + t) - np.exp(-0.5 * x) * ndtr(h - t)
        # the direct difference underflows or cancels: far out of the money, or tiny s
        need_erfcx = ((h - t < direct_min) | (t < _TAYLOR_T)) & (h + t <= _DIRECT_REGION)
    return h, t, direct, np.flatnonzero(need_erfcx)


def otm_black(x: Array, s: Array) -> Array:
    """Normalised Black call price b(x, s) for ``x <= 0`` and ``s > 0`` (1-d arrays).

    The erfcx form is used throughout Jäckel's regions 1, 2 and 4 (h + t <= 0.85): its
    relative error grows like (h² + |h|/t)·eps rather than h²·(|h|/t)·eps for the direct form.
    """
    h, t, b, need = _parts(x, s, np.inf)
    if need.size:
        hn, tn = h.take(need), t.take(need)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            b[need] = 0.5 * np.exp(-0.5 * (hn * hn + tn * tn)) * _erfcx_difference(hn, tn)
    return b


def log_otm_black(x: Array, s: Array) -> tuple[Array, Array]:
    """Return ``(ln b, b'/b)`` for ``x <= 0``, ``s > 0``, with ``b' = ∂b/∂s``.

    Both are finite even where ``b`` itself underflows. ``b' = exp(-(h²+t²)/2)/√(2π)``.
    For speed the direct form is kept down to h − t = −5, where its relative error is at most
    ~25·|h|/t·eps, i.e. an error in s of order eps·s/|h|.
    """
    h, t, b, need = _parts(x, s, _DIRECT_MIN_ARGUMENT)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        log_b = np.log(b)
        ratio = np.exp(-0.5 * (h * h + t * t)) / (_SQRT_2PI * b)
        if need.size:
            hn, tn = h.take(need), t.take(need)
            diff = _erfcx_difference(hn, tn)
            log_b[need] = -0.5 * (hn * hn + tn * tn) + np.log(0.5 * diff)
            ratio[need] = _SQRT_2_OVER_PI / diff
    return log_b, ratio
