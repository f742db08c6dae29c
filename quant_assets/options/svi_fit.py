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

Batches. :func:`fit_svi_slices` runs the grid, the polish and the arbitrage check as array
operations over a leading slice axis (slices padded to a common length with zero weights,
converged slices leaving the polish), which amortizes NumPy's per-call overhead; a batch of
one (:func:`fit_svi_slice`) takes the same steps in scalar arithmetic. Only the re-fit below
runs slice by slice.

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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize

from quant_assets.options.arbitrage import DEFAULT_K_GRID, butterfly_flags
from quant_assets.options.svi import raw_svi_g, svi_total_variance

__all__ = ["SVIFit", "fit_svi_slice", "fit_svi_slices"]

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
_EDGE_ALPHA_COL, _EDGE_GAMMA_COL = _EDGE_ALPHA[:, None], _EDGE_GAMMA[:, None]
_EDGE_ALPHA_SQ, _EDGE_ALPHA_2 = _EDGE_ALPHA_COL * _EDGE_ALPHA_COL, 2.0 * _EDGE_ALPHA_COL
_VERTEX_BETA_COL, _VERTEX_B_COL = _VERTEX_BETA[:, None], _VERTEX_B[:, None]

_MAX_ITERATIONS = 50
_BATCH = 64  # slices per batch of fit_svi_slices
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


class _Slices:
    """A batch of normalised slices, padded to a common length with zero weights (a padded
    point repeats the slice's last point, so extremes are unchanged): x = (k - mean)/span
    (weighted mean, so sum(w x) = 0), v / max|v|, the weighted moments, and the box for m in
    x units (one data span beyond the data). Arrays are (B, N); per-slice scalars (B, 1)."""

    def __init__(self, k: Array, v: Array, wt: Array, n: NDArray[np.intp]) -> None:
        k_lo, k_hi = k.min(axis=1, keepdims=True), k.max(axis=1, keepdims=True)
        self.n = n
        self.sw = wt.sum(axis=1, keepdims=True)
        self.mid = (wt * k).sum(axis=1, keepdims=True) / self.sw
        self.span = k_hi - k_lo
        scale = np.abs(v).max(axis=1, keepdims=True)
        self.scale = np.where(scale > 0, scale, 1.0)
        self.k, self.w = k, wt
        self.x = x = (k - self.mid) / self.span
        self.v = v = v / self.scale
        wx, wv = wt * x, wt * v
        self.moments = np.stack([wt, wx, wv], axis=2)  # Q @ moments -> sums of w Q, w x Q, w v Q
        self.sxx = (wx * x).sum(axis=1, keepdims=True)
        self.sv = wv.sum(axis=1, keepdims=True)
        self.sxv = (wx * v).sum(axis=1, keepdims=True)
        self.svv = (wv * v).sum(axis=1, keepdims=True)
        self.cv0, self.cv1 = self.sv / self.sw, self.sxv / self.sxx  # v on span{1, x}
        self.svv_perp = self.svv - self.sv * self.cv0 - self.sxv * self.cv1
        self.lee = _LEE * self.span / self.scale  # Lee's bound on b in normalised units
        lo = (k_lo - self.mid) / self.span
        self.m_lo, self.m_hi = lo - 1.0, lo + 2.0
        self.grid_m = lo + _GRID[0]

    def take(self, rows: NDArray[np.intp]) -> _Slices:
        """The sub-batch of ``rows``."""
        sub = object.__new__(_Slices)
        sub.__dict__.update({name: value[rows] for name, value in self.__dict__.items()})
        return sub

    def one(self, j: int) -> _Slice:
        """Slice ``j`` without its padding, per-slice values as floats."""
        n = int(self.n[j])
        return _Slice(
            k=self.k[j, :n],
            v=self.v[j, :n],
            w=self.w[j, :n],
            x=self.x[j, :n],
            mid=float(self.mid[j, 0]),
            span=float(self.span[j, 0]),
            scale=float(self.scale[j, 0]),
            sw=float(self.sw[j, 0]),
            sv=float(self.sv[j, 0]),
            svv=float(self.svv[j, 0]),
            lee=float(self.lee[j, 0]),
            m_bounds=(float(self.m_lo[j, 0]), float(self.m_hi[j, 0])),
            grid_m=self.grid_m[j],
        )


@dataclass(frozen=True)
class _Slice:
    """One normalised slice of :class:`_Slices` (for the per-slice arbitrage-free re-fit)."""

    k: Array
    v: Array
    w: Array
    x: Array
    mid: float
    span: float
    scale: float
    sw: float
    sv: float
    svv: float
    lee: float
    m_bounds: tuple[float, float]
    grid_m: Array


def _inner(d: _Slices, m: Array, ls: Array) -> tuple[Array, Array, Array, Array, Array, Array]:
    """Exact constrained linear fit for each candidate (m, ln sigma), both (B, C).

    The third feature is Q = R - sigma = (x - m)^2 / (R + sigma) (same span with 1, better
    conditioned); the interior optimum is the regression of v on Q after projecting both
    orthogonally to span{1, x}. Returns the SSE (from the moments), A, beta, b (for
    ``A + beta x + b R``), the active face (0 interior, 1–4 edges, 5–8 vertices), all (B, C),
    and R (B, C, N). Infeasible face points (outside the square, or singular) get an infinite
    SSE. The faces replace the interior point only where it is infeasible. Called under the
    error state of :func:`_fit`.
    """
    s = np.exp(ls)
    xm = d.x[:, None, :] - m[:, :, None]
    xm2 = xm * xm
    big_r = np.sqrt(xm2 + (s * s)[:, :, None])
    q = xm2 / (big_r + s[:, :, None])
    mom = q @ d.moments
    sq, sxq, svq = mom[..., 0], mom[..., 1], mom[..., 2]
    sqq = ((q * q) @ d.w[:, :, None])[..., 0]
    sw, sxx = d.sw, d.sxx
    qx = sxq / sxx
    den = sqq - sq * sq / sw - sxq * qx
    num = svq - sq * d.cv0 - sxq * d.cv1
    b_f = num / den
    a_f = d.cv0 - b_f * (sq / sw)  # A' (coefficient of 1 with feature Q)
    beta_f = d.cv1 - b_f * qx
    sse_f = d.svv_perp - num * b_f
    ok = _feasible(d.lee, beta_f, b_f)
    sse_f = np.where(ok, sse_f, np.inf)
    face = np.zeros(m.shape, dtype=np.intp)
    if not ok.all():
        # faces only for the candidates whose interior point is infeasible
        at = np.nonzero(~ok)
        sse_e, a_e, beta_e, b_e, face_e = _faces(d, at[0], sq[at], sxq[at], svq[at], sqq[at])
        better = sse_e < sse_f[at]
        at = (at[0][better], at[1][better])
        sse_f[at], a_f[at], beta_f[at], b_f[at], face[at] = (
            sse_e[better],
            a_e[better],
            beta_e[better],
            b_e[better],
            face_e[better],
        )
    return sse_f, a_f - b_f * s, beta_f, b_f, face, big_r


def _faces(
    d: _Slices, rows: NDArray[np.intp], sq: Array, sxq: Array, svq: Array, sqq: Array
) -> tuple[Array, Array, Array, Array, Array]:
    """Best feasible stationary point on the 4 edges and 4 vertices of the (beta, b) square
    from the moments of Q of candidates (1-d) of the slices ``rows``; returns (sse, A', beta,
    b, face 1–8)."""
    if d.n.size == 1:  # one slice: its moments as floats (the same values, broadcast)
        sw, sxx, sv, sxv, lee, svv = (float(c[0, 0]) for c in (d.sw, d.sxx, d.sv, d.sxv, d.lee, d.svv))
    else:
        sw, sxx, sv, sxv, lee, svv = (c[rows, 0] for c in (d.sw, d.sxx, d.sv, d.sxv, d.lee, d.svv))
    # edges beta = alpha b + gamma: unknowns (A', b), feature alpha x + Q, target v - gamma x
    al, ga = _EDGE_ALPHA_COL, _EDGE_GAMMA_COL * lee
    q22 = _EDGE_ALPHA_SQ * sxx + _EDGE_ALPHA_2 * sxq + sqq
    t2 = al * sxv + svq - ga * (al * sxx + sxq)
    det2 = sw * q22 - sq * sq
    b_edge = (sw * t2 - sq * sv) / det2
    vb = _VERTEX_B_COL * lee
    # (A', beta, b) of the 4 edges then the 4 vertices
    coef = np.empty((3, 8, rows.size))
    coef[0, :4] = (sv * q22 - t2 * sq) / det2
    coef[0, 4:] = (sv - vb * sq) / sw
    coef[1, :4] = al * b_edge + ga
    coef[1, 4:] = _VERTEX_BETA_COL * lee
    coef[2, :4] = b_edge
    coef[2, 4:] = vb
    a_e, beta_e, b_e = coef
    sse_e = (
        a_e * (a_e * sw + 2.0 * (b_e * sq - sv))
        + beta_e * (beta_e * sxx + 2.0 * (b_e * sxq - sxv))
        + b_e * (b_e * sqq - 2.0 * svq)
        + svv
    )
    ok = _feasible(lee, beta_e, b_e)
    sse_e = np.where(ok, sse_e, np.inf)
    face = np.argmin(sse_e, axis=0)
    cols = np.arange(rows.size)
    a_f, beta_f, b_f = coef[:, face, cols]
    return sse_e[face, cols], a_f, beta_f, b_f, face + 1


def _feasible(lee: Array, beta: Array, b: Array) -> NDArray[np.bool_]:
    """|rho| <= _RHO_MAX and Lee's bound (and finite: a singular face gives NaN)."""
    tol = _FEAS * lee
    ab = np.abs(beta)
    return (ab <= _RHO_MAX * b + tol) & (ab + b <= lee + tol)


def _solve2(h11: Array, h12: Array, h22: Array, g1: Array, g2: Array, lam: Array) -> tuple[Array, Array]:
    """Solve (H + lam diag(H) + tiny I) step = -g for symmetric 2x2 H (broadcast arrays);
    a zero step where the damped matrix is not positive definite."""
    tiny = 1e-14 * (h11 + h22) + 1e-300
    a11, a22 = h11 * (1.0 + lam) + tiny, h22 * (1.0 + lam) + tiny
    det = a11 * a22 - h12 * h12
    pd = det > 0
    det = np.where(pd, det, 1.0)
    return np.where(pd, -(a22 * g1 - h12 * g2) / det, 0.0), np.where(pd, -(a11 * g2 - h12 * g1) / det, 0.0)


def _solve2_undamped(h11: float, h12: float, h22: float, g1: float, g2: float) -> tuple[float, float]:
    """:func:`_solve2` with ``lam = 0`` on floats (the same operations, the same results)."""
    tiny = 1e-14 * (h11 + h22) + 1e-300
    a11, a22 = h11 + tiny, h22 + tiny
    det = a11 * a22 - h12 * h12
    if not det > 0:
        return 0.0, 0.0
    return -(a22 * g1 - h12 * g2) / det, -(a11 * g2 - h12 * g1) / det


def _evaluate(d: _Slices, m: Array, ls: Array) -> tuple[Array, Array, Array, Array, Array]:
    """:func:`_inner` with the SSE recomputed from the residuals (the moment formula loses
    digits near a perfect fit)."""
    sse, a, beta, b, face, big_r = _inner(d, m, ls)
    res = a[..., None] + beta[..., None] * d.x[:, None, :] + b[..., None] * big_r - d.v[:, None, :]
    sse_r = ((res * res) @ d.w[:, :, None])[..., 0]
    return np.where(np.isfinite(sse), sse_r, np.inf), a, beta, b, face


# Trial steps of one polish iteration, as (damping, multiple) arrays: the damped steps, then
# the one-coordinate Newton steps (m only at multiples 1, 3, ln sigma only at 1, 3), then the
# tiny steps tried only when none of the others descends.
_LAM = np.array([lam for lam, _ in _TRIALS + _TRIALS_TINY])
_MULT = np.array([f for _, f in _TRIALS + _TRIALS_TINY])
_N_MAIN = len(_TRIALS) + 4  # damped and one-coordinate steps of the first round
_EDGE_ALPHA_BY_FACE = np.concatenate([[0.0], _EDGE_ALPHA, np.zeros(4)])


def _polish_step(
    d: _Slices, state: tuple[Array, ...]
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], tuple[Array, ...], Array]:
    """One variable-projection Gauss–Newton / Levenberg–Marquardt iteration on (m, ln sigma)
    for every slice of ``d``; ``state`` is (m, ls, sse, A, beta, b, face), each (B,).

    The Jacobian columns in (m, ln sigma) are projected orthogonally to the linear features of
    each slice's active face (Schur complement of their Gram matrix; features a face does not
    use are zero columns with a unit diagonal). Returns (stopped, converged, new state, gain):
    ``stopped`` where the predicted decrease is negligible or no trial step descends, the
    state unchanged there."""
    m, ls, sse, a, beta, b, face = state
    floor = _ROUNDING**2 * d.svv[:, 0]  # SSE of residuals at rounding level: a perfect fit
    sig = np.exp(ls)
    xm = d.x - m[:, None]
    big_r = np.sqrt(xm * xm + (sig * sig)[:, None])
    resid = a[:, None] + beta[:, None] * d.x + b[:, None] * big_r - d.v
    q_feat = xm * xm / (big_r + sig[:, None])  # R - sigma
    interior, edge = (face == 0)[:, None], ((face >= 1) & (face <= 4))[:, None]
    zeros = np.zeros_like(d.x)
    col1 = np.where(interior, d.x, np.where(edge, _EDGE_ALPHA_BY_FACE[face][:, None] * d.x + q_feat, zeros))
    col2 = np.where(interior, q_feat, zeros)
    # d w / d m and d w / d ln sigma (the latter less b sigma, a constant, for conditioning)
    nb = -b[:, None]
    feats = np.stack([np.ones_like(d.x), col1, col2, nb * xm / big_r, (nb * sig[:, None]) * q_feat / big_r, resid], 1)
    gram = (feats * d.w[:, None, :]) @ feats.transpose(0, 2, 1)
    lin = gram[:, :3, :3].copy()
    lin[:, 1, 1] += face > 4
    lin[:, 2, 2] += face != 0
    cross = gram[:, :3, 3:]
    schur = gram[:, 3:, 3:] - cross.transpose(0, 2, 1) @ np.linalg.solve(lin, cross)
    h11, h12, g1, h22, g2 = schur[:, 0, 0], schur[:, 0, 1], schur[:, 0, 2], schur[:, 1, 1], schur[:, 1, 2]
    # coordinates at a bound with the descent pointing outwards are held
    m_lo, m_hi = d.m_lo[:, 0], d.m_hi[:, 0]
    ls_lo, ls_hi = _LS_BOUNDS
    hold_m = ((m <= m_lo) & (g1 > 0)) | ((m >= m_hi) & (g1 < 0))
    hold_s = ((ls <= ls_lo) & (g2 > 0)) | ((ls >= ls_hi) & (g2 < 0))
    h12 = np.where(hold_m | hold_s, 0.0, h12)
    g1, h11 = np.where(hold_m, 0.0, g1), np.where(hold_m, 1.0, h11)
    g2, h22 = np.where(hold_s, 0.0, g2), np.where(hold_s, 1.0, h22)
    tiny = 1e-14 * (h11 + h22) + 1e-300
    d1, d2 = _solve2(h11, h12, h22, g1, g2, 0.0)
    predicted = -(g1 * d1 + g2 * d2)  # Gauss–Newton predicted SSE decrease (SSE units)
    small = predicted <= _PRED_RTOL * sse + floor
    # all trial steps at once: damped ones, one-coordinate Newton steps, tiny damped ones
    dm, dls = _solve2(*(c[:, None] for c in (h11, h12, h22, g1, g2)), _LAM)
    dm, dls = dm * _MULT, dls * _MULT
    nt = len(_TRIALS)
    one_m, one_s = (-g1 / (h11 + tiny))[:, None], (-g2 / (h22 + tiny))[:, None]
    z = np.zeros((m.size, 2))
    step_m = np.concatenate([dm[:, :nt], one_m * [1.0, 3.0], z, dm[:, nt:]], 1)
    step_s = np.concatenate([dls[:, :nt], z, one_s * [1.0, 3.0], dls[:, nt:]], 1)
    m_try = np.clip(m[:, None] + step_m, m_lo[:, None], m_hi[:, None])
    ls_try = np.clip(ls[:, None] + step_s, ls_lo, ls_hi)
    sse_t, a_t, beta_t, b_t, face_t = _evaluate(d, m_try, ls_try)
    # first round: damped and one-coordinate steps; else the tiny ones
    i_main = np.argmin(sse_t[:, :_N_MAIN], axis=1)
    i_tiny = _N_MAIN + np.argmin(sse_t[:, _N_MAIN:], axis=1)
    rows = np.arange(m.size)
    main_ok = sse_t[rows, i_main] < sse
    i = np.where(main_ok, i_main, i_tiny)
    improved = sse_t[rows, i] < sse
    stopped = small | ~improved
    converged = small | (predicted <= _STALL_RTOL * sse + floor)
    # a damped step that is not its round's first won: extend it along its direction
    ext = np.flatnonzero(~stopped & (i != 0) & (i != _N_MAIN))
    pick = [c[rows, i] for c in (m_try, ls_try, sse_t, a_t, beta_t, b_t, face_t)]
    if ext.size:
        dm_e = pick[0][ext] - m[ext]
        dls_e = pick[1][ext] - ls[ext]
        m_ext = np.clip(m[ext, None] + dm_e[:, None] * _EXTEND, m_lo[ext, None], m_hi[ext, None])
        ls_ext = np.clip(ls[ext, None] + dls_e[:, None] * _EXTEND, ls_lo, ls_hi)
        out = _evaluate(d if ext.size == m.size else d.take(ext), m_ext, ls_ext)
        j = np.argmin(out[0], axis=1)
        r = np.arange(ext.size)
        use = out[0][r, j] < pick[2][ext]
        for c, new in zip(pick, (m_ext, ls_ext, *out)):
            c[ext[use]] = new[r, j][use]
    new_state = (
        tuple(pick) if not stopped.any() else tuple(np.where(stopped, old, new) for old, new in zip(state, pick))
    )
    return stopped, converged & stopped, new_state, sse - new_state[2]


def _polish(d: _Slices, state: tuple[Array, ...]) -> tuple[tuple[Array, ...], NDArray[np.bool_]]:
    """Polish every slice of ``d`` from ``state`` (:func:`_polish_step`) until it stops, gains
    less than 1e-10 relative in a step or 1e-9 relative over five steps (SVI's flat valleys:
    the parameters are ill-determined there, the fit is not); converged slices drop out of the
    batch. Returns the final state and the converged flags."""
    if d.n.size == 1:
        return _polish_one(d, state)
    state = tuple(np.array(c) for c in state)
    converged = np.zeros(d.n.size, dtype=bool)
    floor = _ROUNDING**2 * d.svv[:, 0]
    history = [state[2].copy()]  # SSE per step of the slices still running
    active = np.arange(d.n.size)
    sub = d
    for _ in range(_MAX_ITERATIONS):
        stopped, conv, new, gain = _polish_step(sub, tuple(c[active] for c in state))
        for c, v in zip(state, new):
            c[active] = v
        sse = new[2]
        history.append(state[2].copy())
        stalled = np.zeros(active.size, dtype=bool)
        if len(history) > _WINDOW:
            stalled = history[-_WINDOW - 1][active] - sse <= _WINDOW_RTOL * sse
        done = stopped | (gain <= _PRED_RTOL * sse + floor[active]) | stalled
        converged[active] = np.where(stopped, conv, done)
        if done.all():
            return state, converged
        if done.any():
            keep = ~done
            active = active[keep]
            sub = sub.take(np.flatnonzero(keep))
    return state, converged


def _polish_one(d: _Slices, state: tuple[Array, ...]) -> tuple[tuple[Array, ...], NDArray[np.bool_]]:
    """:func:`_polish` for a batch of one slice with scalar arithmetic (a numpy call on a
    batch of one costs as much as on a batch of a hundred): the same steps in the same order,
    the iteration of :func:`_polish_step` unrolled on floats."""
    m, ls, sse, a, beta, b = (float(c[0]) for c in state[:6])
    face = int(state[6][0])
    m_lo, m_hi = float(d.m_lo[0, 0]), float(d.m_hi[0, 0])
    ls_lo, ls_hi = _LS_BOUNDS
    x, v, w = d.x[0], d.v[0], d.w[0]
    floor = _ROUNDING**2 * float(d.svv[0, 0])
    history = [sse]
    converged = False
    ones = np.ones_like(x)
    for _ in range(_MAX_ITERATIONS):
        sig = np.exp(ls)
        xm = x - m
        big_r = np.sqrt(xm * xm + sig * sig)
        resid = a + beta * x + b * big_r - v
        q_feat = xm * xm / (big_r + sig)  # R - sigma
        if face == 0:
            cols = [ones, x, q_feat]
        elif face <= 4:
            cols = [ones, _EDGE_ALPHA_BY_FACE[face] * x + q_feat]
        else:
            cols = [ones]
        n_lin = len(cols)
        cols += [-b * xm / big_r, (-b * sig) * q_feat / big_r, resid]
        feats = np.stack(cols)
        gram = (feats * w) @ feats.T
        cross = gram[:n_lin, n_lin:]
        schur = gram[n_lin:, n_lin:] - cross.T @ np.linalg.solve(gram[:n_lin, :n_lin], cross)
        (h11, h12, g1), (_, h22, g2), _ = schur.tolist()
        hold_m = (m <= m_lo and g1 > 0) or (m >= m_hi and g1 < 0)
        hold_s = (ls <= ls_lo and g2 > 0) or (ls >= ls_hi and g2 < 0)
        if hold_m or hold_s:
            h12 = 0.0
        if hold_m:
            g1, h11 = 0.0, 1.0
        if hold_s:
            g2, h22 = 0.0, 1.0
        tiny = 1e-14 * (h11 + h22) + 1e-300
        d1, d2 = _solve2_undamped(h11, h12, h22, g1, g2)
        predicted = -(g1 * d1 + g2 * d2)
        if predicted <= _PRED_RTOL * sse + floor:
            converged = True
            break
        dm, dls = _solve2(h11, h12, h22, g1, g2, _LAM)
        one_m, one_s = -g1 / (h11 + tiny), -g2 / (h22 + tiny)
        nt = len(_TRIALS)
        step_m = np.concatenate([dm[:nt] * _MULT[:nt], [one_m, 3.0 * one_m, 0.0, 0.0], dm[nt:] * _MULT[nt:]])
        step_s = np.concatenate([dls[:nt] * _MULT[:nt], [0.0, 0.0, one_s, 3.0 * one_s], dls[nt:] * _MULT[nt:]])
        m_try = np.minimum(np.maximum(m + step_m, m_lo), m_hi)  # np.clip, without its overhead
        ls_try = np.minimum(np.maximum(ls + step_s, ls_lo), ls_hi)
        sse_t, a_t, beta_t, b_t, face_t = (c[0] for c in _evaluate(d, m_try[None], ls_try[None]))
        i = int(np.argmin(sse_t[:_N_MAIN]))
        if not sse_t[i] < sse:
            i = _N_MAIN + int(np.argmin(sse_t[_N_MAIN:]))
        if not sse_t[i] < sse:
            converged = predicted <= _STALL_RTOL * sse + floor
            break
        if i not in (0, _N_MAIN):
            m_ext = np.minimum(np.maximum(m + (float(m_try[i]) - m) * _EXTEND, m_lo), m_hi)
            ls_ext = np.minimum(np.maximum(ls + (float(ls_try[i]) - ls) * _EXTEND, ls_lo), ls_hi)
            sse_x, a_x, beta_x, b_x, face_x = (c[0] for c in _evaluate(d, m_ext[None], ls_ext[None]))
            j = int(np.argmin(sse_x))
            if sse_x[j] < sse_t[i]:
                m_try, ls_try, sse_t, a_t, beta_t, b_t, face_t = (m_ext, ls_ext, sse_x, a_x, beta_x, b_x, face_x)
                i = j
        gain = sse - float(sse_t[i])
        m, ls, sse = float(m_try[i]), float(ls_try[i]), float(sse_t[i])
        a, beta, b, face = float(a_t[i]), float(beta_t[i]), float(b_t[i]), int(face_t[i])
        history.append(sse)
        stalled = len(history) > _WINDOW and history[-_WINDOW - 1] - sse <= _WINDOW_RTOL * sse
        if gain <= _PRED_RTOL * sse + floor or stalled:
            converged = True
            break
    out = tuple(np.array([c]) for c in (m, ls, sse, a, beta, b))
    return (*out, np.array([face])), np.array([converged])


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


def _to_raw(d: _Slices, m: Array, ls: Array, a: Array, beta: Array, b: Array) -> Array:
    """Normalised (m, ln sigma, A, beta, b), each (B,), to raw (a, b, rho, m, sigma), (B, 5)."""
    rho = np.where(b > 0, beta / np.where(b > 0, b, 1.0), 0.0)
    scale, span = d.scale[:, 0], d.span[:, 0]
    return np.stack(
        [scale * (a + beta * m), b * scale / span, np.clip(rho, -1.0, 1.0), d.mid[:, 0] + span * m, span * np.exp(ls)],
        axis=1,
    )


def _validated(
    ks: Sequence[ArrayLike],
    total_variances: Sequence[ArrayLike],
    weights: Sequence[ArrayLike | None] | None,
    named: bool,
) -> tuple[Array, Array, Array, NDArray[np.intp]]:
    """Validate ragged slices and pad them to a common length by repeating each slice's last
    point with zero weight; returns (k, total variance, weights), each (B, N), and the
    lengths. Errors name the slice index when ``named``."""

    def where(j: int) -> str:
        return f"slice {j}: " if named else ""

    if len(ks) != len(total_variances):
        raise ValueError(f"ks ({len(ks)}) and total_variances ({len(total_variances)}) differ in length")
    if weights is not None and len(weights) != len(ks):
        raise ValueError(f"weights ({len(weights)}) and ks ({len(ks)}) differ in length")
    if len(ks) == 0:
        raise ValueError("ks: need at least one slice")
    rows = []
    for j, (k, v) in enumerate(zip(ks, total_variances)):
        kk = np.asarray(k, dtype=float).ravel()
        vv = np.asarray(v, dtype=float).ravel()
        if kk.size != vv.size:
            raise ValueError(f"{where(j)}k ({kk.size}) and total_variance ({vv.size}) differ in length")
        wj = None if weights is None else weights[j]
        ww = np.ones_like(kk) if wj is None else np.asarray(wj, dtype=float).ravel()
        if ww.size != kk.size:
            raise ValueError(f"{where(j)}weights ({ww.size}) and k ({kk.size}) differ in length")
        rows.append((kk, vv, ww))
    n = np.array([r[0].size for r in rows], dtype=np.intp)
    size = int(n.max())
    if len(rows) == 1:
        k, v, wt = (c[None, :] for c in rows[0])
    else:
        # pad by repeating each slice's last point with zero weight
        k, v, wt = (np.empty((n.size, size)) for _ in range(3))
        for j, (kk, vv, ww) in enumerate(rows):
            k[j, : kk.size], k[j, kk.size :] = kk, kk[-1]
            v[j, : kk.size], v[j, kk.size :] = vv, vv[-1]
            wt[j, : kk.size], wt[j, kk.size :] = ww, 0.0
    bad = ~np.isfinite(k.sum(1) + v.sum(1) + wt.sum(1))
    if bad.any():
        raise ValueError(f"{where(int(np.argmax(bad)))}k, total_variance and weights must be finite (no NaN)")
    bad = (wt.min(1) < 0) | ~(wt.sum(1) > 0)
    if bad.any():
        raise ValueError(f"{where(int(np.argmax(bad)))}weights must be non-negative with a positive sum")
    ks_sorted = np.sort(np.where(wt > 0, k, np.inf), axis=1)
    with np.errstate(invalid="ignore"):  # inf - inf between zero-weight points
        distinct = 1 + (np.diff(ks_sorted, axis=1) > 0).sum(1) - (ks_sorted[:, -1] == np.inf)
    bad = distinct < 5
    if bad.any():
        raise ValueError(
            f"{where(int(np.argmax(bad)))}k: need at least 5 distinct log-moneyness points with positive weight"
        )
    return k, v, wt, n


def _fit(d: _Slices, arbitrage_free: bool) -> list[SVIFit]:
    """The fit of every slice of ``d``: grid, polish, arbitrage check (batched over slices),
    arbitrage-free re-fit (per flagged slice). Floating-point warnings are silenced here once
    for all the helpers (infeasible or singular candidates give inf or NaN by design)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _fit_quiet(d, arbitrage_free)


def _fit_quiet(d: _Slices, arbitrage_free: bool) -> list[SVIFit]:
    """:func:`_fit` under its error state."""
    n_slices = d.n.size
    grid_ls = np.broadcast_to(_GRID[1], d.grid_m.shape)
    sse, a, beta, b, face, _ = _inner(d, d.grid_m, grid_ls)
    i = np.argmin(sse, axis=1)
    rows = np.arange(n_slices)
    start = (d.grid_m[rows, i], grid_ls[rows, i], sse[rows, i], a[rows, i], beta[rows, i], b[rows, i], face[rows, i])
    (m_n, ls_n, sse_n, a_n, beta_n, b_n, _), converged = _polish(d, start)
    params = _to_raw(d, m_n, ls_n, a_n, beta_n, b_n)
    sse_raw = sse_n * d.scale[:, 0] ** 2
    arbitrage = butterfly_flags(*params.T)
    fits = []
    for j in range(n_slices):
        p, conv, sse_j, arb = params[j], bool(converged[j]), float(sse_raw[j]), bool(arbitrage[j])
        if arbitrage_free and arb:
            dj = d.one(j)
            refit = _arbitrage_free_refit(dj, p, float(sse_n[j]), (sse[j], a[j], beta[j], b[j]))
            if refit is not None:
                p, conv = refit
                arb = False
                a_r, b_r, rho_r, m_r, s_r = p
                km = dj.k - m_r
                resid = a_r + b_r * (rho_r * km + np.sqrt(km * km + s_r * s_r)) - dj.v * dj.scale
                sse_j = float((resid * resid) @ dj.w)
        a_p, b_p, rho_p, m_p, s_p = p.tolist()
        rmse = float(np.sqrt(max(sse_j, 0.0) / float(d.sw[j, 0])))
        fits.append(SVIFit(a_p, b_p, rho_p, m_p, s_p, rmse, conv and bool(np.isfinite(sse_j)), arb))
    return fits


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
    of the unconstrained one. To fit many slices, :func:`fit_svi_slices` runs the same
    algorithm batched across slices, several times faster per slice.

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
    k_, v_, w_, n_ = _validated([k], [total_variance], None if weights is None else [weights], False)
    return _fit(_Slices(k_, v_, w_, n_), arbitrage_free)[0]


def fit_svi_slices(
    ks: Sequence[ArrayLike],
    total_variances: Sequence[ArrayLike],
    weights: Sequence[ArrayLike | None] | None = None,
    *,
    arbitrage_free: bool = True,
) -> list[SVIFit]:
    r"""Fit raw SVI slices to many smiles at once: :func:`fit_svi_slice` on each, batched.

    The same algorithm as :func:`fit_svi_slice` (Zeliade 2009 quasi-explicit inner solve over
    an :math:`(m, \ln\sigma)` grid, variable-projection Gauss–Newton polish, Golub & Pereyra
    1973) runs as array operations over a leading slice axis: slices are sorted by length,
    grouped in batches of up to 64, padded to the batch's longest slice with zero-weight
    points, and a slice leaves the polish once it has converged. Only the arbitrage-free
    re-fit (SLSQP, for the slices whose fit has butterfly arbitrage) runs slice by slice.
    Results equal the single-slice fits up to floating-point summation order.

    Parameters
    ----------
    ks : sequence of array_like
        Log-moneyness of each slice (lengths may differ), at least 5 finite distinct points
        each.
    total_variances : sequence of array_like
        Total implied variance of each slice, the same length as its ``ks`` entry.
    weights : sequence of array_like or None, optional
        Non-negative weights per slice (default 1; an entry may be None).
    arbitrage_free : bool, default True
        Re-fit without butterfly arbitrage where possible.

    Returns
    -------
    list of SVIFit
        One fit per slice, in input order.

    Raises
    ------
    ValueError
        As :func:`fit_svi_slice`, naming the index of the offending slice; also for
        ``ks``, ``total_variances`` and ``weights`` with different numbers of slices.

    Examples
    --------
    >>> kk = np.linspace(-0.5, 0.5, 21)
    >>> smiles = [svi_total_variance(kk, 0.02, 0.1, rho, 0.05, 0.2) for rho in (-0.4, -0.2)]
    >>> [round(f.rho, 4) for f in fit_svi_slices([kk, kk], smiles)]
    [-0.4, -0.2]
    """
    k, v, wt, n = _validated(ks, total_variances, weights, True)
    order = np.argsort(n, kind="stable")
    fits: dict[int, SVIFit] = {}
    for start in range(0, order.size, _BATCH):
        rows = order[start : start + _BATCH]
        size = int(n[rows].max())
        batch = _Slices(k[rows, :size], v[rows, :size], wt[rows, :size], n[rows])
        fits.update(zip(rows.tolist(), _fit(batch, arbitrage_free)))
    return [fits[j] for j in range(n.size)]
