r"""Inner solve of the SVI fit: the exact constrained linear least squares for fixed
:math:`(m, \sigma)`.

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
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from quant_assets.options._svi_slices import _Slices

Array = NDArray[np.float64]

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
