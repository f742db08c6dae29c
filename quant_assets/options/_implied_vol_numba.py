r"""Element-wise implied-volatility kernel for ``implied_vol(..., engine="numba")``.

The same algorithm as the NumPy reference in :mod:`quant_assets.options.implied_volatility`
(normalised out-of-the-money Black price, tangent/asymptotic initial guesses, bracketed
third-order Householder iterations on :math:`\ln b` where :math:`\beta` is below both the
inflection value and the gap to the upper bound, on :math:`\ln(b_{max} - b)` elsewhere), with
the same constants, stopping rules and Householder update (all from
:mod:`quant_assets.options._iv_kernel`), written element by element so that numba compiles it
into one loop without temporaries. Scalar special functions: :math:`\Phi` from ``math.erfc``;
``erfcx`` as :math:`e^{z^2}\operatorname{erfc}(z)` for :math:`z < 5` and Laplace's continued
fraction beyond; the normal quantile (only needed for the initial guess) from Abramowitz &
Stegun 26.2.23. The loop over options runs in parallel threads (``numba.prange``). Measured
slower than the NumPy engine (0.6-0.7x its throughput on 2 cores, see
``benchmarks/bench_implied_vol.py``), hence not the default.

Without numba (:mod:`quant_assets.options._numba`) the functions are plain Python: correct but
slow, used by the tests to check the kernel against the reference on a few options.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from quant_assets.options._iv_kernel import (
    BRACKET_TOLERANCE,
    FINISH_STEP,
    MAX_ITERATIONS,
    S_MAX,
    householder_step,
)
from quant_assets.options._normalised_black import (
    _DIRECT_MIN_ARGUMENT,
    _DIRECT_REGION,
    _TAYLOR_DELTA,
    _TAYLOR_T,
)
from quant_assets.options._numba import jit, prange

__all__ = ["erfcx", "solve_normalised_numba"]

_SQRT2 = math.sqrt(2.0)
_SQRT_HALF = math.sqrt(0.5)
_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_THREE_SQRT3 = 3.0 * math.sqrt(3.0)

_householder_step = jit()(householder_step)


@jit()
def _ncdf(z: float) -> float:
    return 0.5 * math.erfc(-z / _SQRT2)


@jit()
def erfcx(z: float) -> float:
    """Scaled complementary error function exp(z²) erfc(z) (used for z > -1)."""
    if z < 5.0:
        return math.exp(z * z) * math.erfc(z)
    f = z
    for n in range(60, 0, -1):
        f = z + 0.5 * n / f
    return 1.0 / (_SQRT_PI * f)


@jit()
def _ndtri_lower(p: float) -> float:
    """Normal quantile for 0 < p < 0.5 (0 for p >= 0.5), absolute error < 4.5e-4: enough
    for an initial guess that the Halley iterations refine."""
    if p >= 0.5:
        return 0.0
    t = math.sqrt(-2.0 * math.log(p))
    return -(
        t
        - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t)
    )


@jit()
def _erfcx_difference(h: float, t: float) -> float:
    u = -h * _SQRT_HALF
    delta = t * _SQRT_HALF
    if delta < _TAYLOR_DELTA:
        e0 = erfcx(u)
        e1 = 2.0 * u * e0 - _TWO_OVER_SQRT_PI
        e2 = 2.0 * e0 + 2.0 * u * e1
        e3 = 4.0 * e1 + 2.0 * u * e2
        return -2.0 * delta * e1 - (delta**3 / 3.0) * e3
    return erfcx(u - delta) - erfcx(u + delta)


@jit()
def _lower(x: float, ex: float, s: float, log_beta: float) -> tuple[float, float]:
    h = x / s
    t = 0.5 * s
    if h + t > _DIRECT_REGION or (h - t >= _DIRECT_MIN_ARGUMENT and t >= _TAYLOR_T):
        b = ex * _ncdf(h + t) - _ncdf(h - t) / ex
        if not b > 0.0:
            return -math.inf, math.nan
        log_b = math.log(b)
        ratio = math.exp(-0.5 * (h * h + t * t)) / (_SQRT_2PI * b)
    else:
        d = _erfcx_difference(h, t)
        if not d > 0.0:
            return -math.inf, math.nan
        log_b = -0.5 * (h * h + t * t) + math.log(0.5 * d)
        ratio = _SQRT_2_OVER_PI / d
    return log_b - log_beta, ratio


@jit()
def _upper(x: float, ex: float, s: float, log_gap: float) -> tuple[float, float]:
    h = x / s
    t = 0.5 * s
    gap = ex * _ncdf(-(h + t)) + _ncdf(h - t) / ex
    if not gap > 0.0:
        return -math.inf, math.nan
    return math.log(gap) - log_gap, -math.exp(-0.5 * (h * h + t * t)) / (_SQRT_2PI * gap)


@jit()
def _solve_one(x: float, beta: float, log_beta: float, gap: float) -> tuple[float, bool]:
    s_c = math.sqrt(-2.0 * x)
    ex = math.exp(0.5 * x)
    half_bmax = 0.5 * ex
    b_c = half_bmax - _ncdf(-s_c) / ex
    tangent = s_c + (beta - b_c) / (half_bmax * 2.0 / _SQRT_2PI)
    lower = beta < b_c
    if lower:
        lo, hi = 0.0, s_c
        if beta > 1e-290:
            u = math.pow(_THREE_SQRT3 * beta / (2.0 * math.pi * -x), 1.0 / 3.0)
        else:  # β underflowed: from ln β
            u = math.exp((math.log(_THREE_SQRT3 / (2.0 * math.pi * -x)) + log_beta) / 3.0)
        z = _ndtri_lower(min(u, 0.5))
        guess = -x / (math.sqrt(3.0) * -z) if z < 0.0 else math.inf
        if math.isfinite(guess) and guess > 0.0:
            s = min(guess, tangent)
        else:
            s = tangent
        if not s > 0.0:
            s = 0.5 * s_c
    else:
        lo, hi = s_c, S_MAX
        s = min(max(tangent, s_c), S_MAX)
    on_log_b = lower or beta < gap  # ln b is the better conditioned objective there
    target = log_beta if on_log_b else math.log(gap)
    for _ in range(MAX_ITERATIONS):
        if on_log_b:
            f, f1 = _lower(x, ex, s, target)
            too_low = not f >= 0.0
        else:
            f, f1 = _upper(x, ex, s, target)
            too_low = not f <= 0.0
        if too_low:
            lo = s
        else:
            hi = s
        step = _householder_step(f, f1, x, s)
        new = s + step
        inside = lo <= new <= hi
        if not inside:
            new = math.sqrt(lo * hi) if lo > 0.0 else 0.5 * hi
        done = (inside and abs(step) <= FINISH_STEP * new) or f == 0.0
        done = done or hi - lo <= BRACKET_TOLERANCE * hi
        s = new
        if done:
            return s, True
    return s, False


@jit(parallel=True)
def _solve_all(
    x: NDArray[np.float64],
    beta: NDArray[np.float64],
    log_beta: NDArray[np.float64],
    gap: NDArray[np.float64],
):
    n = x.size
    s = np.empty(n)
    ok = np.empty(n, dtype=np.bool_)
    for i in prange(n):
        s[i], ok[i] = _solve_one(x[i], beta[i], log_beta[i], gap[i])
    return s, ok


def solve_normalised_numba(
    x: NDArray[np.float64],
    beta: NDArray[np.float64],
    log_beta: NDArray[np.float64],
    gap: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Solve b(x, s) = β element by element (x <= 0, 0 < β < e^{x/2}, gap = e^{x/2} − β),
    given β and ln β (finite where β underflows)."""
    return _solve_all(*(np.ascontiguousarray(a, dtype=np.float64) for a in (x, beta, log_beta, gap)))
