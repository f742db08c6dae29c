r"""Arbitrage-free re-fit of an SVI slice.

If the fit has Durrleman's :math:`g < 0` somewhere or :math:`w \le 0`
(Gatheral & Jacquier 2014), and an arbitrage-free fit is requested, the five parameters are
re-fitted by SLSQP (Kraft 1988, via SciPy) with analytic gradients, subject to Lee's bound,
:math:`\min_k w = a + b\sigma\sqrt{1-\rho^2} > 0` and Durrleman's condition
:math:`g(k_j) \ge 2\cdot10^{-3}` on 41 points over the data range extended by one span on each
side, geometrically spaced wing points out to :math:`|k| = 10` and points around :math:`m`;
where the wide check of :func:`~quant_assets.options.svi_butterfly_arbitrage` still fails,
the local minima of :math:`g` there join the grid and SLSQP restarts (exchange method, at most
three rounds). The condition is imposed in the smoothed form
:math:`w^2(g - g_0)/(w^2 + \varepsilon^2)`, a polynomial in :math:`(w, w', w'')` over a
positive denominator, which keeps its gradient bounded where :math:`w` is small. SLSQP is only
locally optimal and SVI's least-squares valleys are flat, so it runs from up to three starting
points — the unconstrained optimum, the best arbitrage-free point of the outer
:math:`(m, \sigma)` grid and a "flattened" fit (sigma widened and b shrunk, a flat smile at the
mean level in the limit, which has no butterfly arbitrage when that level is positive) —
stopping early once the RMSE is within 2% of the unconstrained RMSE (a lower bound) or two
starts agree. The best candidate that passes the wide check wins, the flattened fit included,
so the result is never worse than that cheap arbitrage-free alternative. This path costs
milliseconds to tens of milliseconds.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from quant_assets.options._svi_inner import _RHO_MAX
from quant_assets.options._svi_slices import _GRID, _LS_BOUNDS, _Slice
from quant_assets.options.arbitrage import DEFAULT_K_GRID, butterfly_flags
from quant_assets.options.svi import raw_svi_g

Array = NDArray[np.float64]

# Arbitrage-free re-fit: SLSQP with Durrleman's g >= _G_TARGET on _C_DATA points over the data
# range +- one span, wing points and points around m; exchange rounds add the wide grid's
# violators.
_C_DATA = 41
_C_WING = np.geomspace(1.3, 60.0, 14)  # beyond the data, in data spans (and |k| = 10)
_C_SCREEN = np.sinh(np.linspace(-4.0, 4.0, 9))  # around m, in units of sigma
_C_LOCAL = np.sinh(np.linspace(-6.0, 6.0, 241))  # the wide check's points around m
_MAX_ADDED = 16  # grid points added per exchange round
_G_TARGET = 2e-3  # g pushed above this (g is O(1))
_W_FLOOR = 1e-6  # minimum total variance, in units of max |data|
_W_SMOOTH = 0.1  # epsilon of the smoothed constraint, relative to the median data level
_REFIT_ROUNDS = 3
_REFIT_MAXITER = 60
_REFIT_FTOL = 1e-8  # on the SSE / (sse0 + _F_REF sse_flat): about relative
_F_REF = 1e-2
_GOOD_RATIO = 1.02  # RMSE within this factor of the unconstrained fit: accepted at once
_AGREE_RTOL = 1e-4  # two converged starts with SSEs this close: accepted
_SCREEN_CONFIRM = 5  # screened candidates confirmed by butterfly_flags per batch
# flattened alternative: sigma multipliers and b scalings
_FLAT_SIGMA = np.array([1.0, 1.5, 2.5, 4.0, 8.0])
_FLAT_B = np.array([1.0, 0.85, 0.7, 0.55, 0.4, 0.3, 0.2, 0.1, 0.05, 0.0])


def _has_arbitrage(p: Array) -> bool:
    return bool(butterfly_flags(*(np.array([x]) for x in p))[0])


def _g_constraint(k: Array, p: Array, eps2: float, jacobian: bool) -> tuple[Array, Array | None]:
    r"""Smoothed butterfly constraint :math:`c = w^2 (g - g_0) / (w^2 + \varepsilon^2)` at ``k``
    for raw parameters ``p`` = (a, b, rho, m, sigma), and if ``jacobian`` its Jacobian in
    those parameters (rows k, columns a, b, rho, m, sigma).

    :math:`w^2 g = (2w - kw')^2/4 - w'^2 w/4 - w'^2 w^2/16 + w^2 w''/2` is a polynomial in
    :math:`(w, w', w'')`, so :math:`c` has the sign of :math:`g - g_0` wherever :math:`w > 0`,
    equals :math:`g - g_0` where :math:`w \gg \varepsilon` and stays bounded and smooth where
    :math:`w` is small (:math:`g` itself has :math:`1/w` terms)."""
    a, b, rho, m, sig = p
    km = k - m
    r = np.sqrt(km * km + sig * sig)
    ir = 1.0 / r
    ir3 = ir * ir * ir
    f = rho * km + r
    w = a + b * f
    u1 = rho + km * ir  # w' / b
    w1 = b * u1
    s2_ir3 = sig * sig * ir3
    w2 = b * s2_ir3
    t = 2.0 * w - k * w1
    ww = w * w
    h = 0.25 * t * t - 0.25 * w1 * w1 * w - w1 * w1 * ww / 16.0 + 0.5 * ww * w2 - _G_TARGET * ww
    den = 1.0 / (ww + eps2)
    if not jacobian:
        return h * den, None
    c_w = (t - 0.25 * w1 * w1 - 0.125 * w1 * w1 * w + w * w2 - 2.0 * _G_TARGET * w - 2.0 * w * h * den) * den
    c_w1 = (-0.5 * k * t - 0.5 * w1 * w - 0.125 * w1 * ww) * den
    c_w2 = 0.5 * ww * den
    jac = np.stack(
        [
            c_w,
            c_w * f + c_w1 * u1 + c_w2 * s2_ir3,
            (c_w * km + c_w1) * b,
            -b * (c_w * u1 + c_w1 * s2_ir3 - 3.0 * c_w2 * s2_ir3 * km * ir * ir),
            b * sig * (c_w * ir - c_w1 * km * ir3 + c_w2 * (2.0 * ir3 - 3.0 * s2_ir3 * ir * ir)),
        ],
        axis=1,
    )
    return h * den, jac


class _Refit:
    """Arbitrage-free least squares in the normalised variables x = (a_n, b_n, rho, m_n,
    ln sigma) (``a = scale a_n``, ``b = scale b_n / span``, ``m = mid + span m_n``,
    ``sigma = span exp(ln sigma)``), objective (weighted SSE) multiplied by ``f_scale``."""

    def __init__(self, d: _Slice) -> None:
        self.d, self.f_scale = d, 1.0
        self.lo = np.array([-np.inf, 0.0, -_RHO_MAX, d.m_bounds[0], _LS_BOUNDS[0]])
        self.hi = np.array([np.inf, d.lee, _RHO_MAX, d.m_bounds[1], _LS_BOUNDS[1]])
        # chain rule from raw (a, b, rho, m, sigma) to x, the sigma entry without its exp(ls)
        self.chain = np.array([d.scale, d.scale / d.span, 1.0, d.span, d.span])
        k_lo, k_hi = float(d.k.min()), float(d.k.max())
        self.eps2 = (_W_SMOOTH * float(np.median(np.abs(d.v))) * d.scale) ** 2
        wings = d.span * _C_WING
        self.k_base = np.concatenate(
            [np.linspace(k_lo - d.span, k_hi + d.span, _C_DATA), k_lo - wings, k_hi + wings, [-10.0, 10.0]]
        )

    def raw(self, x: Array) -> Array:
        """Normalised variables (last axis) to raw (a, b, rho, m, sigma)."""
        d = self.d
        a_n, b_n, rho, m_n, ls = (x[..., i] for i in range(5))
        return np.stack([d.scale * a_n, b_n * d.scale / d.span, rho, d.mid + d.span * m_n, d.span * np.exp(ls)], -1)

    def from_raw(self, p: Array) -> Array:
        d = self.d
        x = np.array([p[0] / d.scale, p[1] * d.span / d.scale, p[2], (p[3] - d.mid) / d.span, np.log(p[4] / d.span)])
        return np.clip(x, self.lo, self.hi)

    def sse(self, x: Array) -> float:
        """Weighted SSE in normalised units."""
        res = self.residuals(x)[0]
        return float((res * res) @ self.d.w)

    def residuals(self, x: Array) -> tuple[Array, Array]:
        """Normalised residuals and their Jacobian (rows: the five variables)."""
        d = self.d
        a_n, b_n, rho, m_n, ls = x
        s2 = np.exp(2.0 * ls)
        xm = d.x - m_n
        big_r = np.sqrt(xm * xm + s2)
        res = a_n + b_n * (rho * xm + big_r) - d.v
        jac = np.stack([np.ones_like(xm), rho * xm + big_r, b_n * xm, -b_n * (rho + xm / big_r), b_n * s2 / big_r])
        return res, jac

    def constraints(self, x: Array, k: Array) -> Array:
        """Inequality constraints (>= 0): the smoothed Durrleman condition on the grid ``k``
        (:func:`_g_constraint`), Lee's bound b(1 +- rho) <= 2 and the minimum total variance
        a + b sigma sqrt(1 - rho^2) >= floor."""
        g, _ = _g_constraint(k, self.raw(x), self.eps2, False)
        a_n, b_n, rho, _, ls = x
        c = np.sqrt(max(1.0 - rho * rho, 1e-12))
        lee = self.d.lee
        return np.concatenate(
            [g, [lee - b_n * (1.0 + rho), lee - b_n * (1.0 - rho), a_n + b_n * np.exp(ls) * c - _W_FLOOR]]
        )

    def constraints_jacobian(self, x: Array, k: Array) -> Array:
        """Jacobian of :meth:`constraints` in x."""
        p = self.raw(x)
        _, jac_g = _g_constraint(k, p, self.eps2, True)
        chain = self.chain.copy()
        chain[4] = p[4]
        a_n, b_n, rho, _, ls = x
        s = np.exp(ls)
        c = np.sqrt(max(1.0 - rho * rho, 1e-12))
        extra = np.array(
            [
                [0.0, -(1.0 + rho), -b_n, 0.0, 0.0],
                [0.0, -(1.0 - rho), b_n, 0.0, 0.0],
                [1.0, s * c, -b_n * s * rho / c, 0.0, b_n * s * c],
            ]
        )
        return np.vstack([jac_g * chain, extra])

    def slsqp(self, x0: Array, k: Array) -> tuple[Array, bool]:
        """SLSQP (Kraft 1988) from ``x0`` with the constraints on the grid ``k``, in variables
        scaled by the square root of the Gauss–Newton Hessian's diagonal at ``x0``
        (``x = x0 + y / D``); returns (x, converged)."""
        _, jac0 = self.residuals(x0)
        diag = (jac0 * jac0) @ self.d.w
        scale = 1.0 / np.sqrt(diag + 1e-12 * diag.max() + 1e-300)
        bounds = list(zip((self.lo - x0) / scale, (self.hi - x0) / scale))
        sw = self.d.w

        def point(y: Array) -> Array:
            return np.clip(x0 + scale * y, self.lo, self.hi)

        def objective(y: Array) -> tuple[float, Array]:
            res, jac = self.residuals(point(y))
            wres = sw * res
            return float(wres @ res) * self.f_scale, 2.0 * self.f_scale * scale * (jac @ wres)

        def cons(y: Array) -> Array:
            return self.constraints(point(y), k)

        def cons_jac(y: Array) -> Array:
            return self.constraints_jacobian(point(y), k) * scale

        out = minimize(
            objective,
            np.zeros(5),
            jac=True,
            method="SLSQP",
            bounds=bounds,
            constraints=[{"type": "ineq", "fun": cons, "jac": cons_jac}],
            options={"maxiter": _REFIT_MAXITER, "ftol": _REFIT_FTOL},
        )
        # status 8: the line search cannot reduce the objective any more (optimal to rounding)
        return (point(out.x) if np.all(np.isfinite(out.x)) else x0), out.status in (0, 8)

    def solve(self, x0: Array) -> tuple[Array, bool] | None:
        """SLSQP from ``x0`` with the constraints on the base grid, adding the points of the
        wide check grid where g falls short (exchange rounds); None unless the result passes
        :func:`butterfly_flags`."""
        p0 = self.raw(x0)
        x, k = x0, np.concatenate([self.k_base, p0[3] + p0[4] * _C_SCREEN])
        for _ in range(_REFIT_ROUNDS):
            x, success = self.slsqp(x, k)
            p = self.raw(x)
            if not _has_arbitrage(p):
                return x, success
            check = np.concatenate([DEFAULT_K_GRID, p[3] + p[4] * _C_LOCAL])
            with np.errstate(invalid="ignore", divide="ignore"):
                g = raw_svi_g(check, *p)
            short = ~(g >= _G_TARGET)
            if not short.any():
                return None  # Lee's bound or w <= 0 between grid points: give up
            k = np.union1d(k, _local_minima(check, g, short))
        return None


def _local_minima(k: Array, g: Array, short: NDArray[np.bool_]) -> Array:
    """Points of ``k`` (sorted here) where g is short of target and a local minimum."""
    order = np.argsort(k)
    ks, gs, sh = k[order], np.where(np.isfinite(g[order]), g[order], -np.inf), short[order]
    left = np.concatenate([[np.inf], gs[:-1]])
    right = np.concatenate([gs[1:], [np.inf]])
    pick = sh & (gs <= left) & (gs <= right)
    return ks[pick][:_MAX_ADDED]


def _best_arbitrage_free(refit: _Refit, cand: Array, sse: Array) -> Array | None:
    """Candidate (rows of normalised variables) with the smallest ``sse`` that passes
    :func:`butterfly_flags`; the candidates are screened first by Durrleman's g on the
    re-fit's base grid and around each m, and confirmed a few at a time in order of SSE."""
    raw = refit.raw(cand)
    pa, pb, pr, pm, ps = (c[:, None] for c in raw.T)
    k = np.concatenate([np.broadcast_to(refit.k_base, (cand.shape[0], refit.k_base.size)), pm + ps * _C_SCREEN], 1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ok = np.all(raw_svi_g(k, pa, pb, pr, pm, ps) >= 0.0, axis=1) & np.isfinite(sse)
    order = np.flatnonzero(ok)[np.argsort(sse[ok])]
    for start in range(0, order.size, _SCREEN_CONFIRM):
        chunk = order[start : start + _SCREEN_CONFIRM]
        passed = ~butterfly_flags(*raw[chunk].T)
        if passed.any():
            return cand[chunk[np.argmax(passed)]]
    return None


def _flattened(d: _Slice, x0: Array, refit: _Refit) -> Array | None:
    """Cheap arbitrage-free alternative to the fit ``x0``: keep its (rho, m), widen sigma by
    a factor in :data:`_FLAT_SIGMA`, scale the least-squares b for that sigma down by a factor
    in :data:`_FLAT_B` (refitting a), and take the best candidate without butterfly arbitrage
    (:func:`_best_arbitrage_free`). b = 0, a flat smile at the weighted mean level, is
    arbitrage-free whenever that level is positive. None if no candidate is."""
    _, _, rho, m_n, ls = x0
    ls_c = np.minimum(ls + np.log(_FLAT_SIGMA), _LS_BOUNDS[1])
    xm = d.x - m_n
    feat = rho * xm + np.sqrt(xm * xm + np.exp(2.0 * ls_c)[:, None])  # (n_sigma, n)
    f_mean = feat @ d.w / d.sw
    fc = feat - f_mean[:, None]
    b_ls = np.clip((fc @ (d.w * d.v)) / np.maximum((fc * fc) @ d.w, 1e-300), 0.0, d.lee / (1.0 + abs(rho)))
    b_c = b_ls[:, None] * _FLAT_B  # (n_sigma, n_b)
    a_c = d.sv / d.sw - b_c * f_mean[:, None]
    # residuals a + b f - v for every (sigma, b): SSE by broadcasting
    res = a_c[:, :, None] + b_c[:, :, None] * feat[:, None, :] - d.v
    sse = ((res * res) @ d.w).ravel()
    cand = np.stack(
        [a_c.ravel(), b_c.ravel(), np.full(b_c.size, rho), np.full(b_c.size, m_n), np.repeat(ls_c, _FLAT_B.size)],
        axis=1,
    )
    return _best_arbitrage_free(refit, cand, sse)


def _grid_start(d: _Slice, refit: _Refit, grid_fit: tuple[Array, ...]) -> Array | None:
    """Best arbitrage-free candidate of the outer (m, sigma) grid from its exact inner fits
    ``grid_fit`` = (sse, A, beta, b) (:func:`_best_arbitrage_free`)."""
    sse, a, beta, b = grid_fit
    m_n = d.grid_m
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(b > 0, beta / b, 0.0)
    cand = np.stack([a + beta * m_n, b, np.clip(rho, -_RHO_MAX, _RHO_MAX), m_n, _GRID[1]], axis=1)
    return _best_arbitrage_free(refit, cand, sse)


def _arbitrage_free_refit(d: _Slice, p0: Array, sse0: float, grid_fit: tuple[Array, ...]) -> tuple[Array, bool] | None:
    """Re-fit without butterfly arbitrage from the unconstrained optimum ``p0`` (raw
    parameters, normalised SSE ``sse0``) and the outer grid's inner fits ``grid_fit``.

    Candidates: a flattened arbitrage-free version of the fit (:func:`_flattened`), always
    available when the data's mean level is positive. SLSQP runs (:meth:`_Refit.solve`) start
    from ``p0``, from the best arbitrage-free point of the (m, sigma) grid
    (:func:`_grid_start`) and from the flattened fit, in that order, and stop as soon as a
    result's RMSE is within a factor :data:`_GOOD_RATIO` of the unconstrained one (a lower
    bound). The candidate with the smallest SSE that passes :func:`butterfly_flags` wins
    (the flattened fit is reported as not converged). Returns (raw parameters, converged) or
    None if no arbitrage-free slice is found."""
    refit = _Refit(d)
    x_unc = refit.from_raw(p0)
    x_flat = _flattened(d, x_unc, refit)
    best: tuple[float, Array, bool] | None = None
    sse_flat = 0.0
    if x_flat is not None:
        sse_flat = refit.sse(x_flat)
        best = (sse_flat, x_flat, False)
    # objective O(1) between the lower bound sse0 and the upper bound sse_flat
    refit.f_scale = 1.0 / (sse0 + _F_REF * sse_flat + 1e-12 * d.svv)
    good = _GOOD_RATIO**2 * sse0
    converged_sse: list[float] = []
    for start in (lambda: x_unc, lambda: _grid_start(d, refit, grid_fit), lambda: x_flat):
        x0 = start()
        out = None if x0 is None else refit.solve(x0)
        if out is None:
            continue
        sse = refit.sse(out[0])
        agree = out[1] and any(abs(sse - s) <= _AGREE_RTOL * sse for s in converged_sse)
        if out[1]:
            converged_sse.append(sse)
        if best is None or sse < best[0]:
            best = (sse, out[0], out[1])
        if agree or best[0] <= good:
            break
    if best is None:
        return None
    return refit.raw(best[1]), best[2]
