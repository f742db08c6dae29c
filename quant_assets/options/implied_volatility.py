r"""Black–Scholes–Merton implied volatility, vectorised, accurate to ~1e-14 relative.

Method
------
1. Normalise (Jäckel 2015, "Let's be rational", Wilmott 2015(75), 40–53): with forward
   :math:`F = Se^{(r-q)T}`, undiscounted price :math:`P = Ve^{rT}` and intrinsic
   :math:`\iota = \max(\theta(F-K), 0)`, the out-of-the-money normalised price is
   :math:`\beta = (P - \iota)/\sqrt{FK}` at :math:`x = -|\ln(F/K)| \le 0` (put–call parity
   turns every in-the-money option into an out-of-the-money one). The distance to the upper
   bound :math:`e^{x/2} - \beta = (U - P)/\sqrt{FK}`, with :math:`U = F` for calls and
   :math:`K` for puts, is taken straight from the input. For out-of-the-money options
   :math:`\ln\beta = \ln V + rT - \ln\sqrt{FK}` is taken from the logarithm of the price,
   so that prices down to the smallest subnormal double (5e-324) stay solvable.
2. Solve :math:`b(x, s) = \beta` for :math:`s = \sigma\sqrt T`. The inflection point
   :math:`s_c = \sqrt{2|x|}` splits the problem (as in Jäckel 2015): below
   :math:`b_c = b(x, s_c)` the objective is :math:`\ln b(s) - \ln\beta` (concave, evaluated
   in logarithms so that prices far below the smallest double stay solvable), above it
   :math:`\ln(b_{max} - b(s)) - \ln(b_{max} - \beta)` where :math:`\beta \ge b_{max}/2`
   and again :math:`\ln b(s) - \ln\beta` where :math:`\beta < b_{max}/2`: the rounding of
   whichever of :math:`\beta` and :math:`b_{max} - \beta` is smaller moves :math:`s` least
   (at the money forward with :math:`s \sim 10^{-10}`, :math:`b_{max} - \beta = 1 - O(s)`
   keeps none of the digits of :math:`\beta`; there :math:`b = 2\Phi(s/2) - 1`). Each
   bracket, :math:`(0, s_c]` or :math:`[s_c, \infty)`, is known in advance. Solutions with
   :math:`s` below ``S_MIN`` = 1e-305 (only at, or within ~1e-290 of, the money forward with
   normalised prices below ~4e-306) are reported as ``VOL_UNDERFLOW`` instead.
3. Initial guesses: :math:`b` is convex below :math:`s_c` and concave above, so the tangent
   at the inflection point, with :math:`b'(s_c) = e^{x/2}/\sqrt{2\pi}`, bounds the root from
   above in the lower region and from below in the upper one (where it is the guess). In the
   lower region the smaller of it and the inverse of Jäckel's small-:math:`s` asymptotic
   :math:`b \approx \tfrac{2\pi|x|}{3\sqrt3}\Phi(-|x|/(\sqrt3 s))^3` is used.
4. Third-order Householder iterations (the update Jäckel 2015 uses, in scale-free form: see
   :func:`~quant_assets.options._iv_kernel.householder_step`), whose second and third
   derivatives follow in closed form from the first, safeguarded by the bracket (bisection
   whenever a step leaves it), until a step is below 3e-5 relative (the quartic convergence
   then leaves ~1e-18) or the bracket is below 1e-12 relative (where rounding noise in the
   objective stalls the steps).

The inputs are processed in blocks of ``_BLOCK`` options so that the temporaries of the
element-wise arithmetic stay in the processor cache.

Engines: this vectorised NumPy code is the reference and the default. The same algorithm,
element by element, is in :mod:`quant_assets.options._implied_vol_numba` (both share
:mod:`quant_assets.options._iv_kernel`). Compiled with numba it is not faster: measured at
0.6-0.7x the NumPy engine's throughput (``benchmarks/bench_implied_vol.py``, 1,000,000
options, 2 threads on a 2-core machine; ~1.1x only when the machine was heavily loaded),
plus a compile of 2-5 s once per process. Both engines spend their time in the same special
functions (erfc, exp, log), which NumPy already evaluates in compiled loops.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr, ndtri

from quant_assets.options._inputs import (
    as_is_call,
    broadcast_float_arrays,
    scalar_or_array,
)
from quant_assets.options._iv_kernel import (
    BRACKET_TOLERANCE,
    FINISH_STEP,
    MAX_ITERATIONS,
    S_MAX,
    S_MIN,
    householder_step,
)
from quant_assets.options._normalised_black import log_otm_black

__all__ = ["IVReason", "implied_vol"]

Array = NDArray[np.float64]
Objective = Callable[[Array, Array, Array], tuple[Array, Array]]
Solver = Callable[[Array, Array, Array, Array], tuple[Array, NDArray[np.bool_]]]

_COMPACT_FRACTION = 0.25
_TINY = 1e-290  # below this β (and the guess's cube root argument) is taken from logarithms
_ROUNDING_ULPS = 4.0
_BLOCK = 1 << 14  # options per block: the temporaries (128 kB each) stay in the cache
_THREE_SQRT3 = 3.0 * np.sqrt(3.0)
_SQRT_2PI = np.sqrt(2.0 * np.pi)
_TWO_OVER_SQRT_2PI = 2.0 / _SQRT_2PI


class IVReason(IntEnum):
    """Why :func:`implied_vol` returned what it did (``OK``: a volatility was found)."""

    OK = 0
    NAN_INPUT = 1
    NONPOSITIVE_INPUT = 2
    BELOW_INTRINSIC = 3
    NO_TIME_VALUE = 4
    ABOVE_UPPER_BOUND = 5
    NOT_CONVERGED = 6
    VOL_UNDERFLOW = 7


def _lower_objective(x: Array, s: Array, log_beta: Array) -> tuple[Array, Array]:
    """f = ln b(s) − ln β and f' = b'/b."""
    log_b, ratio = log_otm_black(x, s)
    return log_b - log_beta, ratio


def _upper_objective(x: Array, s: Array, log_gap: Array) -> tuple[Array, Array]:
    """f = ln(b_max − b(s)) − ln(b_max − β) and f' = −b'/(b_max − b)."""
    h = x / s
    t = 0.5 * s
    gap = np.exp(0.5 * x) * ndtr(-(h + t)) + np.exp(-0.5 * x) * ndtr(h - t)
    slope = np.exp(-0.5 * (h * h + t * t))
    slope /= -_SQRT_2PI * gap
    return np.log(gap) - log_gap, slope


def _householder(
    objective: Objective,
    increasing: bool,
    x: Array,
    target: Array,
    s: Array,
    lo: Array,
    hi: Array,
) -> tuple[Array, NDArray[np.bool_]]:
    """Safeguarded Householder(3) iterations on ``objective(x, s, target) = 0`` in ``[lo, hi]``.

    An entry is finished when a step inside the bracket is below ``FINISH_STEP`` relative
    (quartic convergence leaves an error of order step⁴), when the bracket has shrunk below
    ``BRACKET_TOLERANCE`` relative, or when the objective is exactly zero. Finished entries
    are dropped from the working set in batches (compaction costs a gather per array).
    """
    s_out = s.copy()
    converged = np.zeros(s.shape, dtype=bool)
    idx = np.arange(s.size)
    xa, ta, sa, la, ha = x, target, s, lo, hi
    finished = np.zeros(s.shape, dtype=bool)
    for iteration in range(MAX_ITERATIONS):
        f, f1 = objective(xa, sa, ta)
        # s below the root (NaN counts: only underflow at tiny s produces it)
        too_low = ~(f >= 0) if increasing else ~(f <= 0)
        la = np.where(too_low, sa, la)
        ha = np.where(too_low, ha, sa)
        step = householder_step(f, f1, xa, sa)
        new = sa + step
        inside = (new >= la) & (new <= ha)  # False for NaN
        if not inside.all():  # bisection (geometric once bounded away from 0)
            out = np.flatnonzero(~inside)
            lo_o, hi_o = la.take(out), ha.take(out)
            new[out] = np.where(lo_o > 0, np.sqrt(lo_o * hi_o), 0.5 * hi_o)
        finished |= inside & (np.abs(step) <= FINISH_STEP * new)
        finished |= (f == 0) | (ha - la <= BRACKET_TOLERANCE * ha)
        sa = new  # finished entries keep iterating harmlessly until the next compaction
        n_finished = np.count_nonzero(finished)
        last = iteration == MAX_ITERATIONS - 1
        if n_finished == finished.size or n_finished > _COMPACT_FRACTION * finished.size or last:
            done = np.flatnonzero(finished)
            where = idx.take(done)
            s_out[where] = sa.take(done)
            converged[where] = True
            if done.size == finished.size:
                return s_out, converged
            keep = np.flatnonzero(~finished)
            idx, xa, ta, sa = idx.take(keep), xa.take(keep), ta.take(keep), sa.take(keep)
            la, ha = la.take(keep), ha.take(keep)
            finished = np.zeros(idx.size, dtype=bool)
    s_out[idx] = sa
    return s_out, converged


def _solve_normalised(x: Array, beta: Array, log_beta: Array, gap: Array) -> tuple[Array, NDArray[np.bool_]]:
    """Solve b(x, s) = β for s, x <= 0, 0 < β < e^{x/2}, gap = e^{x/2} − β, given β and ln β
    (finite where β underflows)."""
    s = np.empty_like(x)
    ok = np.empty(x.shape, dtype=bool)
    s_c = np.sqrt(-2.0 * x)
    half_bmax = 0.5 * np.exp(0.5 * x)
    b_c = half_bmax - np.exp(-0.5 * x) * ndtr(-s_c)
    # b is convex below s_c and concave above (b''(s_c) = 0): the tangent at s_c, with slope
    # b'(s_c) = e^{x/2}/√(2π), bounds the root from above in the lower region and from below
    # in the upper region
    tangent = s_c + (beta - b_c) / (half_bmax * _TWO_OVER_SQRT_2PI)
    is_lower = beta < b_c
    lower = np.flatnonzero(is_lower)
    if lower.size:
        xl, ll, scl, tl = x.take(lower), log_beta.take(lower), s_c.take(lower), tangent.take(lower)
        u = np.cbrt(_THREE_SQRT3 * beta.take(lower) / (2.0 * np.pi * -xl))
        tiny = np.flatnonzero(u < _TINY)  # β underflowed: from ln β
        if tiny.size:
            u[tiny] = np.exp((np.log(_THREE_SQRT3 / (2.0 * np.pi * -xl[tiny])) + ll[tiny]) / 3.0)
        guess = -xl / (np.sqrt(3.0) * -ndtri(np.minimum(u, 0.5)))
        guess = np.where(np.isfinite(guess) & (guess > 0), np.minimum(guess, tl), tl)
        guess = np.where(guess > 0, guess, 0.5 * scl)
        s[lower], ok[lower] = _householder(_lower_objective, True, xl, ll, guess, np.zeros_like(xl), scl)
    # above s_c: on ln b while β < b_max − β (its rounding then moves s least: near the money
    # with tiny σ√T the gap is 1 − O(σ√T) and carries no digits of β), else on ln(b_max − b)
    for on_log_b in (True, False):
        upper = np.flatnonzero(~is_lower & ((beta < gap) == on_log_b))
        if upper.size:
            xu, scu = x.take(upper), s_c.take(upper)
            guess = np.clip(tangent.take(upper), scu, S_MAX)
            objective, target = (
                (_lower_objective, log_beta.take(upper)) if on_log_b else (_upper_objective, np.log(gap.take(upper)))
            )
            s[upper], ok[upper] = _householder(objective, on_log_b, xu, target, guess, scu, np.full_like(xu, S_MAX))
    return s, ok


def _tiny_prices(
    code: NDArray[np.int8], tiny: NDArray[np.intp], arrays: list[Array], intrinsic: Array
) -> tuple[NDArray[np.intp], Array]:
    """Out-of-the-money entries among ``tiny`` (β below ``_TINY``, possibly underflowed, as
    may be e^{rT}P) with a positive price: ln β straight from ln(price), code ``OK``, or
    ``VOL_UNDERFLOW`` where β < b(x, S_MIN), i.e. σ√T below ``S_MIN`` (only possible at or
    extremely near the money forward). Returns the solvable ones and their ln β."""
    p, sp, k, tt, rr, qq = (a.take(tiny) for a in arrays)
    keep = (intrinsic.take(tiny) == 0) & (p > 0) & (sp > 0) & (k > 0) & (tt > 0)
    keep &= np.isin(code.take(tiny), (IVReason.OK, IVReason.NO_TIME_VALUE))
    tiny, p, sp, k, tt, rr, qq = (a[keep] for a in (tiny, p, sp, k, tt, rr, qq))
    growth = (rr - qq) * tt
    log_beta = np.log(p) + rr * tt - 0.5 * (np.log(sp) + growth + np.log(k))
    floor, _ = log_otm_black(-np.abs(np.log(sp / k) + growth), np.full(tiny.shape, S_MIN))
    under = log_beta < floor
    code[tiny] = np.where(under, IVReason.VOL_UNDERFLOW, IVReason.OK)
    return tiny[~under], log_beta[~under]


def _normalise_block(
    arrays: list[Array], call: NDArray[np.bool_]
) -> tuple[NDArray[np.int8], tuple[NDArray[np.intp], Array, Array, Array, Array, Array]]:
    """Reason codes of one block of flat inputs (NaN propagating), and for the solvable
    entries their indices, x, β, ln β, the gap to the upper bound and √T."""
    p, sp, k, tt, rr, qq = arrays
    positive = (p >= 0) & (sp > 0) & (k > 0) & (tt > 0)
    code = np.zeros(p.shape, dtype=np.int8)
    if np.isfinite(p + sp + k + tt + rr + qq).all():
        code[~positive] = IVReason.NONPOSITIVE_INPUT
    else:
        finite = np.isfinite(p) & np.isfinite(sp) & np.isfinite(k) & np.isfinite(tt)
        finite &= np.isfinite(rr) & np.isfinite(qq)
        positive &= finite
        code[~finite] = IVReason.NAN_INPUT
        code[finite & ~positive] = IVReason.NONPOSITIVE_INPUT
    undiscounted = p * np.exp(rr * tt)
    growth = (rr - qq) * tt
    log_fk = np.log(sp / k) + growth
    forward = sp * np.exp(growth)
    diff = forward - k
    intrinsic = np.maximum(np.where(call, diff, -diff), 0.0)
    scale = np.sqrt(forward * k)
    time_value = undiscounted - intrinsic
    beta = time_value / scale
    gap = (np.where(call, forward, k) - undiscounted) / scale
    code[positive & (beta < 0)] = IVReason.BELOW_INTRINSIC
    # a time value within rounding of zero carries no information about the volatility
    rounding = _ROUNDING_ULPS * np.finfo(float).eps * np.maximum(undiscounted, intrinsic)
    code[positive & (np.abs(time_value) <= rounding)] = IVReason.NO_TIME_VALUE
    code[positive & ~(gap > 0) & (beta > 0)] = IVReason.ABOVE_UPPER_BOUND
    tiny = np.flatnonzero(beta < _TINY)
    if tiny.size:
        tiny, log_tiny = _tiny_prices(code, tiny, arrays, intrinsic)
    idx = np.flatnonzero(code == IVReason.OK)
    x = -np.abs(log_fk.take(idx))
    beta_ok = beta.take(idx)
    log_beta = np.log(beta_ok)
    if tiny.size:
        log_beta[np.searchsorted(idx, tiny)] = log_tiny
    return code, (idx, x, beta_ok, log_beta, gap.take(idx), np.sqrt(tt.take(idx)))


def _solve_into(vol: Array, reason: NDArray[np.int8], parts: list[tuple[Array, ...]], solve: Solver) -> None:
    """Solve the normalised problems collected in ``parts`` and write vols and failures."""
    if len(parts) == 1:
        idx, x, beta, log_beta, gap, root_t = parts[0]
    else:
        idx, x, beta, log_beta, gap, root_t = (np.concatenate(a) for a in zip(*parts, strict=True))
    if idx.size:
        s, ok = solve(x, beta, log_beta, gap)
        vol[idx] = np.where(ok, s / root_t, np.nan)
        reason[idx[~ok]] = IVReason.NOT_CONVERGED


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
    is inverted with asymptotic initial guesses and bracketed Householder iterations in
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
        algorithm as a compiled element-wise loop in parallel threads; it is not faster
        (measured 0.6-0.7x the NumPy engine on 2 cores, after a 2-5 s compile per process,
        nothing cached on disk) and needs the optional ``numba`` package.

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
        puts), ``VOL_UNDERFLOW`` (:math:`\sigma\sqrt T` below 1e-305: at the money forward
        with a price below ~4e-306 :math:`\sqrt{FK}`), ``NOT_CONVERGED`` (not expected to
        occur). Every positive price below the upper bound, down to 5e-324, is either solved
        or flagged ``VOL_UNDERFLOW``.

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
        solve: Solver = _solve_normalised
    elif engine == "numba":
        from quant_assets.options._numba import HAS_NUMBA

        if not HAS_NUMBA:  # pragma: no cover - depends on the environment
            raise ImportError("engine='numba' needs numba: pip install numba")
        from quant_assets.options._implied_vol_numba import solve_normalised_numba

        solve = solve_normalised_numba
    else:
        raise ValueError(f"engine must be 'numpy' or 'numba', got {engine!r}")
    call = as_is_call(is_call)
    *arrays, c = broadcast_float_arrays(price=price, spot=spot, strike=strike, t=t, r=r, q=q, is_call=call)
    shape = c.shape
    flat = [a.ravel() for a in arrays]
    call = c.ravel() > 0.5
    n = call.size
    vol = np.full(n, np.nan)
    reason = np.empty(n, dtype=np.int8)
    parts: list[tuple[Array, ...]] = []
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        for start in range(0, n, _BLOCK):
            block = slice(start, start + _BLOCK)
            reason[block], (idx, *normalised) = _normalise_block([a[block] for a in flat], call[block])
            parts.append((idx + start, *normalised))
            if engine == "numpy":  # solve while the block is in the cache
                _solve_into(vol, reason, parts, solve)
                parts = []
        if parts:  # the compiled kernel runs once over all blocks, in parallel threads
            _solve_into(vol, reason, parts, solve)
    vol_out = scalar_or_array(vol.reshape(shape))
    if return_reason:
        return vol_out, scalar_or_array(reason.reshape(shape))
    return vol_out
