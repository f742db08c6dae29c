r"""Calibration of a raw SVI slice by the quasi-explicit method with a variable-projection polish.

The fit runs in three stages, each in its own module: the exact inner solve for fixed
:math:`(m, \sigma)` (Zeliade Systems 2009, :mod:`quant_assets.options._svi_inner`), the
variable-projection polish of :math:`(m, \ln\sigma)` from the best point of a grid
(Golub & Pereyra 1973, :mod:`quant_assets.options._svi_polish`) and, for fits with butterfly
arbitrage, the constrained re-fit (:mod:`quant_assets.options._svi_refit`).

Batches. :func:`fit_svi_slices` runs the grid, the polish and the arbitrage check as array
operations over a leading slice axis (slices padded to a common length with zero weights,
converged slices leaving the polish), which amortizes NumPy's per-call overhead; a batch of
one (:func:`fit_svi_slice`) takes the same steps in scalar arithmetic. Only the re-fit
runs slice by slice.

Bounds. :math:`m` lies within one data span of the data and :math:`\sigma` in
``[1e-3, 10]`` data spans. A slice whose data are fitted best as :math:`\sigma \to \infty`
(the smile a parabola in :math:`k`) stops at the upper bound: beyond it the SVI shape over the
data changes by relative terms of order :math:`(\text{span}/\sigma)^2 \le 10^{-2}` of an
already small curvature, and Lee's bound caps :math:`b` anyway. A minimum on a bound of the box
is a valid (KKT) optimum and is reported as converged. Positivity of the total variance is not
imposed on the raw fit (as in the plain five-parameter least squares); a slice with
:math:`w \le 0` somewhere is flagged as having butterfly arbitrage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from quant_assets.options._svi_inner import _inner
from quant_assets.options._svi_polish import _polish
from quant_assets.options._svi_refit import _arbitrage_free_refit
from quant_assets.options._svi_slices import _GRID, _Slices
from quant_assets.options.arbitrage import butterfly_flags
from quant_assets.options.svi import svi_total_variance

__all__ = ["SVIFit", "fit_svi_slice", "fit_svi_slices"]

Array = NDArray[np.float64]

_BATCH = 64  # slices per batch of fit_svi_slices


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
