r"""Calibration of a raw SVI slice by the quasi-explicit method with a variable-projection polish.

Zeliade Systems (2009), "Quasi-explicit calibration of Gatheral's SVI model" (De Marco &
Martini): for fixed :math:`(m, \sigma)` the raw SVI total variance

.. math:: w(k) = a + b\left(\rho(k - m) + \sqrt{(k - m)^2 + \sigma^2}\right)
              = A + \beta k + b R(k),\qquad R(k) = \sqrt{(k-m)^2 + \sigma^2},

is linear in :math:`(A, \beta, b) = (a - \rho b m, \rho b, b)`, so the weighted least-squares
problem in those three is a convex quadratic programme. Its constraints,
:math:`|\beta| \le \rho_{max} b` (:math:`|\rho| < 1`) and :math:`|\beta| + b \le 2` (Lee's
moment bound :math:`b(1+|\rho|) \le 2`, Lee 2004), form a square in :math:`(\beta, b)` that does
not depend on :math:`(m, \sigma)`. The QP's minimum is the best feasible stationary point over
the interior, the four edges and the four vertices; all are closed-form functions of the
weighted moments :math:`\sum w_i R_i`, :math:`\sum w_i k_i R_i`, :math:`\sum w_i v_i R_i`
(:math:`\sum w_i R_i^2` is a polynomial in :math:`m, \sigma`), so thousands of candidate
:math:`(m, \sigma)` cost one matrix product.

The outer problem :math:`F(m, \ln\sigma) = \min_{A,\beta,b} \mathrm{SSE}` starts from the best
point of a 13 × 12 grid and is converged by Gauss–Newton steps of variable projection (Golub &
Pereyra 1973, with Kaufman's 1975 Jacobian): the Jacobian columns in :math:`(m, \ln\sigma)`
are projected orthogonally to the linear features of the active face (a Schur complement of
their Gram matrix); a batch of damped, extended and one-coordinate steps is evaluated at once
by exact inner solves and the best kept. The iteration stops when the Gauss–Newton predicted
decrease of the SSE (a scaled squared gradient norm, projected onto the :math:`(m, \sigma)`
box) falls below :math:`10^{-10}` of the SSE, or the SSE gains less than :math:`10^{-9}`
relative over five steps (SVI's flat valleys: the parameters are ill-determined there, the fit
is not).

Bounds. :math:`m` lies within one data span of the data and :math:`\sigma` in
``[1e-3, 10]`` data spans. A slice whose data are fitted best as :math:`\sigma \to \infty`
(the smile a parabola in :math:`k`) stops at the upper bound: beyond it the SVI shape over the
data changes by relative terms of order :math:`(\text{span}/\sigma)^2 \le 10^{-2}` of an
already small curvature, and Lee's bound caps :math:`b` anyway. A minimum on a bound of the box
is a valid (KKT) optimum and is reported as converged. Positivity of the total variance is not
imposed on the raw fit (as in the plain five-parameter least squares); a slice with
:math:`w \le 0` somewhere is flagged as having butterfly arbitrage.

Butterfly arbitrage. If the fit has Durrleman's :math:`g < 0` somewhere (Gatheral & Jacquier
2014), and an arbitrage-free fit is requested, the five parameters are re-fitted from it by
SLSQP (Kraft 1988, via SciPy) with :math:`g(k_j) \ge 2\cdot10^{-3}` on a log-moneyness grid
covering the data, the wings and the neighbourhood of :math:`m`, and Lee's bound, as
constraints, re-centring the grid until :func:`~quant_assets.options.svi_butterfly_arbitrage`
passes (two rounds of at most 60 iterations). This path is slower (milliseconds) and only
locally optimal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize

from quant_assets.options.arbitrage import DEFAULT_K_GRID, butterfly_flags
from quant_assets.options.svi import raw_svi_g, svi_total_variance

__all__ = ["SVIFit", "fit_svi_slice"]

Array = NDArray[np.float64]

# Data are mapped to x = (k - mid)/span in [-0.5, 0.5] and v / max|v|; bounds in those units.
_LS_BOUNDS = (float(np.log(1e-3)), float(np.log(10.0)))  # ln sigma, sigma in data spans
_GRID_M = np.linspace(-0.7, 1.7, 13)  # offsets from the lowest data point, in data spans
_GRID_LS = np.linspace(np.log(2e-3), np.log(8.0), 12)
_GRID = (np.repeat(_GRID_M, _GRID_LS.size), np.tile(_GRID_LS, _GRID_M.size))

_LEE = 2.0 * (1.0 - 1e-6)  # b(1+|rho|) <= _LEE: Lee's bound, strictly inside
_RHO_MAX = 1.0 - 1e-6  # |rho| <= _RHO_MAX: SVI needs |rho| < 1
_FEAS = 1e-12
# Faces of the feasible square in (beta, b), in units of the (normalised) Lee bound L:
# edges beta = alpha * b + gamma * L, vertices (beta, b) fixed.
_EDGE_ALPHA = np.array([_RHO_MAX, -_RHO_MAX, -1.0, 1.0])
_EDGE_GAMMA = np.array([0.0, 0.0, 1.0, -1.0])
_VERTEX_BETA = np.array([0.0, _RHO_MAX, 0.0, -_RHO_MAX]) / (1.0 + _RHO_MAX)
_VERTEX_B = np.array([0.0, 1.0, 1.0 + _RHO_MAX, 1.0]) / (1.0 + _RHO_MAX)

_MAX_ITERATIONS = 50
_PRED_RTOL = 1e-10  # Gauss–Newton predicted SSE decrease below this (relative): converged
# trial steps: (damping lambda, multiple of the damped step); the multiples extend damped steps
# where the Gauss–Newton model underestimates how far the reduced objective keeps falling
_TRIALS = ((0.0, 1.0), (0.1, 1.0), (1.0, 1.0), (10.0, 1.0), (1e3, 1.0), (1.0, 3.0), (10.0, 3.0), (10.0, 9.0))
_EXTEND = np.array([2.0, 4.0, 8.0, 16.0, 32.0, 64.0])
_TRIALS_TINY = ((1e5, 1.0), (1e7, 1.0), (1e9, 1.0))
_WINDOW, _WINDOW_RTOL = 5, 1e-9  # SSE gain over the last _WINDOW steps below this: converged
_STALL_RTOL = 1e-8  # no descent at any damping: converged if the predicted decrease is this small
_ROUNDING = 1e-14  # relative size of residuals that are rounding noise

# Arbitrage-free re-fit: penalty on Durrleman's g on a grid (data span units around the data,
# the wide check grid thinned, sigma units around m).
_G_DATA = np.linspace(-1.0, 1.0, 61)
_G_WIDE = DEFAULT_K_GRID[::10]
_G_LOCAL = np.sinh(np.linspace(-6.0, 6.0, 49))
_G_TARGET = 2e-3  # g pushed above this (g is O(1))
_REFIT_ROUNDS = 2
_FD_STEP = 1e-7


@dataclass(frozen=True)
class SVIFit:
    """Result of :func:`fit_svi_slice`.

    Attributes
    ----------
    a, b, rho, m, sigma : float
        Raw SVI parameters.
    rmse : float
        Weighted root-mean-square error of total variance,
        ``sqrt(sum(w_i r_i^2) / sum(w_i))``.
    converged : bool
        The optimiser met its stopping rule: the Gauss–Newton predicted decrease of the
        weighted SSE, with the linear parameters projected out and coordinates held at a bound
        of the (m, sigma) box dropped, is below 1e-10 relative, or the SSE gained less than
        1e-9 relative over five steps (for the arbitrage-free re-fit: SLSQP's success).
    butterfly_arbitrage : bool
        The returned slice has butterfly arbitrage (on :data:`DEFAULT_K_GRID` or by Lee's
        bound). With ``arbitrage_free=True`` this happens only when no arbitrage-free
        slice was found near the best fit.
    """

    a: float
    b: float
    rho: float
    m: float
    sigma: float
    rmse: float
    converged: bool
    butterfly_arbitrage: bool

    def total_variance(self, k: ArrayLike) -> Array:
        """Fitted total variance at log-moneyness ``k``."""
        return np.asarray(svi_total_variance(k, self.a, self.b, self.rho, self.m, self.sigma))


class _Data:
    """Normalised slice: x = (k - mean)/span (weighted mean, so sum(w x) = 0), v / max|v|, its
    weighted moments and the box for m in x units (one data span beyond the data)."""

    def __init__(self, k: Array, v: Array, wt: Array) -> None:
        k_lo, k_hi = float(k.min()), float(k.max())
        self.sw = float(wt.sum())
        self.mid, self.span = float(wt @ k) / self.sw, k_hi - k_lo
        self.scale = float(np.abs(v).max()) or 1.0
        self.k, self.w, self.sqrt_w = k, wt, np.sqrt(wt)
        self.x = x = (k - self.mid) / self.span
        self.v = v = v / self.scale
        wx, wv = wt * x, wt * v
        self.moments = np.stack([wt, wx, wv], axis=1)  # Q @ moments -> sums of w Q, w x Q, w v Q
        self.sxx, self.sv, self.sxv = float(wx @ x), float(wv.sum()), float(wx @ v)
        self.svv = float(wv @ v)
        self.cv0, self.cv1 = self.sv / self.sw, self.sxv / self.sxx  # v on span{1, x}
        self.svv_perp = self.svv - self.sv * self.cv0 - self.sxv * self.cv1
        self.lee = _LEE * self.span / self.scale  # Lee's bound on b in normalised units
        lo = (k_lo - self.mid) / self.span
        self.m_bounds = (lo - 1.0, lo + 2.0)
        self.grid_m = lo + _GRID[0]


def _inner(d: _Data, m: Array, ls: Array) -> tuple[Array, Array, Array, Array, Array, Array]:
    """Exact constrained linear fit for each candidate (m, ln sigma) (1-d, equal length).

    The third feature is Q = R - sigma = (x - m)^2 / (R + sigma) (same span with 1, better
    conditioned); the interior optimum is the regression of v on Q after projecting both
    orthogonally to span{1, x}. Returns the SSE (from the moments), A, beta, b (for
    ``A + beta x + b R``), the active face (0 interior, 1–4 edges, 5–8 vertices) and R.
    Infeasible face points (outside the square, or singular) get an infinite SSE. Edges
    and vertices are computed only where the interior point is infeasible.
    """
    s = np.exp(ls)
    xm = d.x - m[:, None]
    xm2 = xm * xm
    big_r = np.sqrt(xm2 + (s * s)[:, None])
    q = xm2 / (big_r + s[:, None])
    sq, sxq, svq = (q @ d.moments).T
    sqq = (q * q) @ d.w
    sw, sxx = d.sw, d.sxx
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        qx = sxq / sxx
        den = sqq - sq * sq / sw - sxq * qx
        num = svq - sq * d.cv0 - sxq * d.cv1
        b_f = num / den
        a_f = d.cv0 - b_f * (sq / sw)  # A' (coefficient of 1 with feature Q)
        beta_f = d.cv1 - b_f * qx
        sse_f = d.svv_perp - num * b_f
        ok = _feasible(d, beta_f, b_f)
    sse_f = np.where(ok, sse_f, np.inf)
    face = np.zeros(m.size, dtype=np.intp)
    if not ok.all():
        # faces only for the candidates whose interior point is infeasible
        j = np.flatnonzero(~ok)
        sse_e, a_e, beta_e, b_e, face_e = _faces(d, sq[j], sxq[j], svq[j], sqq[j], m[j], s[j])
        better = sse_e < sse_f[j]
        j = j[better]
        sse_f[j], a_f[j], beta_f[j], b_f[j], face[j] = (
            sse_e[better],
            a_e[better],
            beta_e[better],
            b_e[better],
            face_e[better],
        )
    return sse_f, a_f - b_f * s, beta_f, b_f, face, big_r


def _faces(
    d: _Data, sq: Array, sxq: Array, svq: Array, sqq: Array, m: Array, s: Array
) -> tuple[Array, Array, Array, Array, Array]:
    """Best feasible stationary point on the 4 edges and 4 vertices of the (beta, b) square
    from the moments of Q; returns (sse, A', beta, b, face 1–8)."""
    sw, sxx = d.sw, d.sxx
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # edges beta = alpha b + gamma: unknowns (A', b), feature alpha x + Q, target v - gamma x
        al, ga = _EDGE_ALPHA[:, None], _EDGE_GAMMA[:, None] * d.lee
        q22 = al * al * sxx + 2.0 * al * sxq + sqq
        t2 = al * d.sxv + svq - ga * (al * sxx + sxq)
        det2 = sw * q22 - sq * sq
        b_e = (sw * t2 - sq * d.sv) / det2
        a_e = np.vstack([(d.sv * q22 - t2 * sq) / det2, (d.sv - _VERTEX_B[:, None] * d.lee * sq) / sw])
        beta_e = np.vstack([al * b_e + ga, np.repeat(_VERTEX_BETA[:, None] * d.lee, m.size, 1)])
        b_e = np.vstack([b_e, np.repeat(_VERTEX_B[:, None] * d.lee, m.size, 1)])
        sse_e = (
            a_e * (a_e * sw + 2.0 * (b_e * sq - d.sv))
            + beta_e * (beta_e * sxx + 2.0 * (b_e * sxq - d.sxv))
            + b_e * (b_e * sqq - 2.0 * svq)
            + d.svv
        )
        ok = _feasible(d, beta_e, b_e)
    sse_e = np.where(ok, sse_e, np.inf)
    face = np.argmin(sse_e, axis=0)
    cols = np.arange(m.size)
    return sse_e[face, cols], a_e[face, cols], beta_e[face, cols], b_e[face, cols], face + 1


def _feasible(d: _Data, beta: Array, b: Array) -> NDArray[np.bool_]:
    """|rho| <= _RHO_MAX and Lee's bound (and finite: a singular face gives NaN)."""
    tol = _FEAS * d.lee
    ab = np.abs(beta)
    with np.errstate(invalid="ignore"):
        return (ab <= _RHO_MAX * b + tol) & (ab + b <= d.lee + tol)


def _linear_features(d: _Data, face: int, q_feat: Array) -> list[Array]:
    """Columns spanning the free linear parameters on the active face (with 1, x and
    Q = R - sigma)."""
    if face == 0:
        return [np.ones_like(d.x), d.x, q_feat]
    if face <= 4:
        return [np.ones_like(d.x), _EDGE_ALPHA[face - 1] * d.x + q_feat]
    return [np.ones_like(d.x)]


def _solve2(h11: float, h12: float, h22: float, g1: float, g2: float, lam: float) -> tuple[float, float]:
    """Solve (H + lam diag(H) + tiny I) step = -g for a symmetric 2x2 H."""
    tiny = 1e-14 * (h11 + h22) + 1e-300
    a11, a22 = h11 * (1.0 + lam) + tiny, h22 * (1.0 + lam) + tiny
    det = a11 * a22 - h12 * h12
    if not det > 0:
        return 0.0, 0.0
    return (-(a22 * g1 - h12 * g2) / det, -(a11 * g2 - h12 * g1) / det)


def _evaluate(d: _Data, m: Array, ls: Array) -> tuple[Array, Array, Array, Array, Array]:
    """:func:`_inner` with the SSE recomputed from the residuals (the moment formula loses
    digits near a perfect fit)."""
    sse, a, beta, b, face, big_r = _inner(d, m, ls)
    res = a[:, None] + beta[:, None] * d.x + b[:, None] * big_r - d.v
    return np.where(np.isfinite(sse), (res * res) @ d.w, np.inf), a, beta, b, face


def _refine(
    d: _Data, m: float, ls: float, state: tuple[float, float, float, float, int]
) -> tuple[float, float, tuple[float, float, float, float, int], bool]:
    """Variable-projection Gauss–Newton / Levenberg–Marquardt on (m, ln sigma).

    ``state`` is (sse, A, beta, b, face) at (m, ls). Returns the final (m, ls, state,
    converged)."""
    m_lo, m_hi = d.m_bounds
    ls_lo, ls_hi = _LS_BOUNDS
    sse, a, beta, b, face = state
    floor = _ROUNDING**2 * d.svv  # SSE of residuals at rounding level: a perfect fit
    history = [sse]
    for _ in range(_MAX_ITERATIONS):
        sig = np.exp(ls)
        xm = d.x - m
        big_r = np.sqrt(xm * xm + sig * sig)
        resid = a + beta * d.x + b * big_r - d.v
        q_feat = xm * xm / (big_r + sig)  # R - sigma
        cols = _linear_features(d, face, q_feat)
        q = len(cols)
        # d w / d m and d w / d ln sigma (the latter less b sigma, a constant, for conditioning)
        cols += [-b * xm / big_r, (-b * sig) * q_feat / big_r, resid]
        feats = np.stack(cols)
        gram = (feats * d.w) @ feats.T
        # Schur complement: Gauss–Newton Hessian and gradient with the linear part projected out
        lin = gram[:q, :q]
        cross = gram[:q, q:]
        (h11, h12, g1), (_, h22, g2), _ = (gram[q:, q:] - cross.T @ np.linalg.solve(lin, cross)).tolist()
        # coordinates at a bound with the descent pointing outwards are held
        hold_m = (m <= m_lo and g1 > 0) or (m >= m_hi and g1 < 0)
        hold_s = (ls <= ls_lo and g2 > 0) or (ls >= ls_hi and g2 < 0)
        if hold_m:
            h12, g1, h11 = 0.0, 0.0, 1.0
        if hold_s:
            h12, g2, h22 = 0.0, 0.0, 1.0
        tiny = 1e-14 * (h11 + h22) + 1e-300
        d1, d2 = _solve2(h11, h12, h22, g1, g2, 0.0)
        predicted = -(g1 * d1 + g2 * d2)  # Gauss–Newton predicted SSE decrease (SSE units)
        if predicted <= _PRED_RTOL * sse + floor:
            return m, ls, (sse, a, beta, b, face), True
        improved = False
        for trials in (_TRIALS, _TRIALS_TINY):
            steps = [(f, _solve2(h11, h12, h22, g1, g2, lam)) for lam, f in trials]
            # one-coordinate Newton steps: progress along a bound of the box or a skewed valley
            steps += [(f, (-g1 / (h11 + tiny), 0.0)) for f in (1.0, 3.0)]
            steps += [(f, (0.0, -g2 / (h22 + tiny))) for f in (1.0, 3.0)]
            m_try = np.clip(m + np.array([f * s[0] for f, s in steps]), m_lo, m_hi)
            ls_try = np.clip(ls + np.array([f * s[1] for f, s in steps]), ls_lo, ls_hi)
            sse_t, a_t, beta_t, b_t, face_t = _evaluate(d, m_try, ls_try)
            i = int(np.argmin(sse_t))
            if sse_t[i] < sse:
                improved = True
                break
        if not improved:
            # no descent even for tiny steps: stationary to rounding
            return m, ls, (sse, a, beta, b, face), predicted <= _STALL_RTOL * sse + floor
        if i > 0:
            # a damped step won: extend it along its direction (one batched line search)
            dm, dls = float(m_try[i]) - m, float(ls_try[i]) - ls
            m_ext = np.clip(m + dm * _EXTEND, m_lo, m_hi)
            ls_ext = np.clip(ls + dls * _EXTEND, ls_lo, ls_hi)
            sse_x, a_x, beta_x, b_x, face_x = _evaluate(d, m_ext, ls_ext)
            j = int(np.argmin(sse_x))
            if sse_x[j] < sse_t[i]:
                m_try, ls_try, sse_t, a_t, beta_t, b_t, face_t = (m_ext, ls_ext, sse_x, a_x, beta_x, b_x, face_x)
                i = j
        gain = sse - float(sse_t[i])
        m, ls = float(m_try[i]), float(ls_try[i])
        sse, a, beta, b, face = (
            float(sse_t[i]),
            float(a_t[i]),
            float(beta_t[i]),
            float(b_t[i]),
            int(face_t[i]),
        )
        history.append(sse)
        # objective converged: this step, or the last few together, gained almost nothing
        # (flat valleys of SVI: the parameters are ill-determined, the fit is not)
        stalled = len(history) > _WINDOW and history[-_WINDOW - 1] - sse <= _WINDOW_RTOL * sse
        if gain <= _PRED_RTOL * sse + floor or stalled:
            return m, ls, (sse, a, beta, b, face), True
    return m, ls, (sse, a, beta, b, face), False


def _to_raw(d: _Data, m: float, ls: float, a: float, beta: float, b: float) -> Array:
    """Normalised (m, ln sigma, A, beta, b) to raw (a, b, rho, m, sigma)."""
    rho = beta / b if b > 0 else 0.0
    return np.array(
        [
            d.scale * (a + beta * m),
            b * d.scale / d.span,
            min(max(rho, -1.0), 1.0),
            d.mid + d.span * m,
            d.span * np.exp(ls),
        ]
    )


def _has_arbitrage(p: Array) -> bool:
    return bool(butterfly_flags(*(np.array([x]) for x in p))[0])


def _arbitrage_free_refit(d: _Data, p0: Array, sse0: float) -> tuple[Array, bool] | None:
    """Re-fit without butterfly arbitrage by SLSQP (Kraft 1988) from the unconstrained optimum
    ``p0`` (raw parameters, normalised SSE ``sse0``).

    Variables are the normalised (a, b, rho, m, ln sigma); constraints Durrleman's
    g(k_j) >= target on a grid (data span, thinned wide grid, sigma units around m; forward
    difference Jacobian, all rows in one evaluation) and Lee's bound b(1 +- rho) <= 2. The
    grid is re-centred and the fit repeated while the butterfly check still fails. Returns
    (raw parameters, converged) or None if no arbitrage-free slice is found."""
    span, mid, scale = d.span, d.mid, d.scale
    f_scale = 1.0 / (sse0 + 1e-6 * d.svv)  # objective O(1): SLSQP tolerance ~relative
    lee = d.lee
    bounds = [(None, None), (0.0, lee), (-_RHO_MAX, _RHO_MAX), d.m_bounds, _LS_BOUNDS]
    lo = np.array([-np.inf, 0.0, -_RHO_MAX, d.m_bounds[0], _LS_BOUNDS[0]])
    hi = np.array([np.inf, lee, _RHO_MAX, d.m_bounds[1], _LS_BOUNDS[1]])

    def raw(x: Array) -> tuple[Array, ...]:
        """Rows of normalised variables to raw (a, b, rho, m, sigma) columns."""
        a_n, b_n, rho, m_n, ls = (x[..., i] for i in range(5))
        return (
            scale * a_n,
            b_n * scale / span,
            rho,
            mid + span * m_n,
            span * np.exp(ls),
        )

    def objective(x: Array) -> tuple[float, Array]:
        a_n, b_n, rho, m_n, ls = x
        s2 = np.exp(2.0 * ls)
        xm = d.x - m_n
        big_r = np.sqrt(xm * xm + s2)
        wres = d.w * (a_n + b_n * (rho * xm + big_r) - d.v)
        jac = np.stack([np.ones_like(xm), rho * xm + big_r, b_n * xm, -b_n * (rho + xm / big_r), b_n * s2 / big_r])
        return float(wres @ (a_n + b_n * (rho * xm + big_r) - d.v)) * f_scale, 2.0 * f_scale * (jac @ wres)

    def g_rows(x: Array, grid: Array) -> Array:
        a, b, rho, m, sig = (c[:, None] for c in raw(x))
        with np.errstate(invalid="ignore", divide="ignore"):
            g = raw_svi_g(grid, a, b, rho, m, sig)
        return np.where(np.isfinite(g), g - _G_TARGET, -1.0)

    x0 = np.clip(
        np.array([(p0[0]) / scale, p0[1] * span / scale, p0[2], (p0[3] - mid) / span, np.log(p0[4] / span)]),
        lo,
        hi,
    )
    steps = _FD_STEP * np.maximum(np.abs(x0), 1e-2)
    x = x0
    for _ in range(_REFIT_ROUNDS):
        m_raw, s_raw = mid + span * x[3], span * np.exp(x[4])
        grid = np.concatenate([mid + span * _G_DATA, _G_WIDE, m_raw + s_raw * _G_LOCAL])

        def constraints(x: Array, grid: Array = grid) -> Array:
            return np.concatenate([g_rows(x[None], grid)[0], [lee - x[1] * (1 + x[2]), lee - x[1] * (1 - x[2])]])

        def constraints_jac(x: Array, grid: Array = grid) -> Array:
            g = g_rows(np.vstack([x, x + np.diag(steps)]), grid)
            jac_g = ((g[1:] - g[0]) / steps[:, None]).T
            lee_jac = np.array([[0.0, -(1 + x[2]), -x[1], 0.0, 0.0], [0.0, -(1 - x[2]), x[1], 0.0, 0.0]])
            return np.vstack([jac_g, lee_jac])

        res = minimize(
            objective,
            x,
            jac=True,
            method="SLSQP",
            bounds=bounds,
            constraints=[{"type": "ineq", "fun": constraints, "jac": constraints_jac}],
            options={"maxiter": 60, "ftol": 1e-12},
        )
        if not np.all(np.isfinite(res.x)):
            return None
        x = np.clip(res.x, lo, hi)
        p = np.array([float(c) for c in raw(x)])
        if res.success and not _has_arbitrage(p):
            return p, True
    return None


def _validate(k: ArrayLike, total_variance: ArrayLike, weights: ArrayLike | None) -> tuple[Array, Array, Array]:
    kk = np.asarray(k, dtype=float).ravel()
    vv = np.asarray(total_variance, dtype=float).ravel()
    if kk.size != vv.size:
        raise ValueError(f"k ({kk.size}) and total_variance ({vv.size}) differ in length")
    wt = np.ones_like(kk) if weights is None else np.asarray(weights, dtype=float).ravel()
    if wt.size != kk.size:
        raise ValueError(f"weights ({wt.size}) and k ({kk.size}) differ in length")
    if not np.isfinite(kk.sum() + vv.sum() + wt.sum()):
        raise ValueError("k, total_variance and weights must be finite (no NaN)")
    if wt.min() < 0 or not wt.sum() > 0:
        raise ValueError("weights must be non-negative with a positive sum")
    if np.unique(kk[wt > 0]).size < 5:
        raise ValueError("k: need at least 5 distinct log-moneyness points with positive weight")
    return kk, vv, wt


def fit_svi_slice(
    k: ArrayLike,
    total_variance: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    arbitrage_free: bool = True,
) -> SVIFit:
    r"""Fit a raw SVI slice to total implied variances (quasi-explicit method).

    Minimises :math:`\sum_i w_i (\text{SVI}(k_i) - v_i)^2` over
    :math:`(a, b, \rho, m, \sigma)` subject to :math:`b \ge 0`, :math:`|\rho| < 1` and
    Lee's bound :math:`b(1+|\rho|) \le 2`. For fixed
    :math:`(m, \sigma)` the problem is linear in :math:`(a - \rho b m, \rho b, b)` and solved
    exactly (Zeliade 2009, "Quasi-explicit calibration of Gatheral's SVI model"); the outer
    problem in :math:`(m, \ln\sigma)` is a coarse grid followed by variable-projection
    Gauss–Newton steps (Golub & Pereyra 1973). With ``arbitrage_free=True`` a fit with
    butterfly arbitrage (Durrleman's :math:`g < 0`, Gatheral & Jacquier 2014) is re-fitted
    with :math:`g \ge 0` as constraints (SLSQP) whenever an arbitrage-free slice is found nearby.

    Parameters
    ----------
    k : array_like
        Log-moneyness :math:`\ln(K/F)`, at least 5 finite distinct points.
    total_variance : array_like
        Total implied variance :math:`\sigma_{BS}^2 T` at ``k``, finite.
    weights : array_like, optional
        Non-negative weights (default 1), e.g. vegas.
    arbitrage_free : bool, default True
        Re-fit without butterfly arbitrage where possible.

    Returns
    -------
    SVIFit

    Raises
    ------
    ValueError
        For mismatched lengths, fewer than 5 distinct points, NaNs, negative weights.

    Examples
    --------
    >>> kk = np.linspace(-0.5, 0.5, 21)
    >>> w = svi_total_variance(kk, 0.02, 0.1, -0.4, 0.05, 0.2)
    >>> fit = fit_svi_slice(kk, w)
    >>> round(fit.rho, 4), fit.converged
    (-0.4, True)
    """
    d = _Data(*_validate(k, total_variance, weights))
    sse, a, beta, b, face, _ = _inner(d, d.grid_m, _GRID[1])
    i = int(np.argmin(sse))
    start = (float(sse[i]), float(a[i]), float(beta[i]), float(b[i]), int(face[i]))
    m, ls, (sse_n, a_n, beta_n, b_n, _), converged = _refine(d, float(d.grid_m[i]), float(_GRID[1][i]), start)
    params = _to_raw(d, m, ls, a_n, beta_n, b_n)
    sse_raw = sse_n * d.scale**2
    arbitrage = _has_arbitrage(params)
    if arbitrage_free and arbitrage:
        refit = _arbitrage_free_refit(d, params, sse_n)
        if refit is not None:
            params, converged = refit
            arbitrage = False
            a_r, b_r, rho_r, m_r, s_r = params
            km = d.k - m_r
            resid = a_r + b_r * (rho_r * km + np.sqrt(km * km + s_r * s_r)) - d.v * d.scale
            sse_raw = float((resid * resid) @ d.w)
    a_p, b_p, rho_p, m_p, s_p = params.tolist()
    return SVIFit(
        a_p,
        b_p,
        rho_p,
        m_p,
        s_p,
        float(np.sqrt(max(sse_raw, 0.0) / d.sw)),
        bool(converged and np.isfinite(sse_raw)),
        arbitrage,
    )
