r"""Black–Scholes–Merton implied volatility, vectorised, accurate to ~1e-14 relative.

Method
------
1. Normalise (Jäckel 2015, "Let's be rational", Wilmott 2015(75), 40–53): with forward
   :math:`F = Se^{(r-q)T}`, undiscounted price :math:`P = Ve^{rT}` and intrinsic
   :math:`\iota = \max(\theta(F-K), 0)`, the out-of-the-money normalised price is
   :math:`\beta = (P - \iota)/\sqrt{FK}` at :math:`x = -|\ln(F/K)| \le 0` (put–call parity
   turns every in-the-money option into an out-of-the-money one). The distance to the upper
   bound :math:`e^{x/2} - \beta = (U - P)/\sqrt{FK}`, with :math:`U = F` for calls and
   :math:`K` for puts, is taken straight from the input.
2. Solve :math:`b(x, s) = \beta` for :math:`s = \sigma\sqrt T`. The inflection point
   :math:`s_c = \sqrt{2|x|}` splits the problem (as in Jäckel 2015): below
   :math:`b_c = b(x, s_c)` the objective is :math:`\ln b(s) - \ln\beta` (concave, evaluated
   in logarithms so that prices far below the smallest double stay solvable), above it
   :math:`\ln(b_{max} - b(s)) - \ln(b_{max} - \beta)`. Each bracket, :math:`(0, s_c]` or
   :math:`[s_c, \infty)`, is known in advance.
3. Initial guesses: :math:`b` is convex below :math:`s_c` and concave above, so the tangent
   at the inflection point, with :math:`b'(s_c) = e^{x/2}/\sqrt{2\pi}`, bounds the root from
   above in the lower region and from below in the upper one (where it is the guess). In the
   lower region the smaller of it and the inverse of Jäckel's small-:math:`s` asymptotic
   :math:`b \approx \tfrac{2\pi|x|}{3\sqrt3}\Phi(-|x|/(\sqrt3 s))^3` is used.
4. Halley iterations safeguarded by the bracket (bisection whenever a step leaves it) until a
   step is below 1e-5 relative (the cubic convergence then leaves ~1e-15) or the bracket is
   below 1e-12 relative (where rounding noise in the objective stalls the steps).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr, ndtri

from quant_assets.options._inputs import as_is_call, broadcast_float_arrays, scalar_or_array
from quant_assets.options._normalised_black import log_otm_black

__all__ = ["IVReason", "implied_vol"]

Array = NDArray[np.float64]
Objective = Callable[[Array, Array, Array], tuple[Array, Array, Array]]

_MAX_ITERATIONS = 60
_S_MAX = 60.0  # erfcx/ndtr-based evaluation is finite up to here; vol*sqrt(t) = 60 is absurd
# Halley leaves an error ~C*step^3 with C*s^2 = O(1) for these log objectives (-1/4 for the
# leading term -x^2/(2 s^2) of ln b), so a relative step below 1e-5 is ~1e-15 from the root
_FINISH_STEP = 1e-5
_COMPACT_FRACTION = 0.25
_BRACKET_TOLERANCE = 1e-12  # a root bracketed this tightly is accepted despite noisy f
_ROUNDING_ULPS = 4.0
_THREE_SQRT3 = 3.0 * np.sqrt(3.0)
_TWO_OVER_SQRT_2PI = 2.0 / np.sqrt(2.0 * np.pi)


class IVReason(IntEnum):
    """Why :func:`implied_vol` returned what it did (``OK``: a volatility was found)."""

    OK = 0
    NAN_INPUT = 1
    NONPOSITIVE_INPUT = 2
    BELOW_INTRINSIC = 3
    NO_TIME_VALUE = 4
    ABOVE_UPPER_BOUND = 5
    NOT_CONVERGED = 6


def _lower_objective(x: Array, s: Array, log_beta: Array) -> tuple[Array, Array, Array]:
    """f = ln b(s) − ln β with f' and f''."""
    log_b, ratio = log_otm_black(x, s)
    curvature = x * x / (s * s * s) - 0.25 * s  # b''/b'
    return log_b - log_beta, ratio, ratio * curvature - ratio * ratio


def _upper_objective(x: Array, s: Array, log_gap: Array) -> tuple[Array, Array, Array]:
    """f = ln(b_max − b(s)) − ln(b_max − β) with f' and f''."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        h = x / s
        t = 0.5 * s
        gap = np.exp(0.5 * x) * ndtr(-(h + t)) + np.exp(-0.5 * x) * ndtr(h - t)
        vega = np.exp(-0.5 * (h * h + t * t)) / np.sqrt(2.0 * np.pi)
        ratio = vega / gap
        curvature = x * x / (s * s * s) - 0.25 * s
        return np.log(gap) - log_gap, -ratio, -ratio * curvature - ratio * ratio


def _halley(
    objective: Objective,
    increasing: bool,
    x: Array,
    target: Array,
    s: Array,
    lo: Array,
    hi: Array,
) -> tuple[Array, NDArray[np.bool_]]:
    """Safeguarded Halley iterations on ``objective(x, s, target) = 0`` inside ``[lo, hi]``.

    An entry is finished when a Halley step inside the bracket is below ``_FINISH_STEP``
    relative (cubic convergence leaves an error of order step³), when the bracket has shrunk
    below ``_BRACKET_TOLERANCE`` relative, or when the objective is exactly zero. Finished
    entries are dropped from the working set in batches (compaction costs a gather per array).
    """
    s_out = s.copy()
    converged = np.zeros(s.shape, dtype=bool)
    idx = np.arange(s.size)
    xa, ta, sa, la, ha = x, target, s.copy(), lo.copy(), hi.copy()
    finished = np.zeros(s.shape, dtype=bool)
    for iteration in range(_MAX_ITERATIONS):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            f, f1, f2 = objective(xa, sa, ta)
            # s below the root (NaN counts: only underflow at tiny s produces it)
            too_low = ~(f >= 0) if increasing else ~(f <= 0)
            la = np.where(too_low, sa, la)
            ha = np.where(too_low, ha, sa)
            newton = f / f1
            step = newton / (0.5 * newton * f2 / f1 - 1.0)
            new = sa + step
            inside = (new >= la) & (new <= ha)  # False for NaN
            if not inside.all():  # bisection (geometric once bounded away from 0)
                out = ~inside
                lo_o, hi_o = la[out], ha[out]
                new[out] = np.where(lo_o > 0, np.sqrt(lo_o * hi_o), 0.5 * hi_o)
            finished |= inside & (np.abs(step) <= _FINISH_STEP * new)
            finished |= (f == 0) | (ha - la <= _BRACKET_TOLERANCE * ha)
        sa = new  # finished entries keep iterating harmlessly until the next compaction
        n_finished = np.count_nonzero(finished)
        last = iteration == _MAX_ITERATIONS - 1
        if n_finished == finished.size or n_finished > _COMPACT_FRACTION * finished.size or last:
            s_out[idx[finished]] = sa[finished]
            converged[idx[finished]] = True
            keep = ~finished
            if not keep.any():
                break
            idx, xa, ta, sa, la, ha = idx[keep], xa[keep], ta[keep], sa[keep], la[keep], ha[keep]
            finished = np.zeros(idx.size, dtype=bool)
    s_out[idx] = sa
    return s_out, converged


def _subset(mask: NDArray[np.bool_], arrays: tuple[Array, ...]) -> tuple[Array, ...]:
    """The arrays restricted to ``mask`` (no copies when every entry is selected)."""
    if mask.all():
        return arrays
    return tuple(a[mask] for a in arrays)


def _scatter(mask: NDArray[np.bool_], values: Array) -> Array:
    """Array of ``mask``'s shape holding ``values`` where ``mask`` is True, NaN elsewhere."""
    if mask.all():
        return values
    out = np.full(mask.shape, np.nan)
    out[mask] = values
    return out


def _solve_normalised(x: Array, beta: Array, gap: Array) -> tuple[Array, NDArray[np.bool_]]:
    """Solve b(x, s) = β for s, x <= 0, 0 < β < e^{x/2}, gap = e^{x/2} − β."""
    s = np.empty_like(x)
    ok = np.zeros(x.shape, dtype=bool)
    s_c = np.sqrt(-2.0 * x)
    half_bmax = 0.5 * np.exp(0.5 * x)
    b_c = half_bmax - np.exp(-0.5 * x) * ndtr(-s_c)
    vega_c = half_bmax * _TWO_OVER_SQRT_2PI  # b'(s_c) = e^{x/2}/√(2π)
    # b is convex below s_c and concave above (b''(s_c) = 0): the tangent at s_c bounds the
    # root from above in the lower region and from below in the upper region
    tangent = s_c + (beta - b_c) / vega_c
    lower = beta < b_c
    if np.any(lower):
        xl, bl, scl = x[lower], beta[lower], s_c[lower]
        with np.errstate(divide="ignore", invalid="ignore"):
            u = np.cbrt(_THREE_SQRT3 * bl / (2.0 * np.pi * -xl))
            guess = -xl / (np.sqrt(3.0) * -ndtri(np.minimum(u, 0.5)))
        tl = tangent[lower]
        guess = np.where(np.isfinite(guess) & (guess > 0), np.minimum(guess, tl), tl)
        guess = np.where(guess > 0, guess, 0.5 * scl)
        s[lower], ok[lower] = _halley(
            _lower_objective, True, xl, np.log(bl), guess, np.zeros_like(xl), scl
        )
    upper = ~lower
    if np.any(upper):
        xu, gu, scu = x[upper], gap[upper], s_c[upper]
        guess = np.clip(tangent[upper], scu, _S_MAX)
        s[upper], ok[upper] = _halley(
            _upper_objective, False, xu, np.log(gu), guess, scu, np.full_like(xu, _S_MAX)
        )
    return s, ok


def implied_vol(
    price: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    is_call: ArrayLike,
    *,
    return_reason: bool = False,
    engine: str = "numpy",
) -> Any:
    r"""Black–Scholes–Merton implied volatility of European option prices.

    Inverts :func:`~quant_assets.options.bs_price` in :math:`\sigma` (continuous dividend
    yield ``q``), following the normalised-Black formulation of Jäckel (2015), "Let's be
    rational": the out-of-the-money normalised price :math:`b(x, s)`, :math:`s=\sigma\sqrt T`,
    is inverted with asymptotic initial guesses and bracketed Halley iterations in
    logarithmic coordinates (see the module docstring). The error in :math:`\sigma` is below
    1e-10 plus the unavoidable ``eps * price / vega`` of a price rounded to double precision
    (typically ~1e-14 relative), from deep in to deep out of the money and near expiry.

    Parameters
    ----------
    price : array_like
        Option prices (discounted, as quoted).
    spot, strike : array_like
        > 0.
    t : array_like
        Time to expiry in years, > 0.
    r, q : array_like
        Continuously compounded rate and dividend yield.
    is_call : array_like of bool
        True for calls, False for puts.
    return_reason : bool, default False
        Also return an array of :class:`IVReason` codes.
    engine : {"numpy", "numba"}, default "numpy"
        ``"numpy"`` is the vectorised reference implementation. ``"numba"`` runs the same
        algorithm as a compiled element-wise loop (several times faster; needs the optional
        ``numba`` package from the ``bench`` extra).

    Returns
    -------
    vol : ndarray or numpy scalar
        Implied volatility; NaN wherever no volatility reproduces the price.
    reason : ndarray of int8, optional
        :class:`IVReason` per entry: ``NAN_INPUT`` (non-finite input),
        ``NONPOSITIVE_INPUT`` (price < 0, or spot, strike or t <= 0), ``BELOW_INTRINSIC``
        (price below the discounted forward intrinsic :math:`e^{-rT}\max(\theta(F-K),0)`),
        ``NO_TIME_VALUE`` (price equal to it: volatility 0 or undetermined),
        ``ABOVE_UPPER_BOUND`` (price >= :math:`Se^{-qT}` for calls, :math:`Ke^{-rT}` for
        puts), ``NOT_CONVERGED`` (not expected to occur).

    Raises
    ------
    TypeError, ValueError
        For non-boolean ``is_call``, non-numeric arguments or shapes that do not broadcast.

    Examples
    --------
    >>> round(float(implied_vol(2.1333684449, 60.0, 65.0, 0.25, 0.08, 0.0, True)), 6)
    0.3
    >>> vol, reason = implied_vol(0.5, 100.0, 90.0, 1.0, 0.0, 0.0, True, return_reason=True)
    >>> IVReason(int(reason)).name
    'BELOW_INTRINSIC'
    """
    if engine == "numpy":
        solve = _solve_normalised
    elif engine == "numba":
        try:
            from quant_assets.options._implied_vol_numba import solve_normalised_numba
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("engine='numba' needs numba: pip install numba") from exc
        solve = solve_normalised_numba
    else:
        raise ValueError(f"engine must be 'numpy' or 'numba', got {engine!r}")
    call = as_is_call(is_call)
    p, sp, k, tt, rr, qq, c = broadcast_float_arrays(
        price=price, spot=spot, strike=strike, t=t, r=r, q=q, is_call=call
    )
    shape = p.shape
    p, sp, k, tt, rr, qq = (a.ravel() for a in (p, sp, k, tt, rr, qq))
    call = c.ravel() > 0.5
    vol = np.full(p.shape, np.nan)
    reason = np.full(p.shape, IVReason.OK, dtype=np.int8)

    finite = np.isfinite(p) & np.isfinite(sp) & np.isfinite(k) & np.isfinite(tt)
    finite &= np.isfinite(rr) & np.isfinite(qq)
    reason[~finite] = IVReason.NAN_INPUT
    with np.errstate(invalid="ignore"):
        positive = (p >= 0) & (sp > 0) & (k > 0) & (tt > 0)
    reason[finite & ~positive] = IVReason.NONPOSITIVE_INPUT
    valid = finite & positive

    if valid.any():
        pi, si, ki, ti, ri, qi, ci = _subset(valid, (p, sp, k, tt, rr, qq, call))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            undiscounted = pi * np.exp(ri * ti)
            growth = (ri - qi) * ti
            log_fk = np.log(si / ki) + growth
            forward = si * np.exp(growth)
            intrinsic = np.maximum(np.where(ci, forward - ki, ki - forward), 0.0)
            scale = np.sqrt(forward * ki)
            beta = (undiscounted - intrinsic) / scale
            gap = (np.where(ci, forward, ki) - undiscounted) / scale
            code = np.full(beta.shape, IVReason.OK, dtype=np.int8)
            code[beta < 0] = IVReason.BELOW_INTRINSIC
            # a time value within rounding of zero carries no information about the volatility
            rounding = _ROUNDING_ULPS * np.finfo(float).eps * np.maximum(undiscounted, intrinsic)
            code[np.abs(beta * scale) <= rounding] = IVReason.NO_TIME_VALUE
            code[~(gap > 0) & (beta > 0)] = IVReason.ABOVE_UPPER_BOUND
        solvable = code == IVReason.OK
        if solvable.any():
            xs, bs, gs, ts = _subset(solvable, (-np.abs(log_fk), beta, gap, ti))
            s, ok = solve(xs, bs, gs)
            sol = np.where(ok, s / np.sqrt(ts), np.nan)
            if not ok.all():
                code[np.flatnonzero(solvable)[~ok]] = IVReason.NOT_CONVERGED
            vol_valid = _scatter(solvable, sol)
            if valid.all():
                vol = vol_valid
            else:
                vol[valid] = vol_valid
        reason[valid] = code

    vol = scalar_or_array(vol.reshape(shape))
    if return_reason:
        return vol, scalar_or_array(reason.reshape(shape))
    return vol
