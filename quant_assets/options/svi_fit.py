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

Butterfly arbitrage. If the fit has Durrleman's :math:`g < 0` somewhere or :math:`w \le 0`
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
        1e-9 relative over five steps. For the arbitrage-free re-fit: SLSQP stopped on its
        tolerance or with a line search that cannot reduce the objective further (False if it
        hit its iteration limit, or if the flattened fallback was returned).
    butterfly_arbitrage : bool
        The returned slice has butterfly arbitrage (on :data:`DEFAULT_K_GRID` or by Lee's
        bound). With ``arbitrage_free=True`` this happens only when no arbitrage-free
        slice was found (e.g. data whose mean level is not positive).
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

    def __init__(self, d: _Data) -> None:
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


def _flattened(d: _Data, x0: Array, refit: _Refit) -> Array | None:
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


def _grid_start(d: _Data, refit: _Refit, grid_fit: tuple[Array, ...]) -> Array | None:
    """Best arbitrage-free candidate of the outer (m, sigma) grid from its exact inner fits
    ``grid_fit`` = (sse, A, beta, b) (:func:`_best_arbitrage_free`)."""
    sse, a, beta, b = grid_fit
    m_n = d.grid_m
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(b > 0, beta / b, 0.0)
    cand = np.stack([a + beta * m_n, b, np.clip(rho, -_RHO_MAX, _RHO_MAX), m_n, _GRID[1]], axis=1)
    return _best_arbitrage_free(refit, cand, sse)


def _arbitrage_free_refit(d: _Data, p0: Array, sse0: float, grid_fit: tuple[Array, ...]) -> tuple[Array, bool] | None:
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
    butterfly arbitrage (Durrleman's :math:`g < 0` or :math:`w \le 0`, Gatheral & Jacquier
    2014) is re-fitted with :math:`g \ge 0` as constraints (SLSQP from several starting points,
    see the module notes), never returning a worse fit than a flattened arbitrage-free version
    of the unconstrained one.

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
        refit = _arbitrage_free_refit(d, params, sse_n, (sse, a, beta, b))
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
