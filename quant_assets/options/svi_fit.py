r"""Calibration of a raw SVI slice by the quasi-explicit method.

Zeliade Systems (2009), "Quasi-explicit calibration of Gatheral's SVI model" (De Marco &
Martini): with :math:`y = (k - m)/\sigma` the raw SVI total variance is linear in
:math:`(a, d, c) = (a, \rho b\sigma, b\sigma)`,

.. math:: w = a + d\,y + c\sqrt{y^2 + 1},

so for fixed :math:`(m, \sigma)` the weighted least-squares problem is a 3-variable convex
quadratic programme. Its constraints here are :math:`0 \le c`, :math:`|d| \le c` (i.e.
:math:`|\rho| \le 1`) and :math:`|d| \le 2\sigma - c` (Lee's moment bound
:math:`b(1+|\rho|) \le 2`, Lee 2004), a square in :math:`(d, c)`. The minimum is the best
feasible stationary point over the interior, the four edges and the four vertices, all solved
in closed form and vectorised across many :math:`(m, \sigma)` candidates at once.

The outer problem in :math:`(m, \ln\sigma)` is solved by a coarse grid followed by 3×3
stencils around the incumbent whose quadratic model proposes a Newton point; once in the basin,
a projected Levenberg–Marquardt iteration on the five raw parameters (analytic Jacobian,
bounds handled by an active set) converges the fit, also along the flat valleys typical of SVI.

If the result has butterfly arbitrage (Durrleman's :math:`g < 0`, Gatheral & Jacquier 2014)
and an arbitrage-free fit is requested, the outer search is repeated over candidates whose
slice passes a butterfly screen, and its best slice is polished by a local five-parameter least
squares with Durrleman's condition as penalty residuals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import least_squares

from quant_assets.options.arbitrage import DEFAULT_K_GRID, butterfly_flags
from quant_assets.options.svi import raw_svi_g, svi_total_variance

__all__ = ["SVIFit", "fit_svi_slice"]

Array = NDArray[np.float64]

_COARSE_M = 15
_COARSE_S = 15
_MAX_ROUNDS = 60
_BASIN_TOLERANCE = 3e-2  # stencil size handing over to Levenberg–Marquardt
_TOLERANCE = 1e-6  # stencil half-width, relative to the data's k-span (SSE flat to ~1e-12)
_STENCIL_M = np.tile([-1.0, 0.0, 1.0], 3)
_STENCIL_S = np.repeat([-1.0, 0.0, 1.0], 3)
_FEAS = 1e-12
_G_GRID = np.linspace(-1.0, 1.0, 121)  # arbitrage screen: k-span units around the data
_G_LOCAL = np.sinh(np.linspace(-5.0, 5.0, 41))  # and sigma units around m
_RETRY_RATIO = 1.5  # constrained SSE this much above the unconstrained one: try another start
_PENALTY = 1e2  # weight of Durrleman-condition violations in the constrained polish
_G_MARGIN = 1e-3  # screened candidates need g >= this on the screen grid (g(k) is O(1))

_LM_ITERATIONS = 300
_LM_WINDOW, _LM_WINDOW_RTOL = 10, 1e-6
_SSE_RTOL = 1e-12  # stencil rounds / LM steps improving the SSE by less than this: stalled
_STALL_ROUNDS = 6  # ...and this many stalled stencil rounds in a row end the search
_SIGMA_MIN, _SIGMA_MAX = 1e-3, 4.0  # sigma bounds relative to the data's k-span
_LEE = 2.0 * (1.0 - 1e-6)  # b(1+|rho|) <= _LEE: Lee's bound, strictly inside
_RHO_MAX = 1.0 - 1e-6  # |rho| <= _RHO_MAX: SVI needs |rho| < 1
# Faces of the feasible square in (d, c), in units of sigma. Edges: d = alpha*c + beta*sigma
# with (a, c) free; vertices: (d, c) fixed with a free.
_EDGE_ALPHA = np.array([_RHO_MAX, -_RHO_MAX, -1.0, 1.0])[:, None]
_EDGE_BETA = np.array([0.0, 0.0, 1.0, -1.0])[:, None] * _LEE
_VERTEX_D = np.array([0.0, _RHO_MAX, 0.0, -_RHO_MAX])[:, None] * _LEE / (1.0 + _RHO_MAX)
_VERTEX_C = np.array([0.0, 1.0, 1.0 + _RHO_MAX, 1.0])[:, None] * _LEE / (1.0 + _RHO_MAX)


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
        The objective converged: the Levenberg–Marquardt stage found no further descent, or
        improved the SSE by less than 1e-12 relative in one step or 1e-6 over ten steps (in
        SVI's flat valleys the parameters are ill-determined while the fit is not).
    butterfly_arbitrage : bool
        The returned slice has butterfly arbitrage (on :data:`DEFAULT_K_GRID` or by Lee's
        bound). With ``arbitrage_free=True`` this happens only when no arbitrage-free
        candidate fitted the data.
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


def _inner(k: Array, v: Array, wt: Array, m: Array, s: Array) -> tuple[Array, Array, Array, Array]:
    """Best feasible (a, d, c) and its SSE for each candidate (m, s) (1-d, equal length).

    The interior stationary point solves the 3x3 normal equations (Cramer's rule); where it
    is infeasible, the stationary points of the 4 edges and 4 vertices of the square are
    computed too (all in closed form, vectorised) and the feasible one with the smallest SSE
    is kept.
    """
    y = (k - m[:, None]) / s[:, None]
    yy = y * y
    z = np.sqrt(yy + 1.0)
    wv = wt * v
    sw, rv, vv = wt.sum(), wv.sum(), wv @ v
    sy, sz, syy, syz = y @ wt, z @ wt, yy @ wt, (y * z) @ wt
    ry, rz = y @ wv, z @ wv
    szz = syy + sw
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        c11 = syy * szz - syz * syz
        c12 = sz * syz - sy * szz
        c13 = sy * syz - sz * syy
        c22 = sw * szz - sz * sz
        c23 = sy * sz - sw * syz
        c33 = sw * syy - sy * sy
        det = sw * c11 + sy * c12 + sz * c13
        a_all = ((c11 * rv + c12 * ry + c13 * rz) / det)[None, :]
        d_all = ((c12 * rv + c22 * ry + c23 * rz) / det)[None, :]
        c_all = ((c13 * rv + c23 * ry + c33 * rz) / det)[None, :]
        if not np.all(_feasible(a_all, d_all, c_all, s)):
            # edges d = alpha c + beta s: unknowns (a, c), features 1 and alpha y + z
            al, off = _EDGE_ALPHA, _EDGE_BETA * s
            q12 = al * sy + sz
            q22 = al * al * syy + 2 * al * syz + szz
            r1 = rv - off * sy
            r2 = al * ry + rz - off * (al * syy + syz)
            det2 = sw * q22 - q12 * q12
            ce = (sw * r2 - q12 * r1) / det2
            ae = (r1 * q22 - r2 * q12) / det2
            dv, cv = _VERTEX_D * s, _VERTEX_C * s
            av = (rv - dv * sy - cv * sz) / sw
            a_all = np.vstack([a_all, ae, av])
            d_all = np.vstack([d_all, al * ce + off, dv])
            c_all = np.vstack([c_all, ce, cv])
        # SSE = p'Gp - 2 r'p + sum(w v^2)
        sse = (
            a_all * (a_all * sw + 2 * (d_all * sy + c_all * sz - rv))
            + d_all * (d_all * syy + 2 * (c_all * syz - ry))
            + c_all * (c_all * szz - 2 * rz)
            + vv
        )
        sse = np.where(_feasible(a_all, d_all, c_all, s), sse, np.inf)
    if sse.shape[0] == 1:
        return sse[0], a_all[0], d_all[0], c_all[0]
    j = np.argmin(sse, axis=0)
    cols = np.arange(m.size)
    return sse[j, cols], a_all[j, cols], d_all[j, cols], c_all[j, cols]


def _feasible(a: Array, d: Array, c: Array, s: Array) -> NDArray[np.bool_]:
    """|rho| <= 1, Lee's bound b(1+|rho|) <= 2 and positive minimum variance."""
    tol = _FEAS * s
    ad = np.abs(d)
    with np.errstate(invalid="ignore"):
        ok = (ad <= _RHO_MAX * c + tol) & (ad + c <= _LEE * s + tol)
        return ok & (a + np.sqrt(np.maximum(c * c - d * d, 0.0)) > 0)


def _to_raw(a: Array, d: Array, c: Array, s: Array) -> tuple[Array, Array, Array]:
    b = c / s
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(c > 0, d / c, 0.0)
    return a, b, np.clip(rho, -1.0, 1.0)


def _arbitrage_mask(
    a: Array, b: Array, rho: Array, m: Array, s: Array, k_lo: float, k_hi: float
) -> NDArray[np.bool_]:
    """Cheap butterfly screen: g < 0 on a grid around the data and around each m (Lee's bound
    holds by construction)."""
    span = k_hi - k_lo
    k = np.concatenate(
        [
            np.broadcast_to(0.5 * (k_lo + k_hi) + span * _G_GRID, (a.size, _G_GRID.size)),
            m[:, None] + s[:, None] * _G_LOCAL,
        ],
        axis=1,
    )
    g = raw_svi_g(k, a[:, None], b[:, None], rho[:, None], m[:, None], s[:, None])
    with np.errstate(invalid="ignore"):
        return np.any(~(g >= _G_MARGIN), axis=1)


def _search(
    kk: Array, vv: Array, wt: Array, k_lo: float, k_hi: float, screen: bool, tolerance: float
) -> tuple[tuple[float, float, float, float, float, float], bool]:
    """Coarse grid then quadratic-model stencils over (m, ln sigma); returns the incumbent
    (sse, a, b, rho, m, ln sigma) and whether the stencil shrank below tolerance."""
    span = k_hi - k_lo
    mm, ss = np.meshgrid(
        np.linspace(k_lo - 0.5 * span, k_hi + 0.5 * span, _COARSE_M),
        np.geomspace(2.0 * _SIGMA_MIN * span, _SIGMA_MAX * span, _COARSE_S),
    )
    m_c, ls_c = mm.ravel(), np.log(ss.ravel())
    hm, hs = (mm[0, 1] - mm[0, 0]), np.log(ss[1, 0] / ss[0, 0])

    def evaluate(m: Array, ls: Array) -> tuple[Array, Array, Array, Array]:
        s = np.exp(ls)
        sse, a, d, c = _inner(kk, vv, wt, m, s)
        a, b, rho = _to_raw(a, d, c, s)
        if screen:
            bad = np.isfinite(sse) & _arbitrage_mask(a, b, rho, m, s, k_lo, k_hi)
            sse = np.where(bad, np.inf, sse)
        return sse, a, b, rho

    sse, a, b, rho = evaluate(m_c, ls_c)
    i = int(np.argmin(sse))
    best = (float(sse[i]), float(a[i]), float(b[i]), float(rho[i]), float(m_c[i]), float(ls_c[i]))
    if not np.isfinite(best[0]):
        return best, False
    m_lo, m_hi = k_lo - span, k_hi + span
    ls_lo, ls_hi = np.log(_SIGMA_MIN * span), np.log(_SIGMA_MAX * span)
    newton: tuple[float, float] | None = None
    stalled = 0
    for _ in range(_MAX_ROUNDS):
        cm, cs = best[4], best[5]
        m_try = cm + hm * _STENCIL_M
        s_try = cs + hs * _STENCIL_S
        if newton is not None:
            m_try = np.append(m_try, newton[0])
            s_try = np.append(s_try, newton[1])
        m_try = np.clip(m_try, m_lo, m_hi)
        s_try = np.clip(s_try, ls_lo, ls_hi)
        sse, a, b, rho = evaluate(m_try, s_try)
        i = int(np.argmin(sse))
        moved = bool(sse[i] < best[0])
        stalled = 0 if sse[i] < best[0] * (1 - _SSE_RTOL) else stalled + 1
        if moved:
            best = (
                float(sse[i]),
                float(a[i]),
                float(b[i]),
                float(rho[i]),
                float(m_try[i]),
                float(s_try[i]),
            )
        newton = _newton_point(sse[:9].reshape(3, 3), cm, cs, hm, hs)
        if newton is not None:
            # size the next stencil to the proposed step: fast contraction near the optimum
            shrink = 1.0 if moved else 0.3
            hm = min(shrink * hm, max(2.0 * abs(newton[0] - cm), 0.05 * hm))
            hs = min(shrink * hs, max(2.0 * abs(newton[1] - cs), 0.05 * hs))
        elif not moved:
            hm, hs = 0.3 * hm, 0.3 * hs
        if (hm < tolerance * span and hs < tolerance) or stalled >= _STALL_ROUNDS:
            return best, True
    return best, False


def _newton_point(
    f: Array, cm: float, cs: float, hm: float, hs: float
) -> tuple[float, float] | None:
    """Minimiser of the quadratic through a 3x3 stencil (rows: ln sigma, cols: m), if convex
    and within four stencil widths."""
    if not np.all(np.isfinite(f)):
        return None
    gm = (f[1, 2] - f[1, 0]) / (2 * hm)
    gs = (f[2, 1] - f[0, 1]) / (2 * hs)
    hmm = (f[1, 2] - 2 * f[1, 1] + f[1, 0]) / hm**2
    hss = (f[2, 1] - 2 * f[1, 1] + f[0, 1]) / hs**2
    hms = (f[2, 2] - f[2, 0] - f[0, 2] + f[0, 0]) / (4 * hm * hs)
    det = hmm * hss - hms * hms
    if not (hmm > 0 and det > 0):
        return None
    step_m = -(hss * gm - hms * gs) / det
    step_s = -(hmm * gs - hms * gm) / det
    if abs(step_m) > 4 * hm or abs(step_s) > 4 * hs:
        return None
    return cm + step_m, cs + step_s


def _lm(
    kk: Array, vv: Array, wt: Array, start: tuple[float, ...], k_lo: float, k_hi: float
) -> tuple[tuple[float, float, float, float, float, float], bool]:
    """Projected Levenberg–Marquardt-damped Newton iteration on the five raw parameters
    (a, b, rho, m, ln sigma) with the analytic Jacobian and full analytic Hessian, from the
    outer search's incumbent: converges quickly in the long curved valleys where the stencil
    search and Gauss–Newton crawl. Steps are projected onto b >= 0,
    |rho| <= _RHO_MAX, b(1+|rho|) <= _LEE and the sigma/m bounds; only improvements of the
    weighted SSE are accepted."""
    span = k_hi - k_lo
    m_lo, m_hi = k_lo - span, k_hi + span
    ls_lo, ls_hi = np.log(_SIGMA_MIN * span), np.log(_SIGMA_MAX * span)
    sw = np.sqrt(wt)

    def project(x: Array) -> Array:
        a, b, rho, m, ls = x
        rho = min(max(rho, -_RHO_MAX), _RHO_MAX)
        b = min(max(b, 0.0), _LEE / (1.0 + abs(rho)))
        return np.array([a, b, rho, min(max(m, m_lo), m_hi), min(max(ls, ls_lo), ls_hi)])

    def resid(x: Array) -> tuple[Array, Array]:
        a, b, rho, m, ls = x
        sigma = np.exp(ls)
        km = kk - m
        root = np.sqrt(km * km + sigma * sigma)
        r = sw * (a + b * (rho * km + root) - vv)
        return r, root

    x = np.array(start[1:], dtype=float)
    r, root = resid(x)
    sse = float(r @ r)
    lam = 1e-3
    converged = False
    history = [sse]
    for _ in range(_LM_ITERATIONS):
        a, b, rho, m, ls = x
        sigma = np.exp(ls)
        km = kk - m
        jac = np.empty((kk.size, 5))
        jac[:, 0] = sw
        jac[:, 1] = sw * (rho * km + root)
        jac[:, 2] = sw * b * km
        jac[:, 3] = -sw * b * (rho + km / root)
        jac[:, 4] = sw * b * sigma * sigma / root
        jtj = jac.T @ jac
        grad = jac.T @ r
        # full Hessian of SSE/2: J'J plus the residual-weighted second derivatives of the
        # model, which Gauss–Newton drops (they matter in SVI's curved, flat valleys)
        rw = r * sw
        s2, r3 = sigma * sigma, root * root * root
        h_bm = -(rw @ (rho + km / root))
        h_mm = b * s2 * (rw @ (1.0 / r3))
        h_mls = b * s2 * (rw @ (km / r3))
        h_lsls = b * s2 * (rw @ ((2.0 * root * root - s2) / r3))
        hess = jtj.copy()
        hess[1, 2] += rw @ km
        hess[1, 3] += h_bm
        hess[1, 4] += s2 * (rw @ (1.0 / root))
        hess[2, 3] += -b * rw.sum()
        hess[3, 3] += h_mm
        hess[3, 4] += h_mls
        hess[4, 4] += h_lsls
        hess[2, 1], hess[3, 1], hess[4, 1] = hess[1, 2], hess[1, 3], hess[1, 4]
        hess[3, 2], hess[4, 3] = hess[2, 3], hess[3, 4]
        # variables held at a bound by the descent direction are frozen (active set)
        b_max = _LEE / (1.0 + abs(rho))
        at_upper = np.array(
            [False, b >= b_max * (1 - 1e-12), rho >= _RHO_MAX, m >= m_hi, ls >= ls_hi]
        )
        at_lower = np.array([False, b <= 0.0, rho <= -_RHO_MAX, m <= m_lo, ls <= ls_lo])
        free = ~((at_upper & (grad < 0)) | (at_lower & (grad > 0)))
        hess_f, grad_f = hess[np.ix_(free, free)], grad[free]
        scale_f = np.diag(jtj)[free] + 1e-300
        improved = False
        while lam < 1e12:
            step = np.zeros(5)
            try:
                step[free] = np.linalg.solve(hess_f + np.diag(scale_f * lam), -grad_f)
            except np.linalg.LinAlgError:
                lam *= 10.0
                continue
            x_new = project(x + step)
            r_new, root_new = resid(x_new)
            sse_new = float(r_new @ r_new)
            if np.isfinite(sse_new) and sse_new <= sse:
                if x_new[1] * np.sqrt(1 - x_new[2] ** 2) * np.exp(x_new[4]) + x_new[0] <= 0:
                    lam *= 10.0  # negative minimum variance: shorten the step
                    continue
                improved = True
                break
            lam *= 10.0
        if not improved:
            converged = True  # no descent direction left at any damping
            break
        history.append(sse_new)
        # objective converged: this step, or the last _LM_WINDOW steps together, improved the
        # SSE by less than the tolerance (flat valleys: parameters ill-determined, fit is not)
        done = sse - sse_new <= _SSE_RTOL * sse or (
            len(history) > _LM_WINDOW
            and history[-_LM_WINDOW - 1] - sse_new <= _LM_WINDOW_RTOL * sse
        )
        x, r, root, sse = x_new, r_new, root_new, sse_new
        lam = max(lam / 10.0, 1e-12)
        if done or sse == 0.0:
            converged = True
            break
    a, b, rho, m, ls = x
    return (sse, float(a), float(b), float(rho), float(m), float(ls)), converged


def _polish(
    kk: Array, vv: Array, wt: Array, start: tuple[float, ...], k_lo: float, k_hi: float
) -> tuple[tuple[float, float, float, float, float, float], bool]:
    """Local five-parameter least squares with Durrleman's condition as penalty residuals
    (g >= margin on a grid around the data and in the wings).

    Needed because the outer screened search only sees (m, sigma) whose unconstrained inner
    optimum is free of arbitrage, while the constrained optimum usually has a different
    (a, rho, b) there."""
    span = k_hi - k_lo
    grid = np.concatenate([0.5 * (k_lo + k_hi) + span * _G_GRID, DEFAULT_K_GRID[::8]])
    sqrt_w = np.sqrt(wt / wt.sum())
    scale = _PENALTY * np.sqrt(np.mean(vv * vv))

    def unpack(x: Array) -> tuple[float, float, float, float, float]:
        return x[0], x[1], x[2], x[3], float(np.exp(x[4]))

    def residuals(x: Array) -> Array:
        a, b, rho, m, sigma = unpack(x)
        fit = a + b * (rho * (kk - m) + np.sqrt((kk - m) ** 2 + sigma * sigma)) - vv
        g = raw_svi_g(grid, a, b, rho, m, sigma)
        pen = np.where(np.isfinite(g), np.minimum(g - 2 * _G_MARGIN, 0.0), -1.0)
        return np.concatenate([sqrt_w * fit, scale * pen])

    x0 = np.array([start[1], start[2], start[3], start[4], start[5]])
    lo = np.array([-np.inf, 0.0, -_RHO_MAX, k_lo - span, np.log(_SIGMA_MIN * span)])
    hi = np.array([np.inf, _LEE, _RHO_MAX, k_hi + span, np.log(_SIGMA_MAX * span)])
    x0 = np.clip(x0, lo + 1e-12, hi - 1e-12)
    res = least_squares(
        residuals,
        x0,
        bounds=(lo, hi),
        method="trf",
        x_scale="jac",
        xtol=1e-9,
        ftol=1e-10,
        max_nfev=600,
    )
    a, b, rho, m, sigma = unpack(res.x)
    sse = float(
        np.sum(wt * (a + b * (rho * (kk - m) + np.sqrt((kk - m) ** 2 + sigma**2)) - vv) ** 2)
    )
    if not (np.all(np.isfinite(res.x)) and b * (1 + abs(rho)) <= 2.0):
        sse = np.inf
    return (sse, float(a), float(b), float(rho), float(m), float(res.x[4])), res.status > 0


def fit_svi_slice(
    k: ArrayLike,
    total_variance: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    arbitrage_free: bool = True,
) -> SVIFit:
    r"""Fit a raw SVI slice to total implied variances (quasi-explicit method).

    Minimises :math:`\sum_i w_i (\text{SVI}(k_i) - v_i)^2` over
    :math:`(a, b, \rho, m, \sigma)` subject to :math:`b \ge 0`, :math:`|\rho| \le 1`,
    Lee's bound :math:`b(1+|\rho|) \le 2` and positive variance, reducing the problem for
    fixed :math:`(m, \sigma)` to a linear one in :math:`(a, \rho b\sigma, b\sigma)` (Zeliade
    2009, "Quasi-explicit calibration of Gatheral's SVI model"). With
    ``arbitrage_free=True`` the search is restricted to slices without butterfly arbitrage
    (Durrleman's :math:`g \ge 0`, Gatheral & Jacquier 2014) whenever such a slice fits.

    Parameters
    ----------
    k : array_like
        Log-moneyness :math:`\ln(K/F)`, at least 5 finite distinct points.
    total_variance : array_like
        Total implied variance :math:`\sigma_{BS}^2 T` at ``k``, finite.
    weights : array_like, optional
        Non-negative weights (default 1), e.g. vegas.
    arbitrage_free : bool, default True
        Exclude candidates with butterfly arbitrage where possible.

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
    kk = np.asarray(k, dtype=float).ravel()
    vv = np.asarray(total_variance, dtype=float).ravel()
    if kk.size != vv.size:
        raise ValueError(f"k ({kk.size}) and total_variance ({vv.size}) differ in length")
    wt = np.ones_like(kk) if weights is None else np.asarray(weights, dtype=float).ravel()
    if wt.size != kk.size:
        raise ValueError(f"weights ({wt.size}) and k ({kk.size}) differ in length")
    if not (np.all(np.isfinite(kk)) and np.all(np.isfinite(vv)) and np.all(np.isfinite(wt))):
        raise ValueError("k, total_variance and weights must be finite (no NaN)")
    if np.any(wt < 0) or not wt.sum() > 0:
        raise ValueError("weights must be non-negative with a positive sum")
    if np.unique(kk[wt > 0]).size < 5:
        raise ValueError("k: need at least 5 distinct log-moneyness points with positive weight")

    k_lo, k_hi = float(kk.min()), float(kk.max())
    best, _ = _search(kk, vv, wt, k_lo, k_hi, screen=False, tolerance=_BASIN_TOLERANCE)
    polished, converged = _lm(kk, vv, wt, best, k_lo, k_hi)
    if polished[0] <= best[0]:
        best = polished
    else:  # not expected: LM only accepts improvements
        best, converged = _search(kk, vv, wt, k_lo, k_hi, screen=False, tolerance=_TOLERANCE)

    def has_arbitrage(p: tuple[float, ...]) -> bool:
        a, b, rho, m, ls = (np.array([x]) for x in p[1:])
        return bool(butterfly_flags(a, b, rho, m, np.exp(ls))[0])

    arbitrage = has_arbitrage(best)
    if arbitrage_free and arbitrage:
        # outer search restricted to arbitrage-free candidates, then a penalised polish
        screened, conv_s = _search(kk, vv, wt, k_lo, k_hi, screen=True, tolerance=_TOLERANCE)
        start = screened if np.isfinite(screened[0]) else best
        candidates = [_polish(kk, vv, wt, start, k_lo, k_hi), (screened, conv_s)]
        if not candidates[0][0][0] <= _RETRY_RATIO * best[0]:  # poor: also polish from `best`
            candidates.append(_polish(kk, vv, wt, best, k_lo, k_hi))
        feasible = [
            (c, conv) for c, conv in candidates if np.isfinite(c[0]) and not has_arbitrage(c)
        ]
        if feasible:
            (best, converged), arbitrage = min(feasible, key=lambda cc: cc[0][0]), False
    sse_b, a_b, b_b, rho_b, m_b, ls_b = best
    sigma_b = float(np.exp(ls_b))
    rmse = float(np.sqrt(max(sse_b, 0.0) / wt.sum()))
    return SVIFit(
        float(a_b),
        float(b_b),
        float(rho_b),
        float(m_b),
        sigma_b,
        rmse,
        bool(converged and np.isfinite(sse_b)),
        arbitrage,
    )
