r"""Static-arbitrage checks for SVI slices and SSVI surfaces.

* Butterfly arbitrage of a raw SVI slice: Durrleman's function :math:`g(k) < 0` somewhere, a
  non-positive total variance, or wings steeper than Roger Lee's moment bound
  :math:`b(1 \pm \rho) \le 2` (Gatheral & Jacquier 2014, "Arbitrage-free SVI volatility
  surfaces", Quantitative Finance 14(1), §2–3; Lee 2004, "The moment formula for implied
  volatility at extreme strikes").
* Calendar arbitrage: total variance decreasing in maturity at some log-moneyness
  (Gatheral & Jacquier 2014, Lemma 2.1).
* SSVI: the sufficient conditions of Gatheral & Jacquier (2014), Theorems 4.1 and 4.2.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from quant_assets.options._inputs import broadcast_float_arrays, scalar_or_array
from quant_assets.options.svi import raw_svi_g, svi_total_variance

__all__ = [
    "DEFAULT_K_GRID",
    "CalendarCheck",
    "butterfly_flags",
    "ssvi_butterfly_free",
    "ssvi_calendar_free",
    "svi_butterfly_arbitrage",
    "svi_calendar_arbitrage",
]

#: Wide log-moneyness grid used by the checks: dense near the money, out to |k| = 10.
_TAIL = np.geomspace(3.0, 10.0, 60)
DEFAULT_K_GRID = np.unique(np.concatenate([-_TAIL, np.linspace(-3.0, 3.0, 1201), _TAIL]))

_SVI_KEYS = ("a", "b", "rho", "m", "sigma")


def svi_butterfly_arbitrage(
    a: ArrayLike,
    b: ArrayLike,
    rho: ArrayLike,
    m: ArrayLike,
    sigma: ArrayLike,
    k_grid: ArrayLike | None = None,
) -> Any:
    r"""True where a raw SVI slice admits butterfly arbitrage.

    A slice is flagged if, on the log-moneyness grid (default :data:`DEFAULT_K_GRID`, plus
    points around :math:`m` scaled by :math:`\sigma`), Durrleman's function
    :math:`g(k) = (1 - kw'/(2w))^2 - \tfrac{w'^2}{4}(1/w + 1/4) + w''/2` is negative or the
    total variance is not positive, or if a wing violates Lee's bound
    :math:`b(1\pm\rho) \le 2` (which makes :math:`g < 0` for large :math:`|k|`)
    (Gatheral & Jacquier 2014, §2–3).

    Parameters
    ----------
    a, b, rho, m, sigma : array_like
        Raw SVI parameters; broadcast against each other.
    k_grid : array_like, optional
        Log-moneyness points to check.

    Returns
    -------
    bool or ndarray of bool
        One flag per parameter set; invalid parameters (``b < 0``, ``|rho| >= 1``,
        ``sigma <= 0``, NaN) are flagged too.

    Examples
    --------
    >>> bool(svi_butterfly_arbitrage(-0.0410, 0.1331, 0.3060, 0.3586, 0.4153))  # Vogt
    True
    >>> bool(svi_butterfly_arbitrage(0.04, 0.1, -0.3, 0.0, 0.2))
    False
    """
    aa, bb, rr, mm, ss = broadcast_float_arrays(a=a, b=b, rho=rho, m=m, sigma=sigma)
    grid = DEFAULT_K_GRID if k_grid is None else np.asarray(k_grid, dtype=float).ravel()
    return scalar_or_array(butterfly_flags(aa, bb, rr, mm, ss, grid))


_LOCAL = np.sinh(np.linspace(-6.0, 6.0, 241))  # around m, in units of sigma


def butterfly_flags(
    a: NDArray[np.float64],
    b: NDArray[np.float64],
    rho: NDArray[np.float64],
    m: NDArray[np.float64],
    sigma: NDArray[np.float64],
    grid: NDArray[np.float64] = DEFAULT_K_GRID,
) -> NDArray[np.bool_]:
    """Butterfly-arbitrage flags for broadcast parameter arrays (no input conversion)."""
    k = np.concatenate(
        [np.broadcast_to(grid, a.shape + grid.shape), m[..., None] + sigma[..., None] * _LOCAL],
        axis=-1,
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        g = raw_svi_g(k, a[..., None], b[..., None], rho[..., None], m[..., None], sigma[..., None])
        bad_grid = np.any(~(g >= 0), axis=-1)  # NaN (w <= 0 or invalid parameters) counts
        valid = (b >= 0) & (np.abs(rho) < 1) & (sigma > 0)
        lee = b * (1.0 + np.abs(rho)) > 2.0
    return np.asarray(bad_grid | lee | ~valid)


@dataclass(frozen=True)
class CalendarCheck:
    """Result of :func:`svi_calendar_arbitrage`.

    Attributes
    ----------
    arbitrage : bool
        True if total variance decreases with maturity somewhere on the grid.
    maturities : ndarray
        Maturities in increasing order.
    pair_arbitrage : ndarray of bool
        One flag per consecutive pair of maturities.
    min_increase : ndarray
        Per pair, the minimum over the grid of ``w(k, T_{i+1}) - w(k, T_i)``.
    worst_k : ndarray
        Per pair, the log-moneyness where that minimum is attained.
    """

    arbitrage: bool
    maturities: NDArray[np.float64]
    pair_arbitrage: NDArray[np.bool_]
    min_increase: NDArray[np.float64]
    worst_k: NDArray[np.float64]


def _svi_params(slice_: Any) -> tuple[float, float, float, float, float]:
    if isinstance(slice_, Mapping):
        return tuple(float(slice_[key]) for key in _SVI_KEYS)  # type: ignore[return-value]
    if all(hasattr(slice_, key) for key in _SVI_KEYS):
        return tuple(float(getattr(slice_, key)) for key in _SVI_KEYS)  # type: ignore[return-value]
    values = tuple(float(v) for v in slice_)
    if len(values) != 5:
        raise ValueError(f"each SVI slice needs (a, b, rho, m, sigma), got {slice_!r}")
    return values  # type: ignore[return-value]


def svi_calendar_arbitrage(
    slices: Sequence[Any],
    maturities: ArrayLike,
    k_grid: ArrayLike | None = None,
    tolerance: float = 0.0,
) -> CalendarCheck:
    r"""Check that total variance is non-decreasing in maturity at every log-moneyness.

    Absence of calendar-spread arbitrage for fixed log-moneyness (forward-moneyness) slices
    is equivalent to :math:`\partial_T w(k, T) \ge 0` for all :math:`k` (Gatheral & Jacquier
    2014, Lemma 2.1); for discrete slices, :math:`w(k, T_{i+1}) \ge w(k, T_i)`.

    Parameters
    ----------
    slices : sequence
        Raw SVI parameters per maturity: mappings or objects with ``a, b, rho, m, sigma``
        (e.g. :class:`SVIFit` results), or 5-tuples.
    maturities : array_like
        Maturity of each slice (any order; distinct, > 0).
    k_grid : array_like, optional
        Log-moneyness grid (default :data:`DEFAULT_K_GRID`).
    tolerance : float, default 0
        Decreases smaller than this are ignored.

    Returns
    -------
    CalendarCheck

    Examples
    --------
    >>> chk = svi_calendar_arbitrage([(0.02, 0.1, -0.3, 0.0, 0.2), (0.04, 0.1, -0.3, 0.0, 0.2)],
    ...                              [0.5, 1.0])
    >>> chk.arbitrage
    False
    """
    t = np.asarray(maturities, dtype=float).ravel()
    if len(slices) != t.size:
        raise ValueError(f"slices ({len(slices)}) and maturities ({t.size}) differ in length")
    if t.size < 2:
        raise ValueError("maturities: need at least two slices")
    if not np.all(np.isfinite(t) & (t > 0)) or np.unique(t).size != t.size:
        raise ValueError("maturities must be distinct, finite and positive")
    params = np.array([_svi_params(s) for s in slices])
    order = np.argsort(t)
    t, params = t[order], params[order]
    grid = DEFAULT_K_GRID if k_grid is None else np.asarray(k_grid, dtype=float).ravel()
    w = np.asarray(svi_total_variance(grid[None, :], *(params[:, [j]] for j in range(5))))
    diff = np.diff(w, axis=0)
    diff = np.where(np.isnan(diff), -np.inf, diff)
    idx = np.argmin(diff, axis=1)
    min_increase = diff[np.arange(diff.shape[0]), idx]
    pair = min_increase < -tolerance
    return CalendarCheck(bool(pair.any()), t, pair, min_increase, grid[idx])


def ssvi_butterfly_free(theta: ArrayLike, rho: ArrayLike, phi: ArrayLike) -> Any:
    r"""Gatheral & Jacquier (2014), Theorem 4.2: sufficient condition for an SSVI slice to be
    free of butterfly arbitrage,

    .. math:: \theta\varphi(\theta)(1 + |\rho|) < 4 \quad\text{and}\quad
              \theta\varphi(\theta)^2(1 + |\rho|) \le 4.

    Parameters
    ----------
    theta, rho, phi : array_like
        ATM total variance, correlation and :math:`\varphi(\theta)`; broadcast.

    Returns
    -------
    bool or ndarray of bool
        False also for invalid inputs (``theta <= 0``, ``phi <= 0``, ``|rho| >= 1``, NaN).

    Examples
    --------
    >>> bool(ssvi_butterfly_free(0.04, -0.7, 5.0))
    True
    """
    th, rh, ph = broadcast_float_arrays(theta=theta, rho=rho, phi=phi)
    with np.errstate(invalid="ignore"):
        valid = (th > 0) & (ph > 0) & (np.abs(rh) < 1)
        one_rho = 1.0 + np.abs(rh)
        ok = valid & (th * ph * one_rho < 4.0) & (th * ph * ph * one_rho <= 4.0)
    return scalar_or_array(ok)


def ssvi_calendar_free(
    theta: ArrayLike,
    rho: float,
    phi: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    n_grid: int = 400,
) -> bool:
    r"""Gatheral & Jacquier (2014), Theorem 4.1: SSVI is free of calendar arbitrage iff
    :math:`\partial_t\theta_t \ge 0` and, for every :math:`\theta > 0`,

    .. math:: 0 \le \partial_\theta(\theta\varphi(\theta))
              \le \frac{1}{\rho^2}\left(1 + \sqrt{1-\rho^2}\right)\varphi(\theta).

    Checked here on the maturities' ATM total variances (non-decreasing) and on a log-spaced
    grid of :math:`\theta` spanning them (central differences of :math:`\theta\varphi`).

    Parameters
    ----------
    theta : array_like
        ATM total variances ordered by increasing maturity.
    rho : float
        SSVI correlation, ``|rho| < 1``.
    phi : callable
        :math:`\theta \mapsto \varphi(\theta)`, vectorised (e.g.
        ``lambda th: phi_power_law(th, eta, gamma)``).
    n_grid : int, default 400
        Number of grid points.

    Returns
    -------
    bool

    Examples
    --------
    >>> from quant_assets.options.ssvi import phi_power_law
    >>> ssvi_calendar_free([0.01, 0.02, 0.05], -0.6, lambda th: phi_power_law(th, 1.0, 0.4))
    True
    """
    th = np.asarray(theta, dtype=float).ravel()
    if th.size == 0 or not np.all(np.isfinite(th) & (th > 0)):
        raise ValueError("theta must be a non-empty array of positive ATM total variances")
    if not abs(rho) < 1:
        raise ValueError(f"rho must satisfy |rho| < 1, got {rho}")
    if np.any(np.diff(th) < 0):
        return False
    grid = np.geomspace(th.min(), max(th.max(), th.min() * (1 + 1e-6)), n_grid)
    h = 1e-5 * grid

    def f(x: NDArray[np.float64]) -> NDArray[np.float64]:
        return x * np.asarray(phi(x), dtype=float)

    deriv = (f(grid + h) - f(grid - h)) / (2.0 * h)
    phis = np.asarray(phi(grid), dtype=float)
    with np.errstate(divide="ignore", over="ignore"):
        bound = (1.0 + np.sqrt(1.0 - rho * rho)) / (rho * rho) * phis  # +inf for rho = 0
    slack = 1e-7 * np.abs(phis)
    return bool(np.all(np.isfinite(deriv)) and np.all(deriv >= -slack) and np.all(deriv <= bound + slack))
