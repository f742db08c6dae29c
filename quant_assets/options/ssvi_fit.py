r"""Calibration of an SSVI surface (Gatheral & Jacquier 2014) across expiries.

The surface :math:`w(k, \theta_t) = \tfrac{\theta_t}{2}(1 + \rho\varphi(\theta_t)k +
\sqrt{(\varphi(\theta_t)k + \rho)^2 + 1 - \rho^2})` ("Arbitrage-free SVI volatility
surfaces", Quantitative Finance 14(1), 2014, eq. 4.1) is fitted jointly by weighted least
squares over one ATM total variance :math:`\theta_i` per expiry, :math:`\rho` and the
parameters of the curvature function :math:`\varphi`. Every parameter vector inside the box
the optimiser searches is a surface free of static arbitrage:

- calendar (Theorem 4.1): :math:`\theta_i` are cumulative sums of non-negative increments, and
  both families have :math:`0 \le \partial_\theta(\theta\varphi) \le \varphi` (power law with
  :math:`0\le\gamma\le1`, Heston-like with :math:`\lambda>0`), below the bound
  :math:`\varphi(1+\sqrt{1-\rho^2})/\rho^2 \ge \varphi`;
- butterfly (Theorem 4.2), for every :math:`\theta` between the first and the last expiry's:
  the power law's :math:`\eta` is a fraction :math:`a \in (0, 1]` of the largest admissible
  value :func:`~quant_assets.options.ssvi_bounds.power_law_eta_max`, and the Heston-like
  :math:`\lambda` exceeds :func:`~quant_assets.options.ssvi_bounds.heston_lambda_min`.

The constraints are therefore bounds on the search variables, which
:func:`scipy.optimize.least_squares` (trust-region reflective) handles exactly: an optimum on
the arbitrage boundary is reached rather than approached through a penalty. The fit starts from
a few values of :math:`\rho` and curvature and keeps the best. Active arbitrage constraints at
the optimum are reported: then the data themselves are not arbitrage-free within the family and
the result is the closest surface that is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import least_squares

from quant_assets.options.arbitrage import ssvi_butterfly_free, ssvi_calendar_free
from quant_assets.options.ssvi import phi_heston, phi_power_law, ssvi_total_variance
from quant_assets.options.ssvi_bounds import heston_lambda_min, power_law_eta_max

__all__ = ["SSVIFit", "fit_ssvi_surface"]

Array = NDArray[np.float64]
_FAMILIES = ("power_law", "heston")
_RHO_MAX = 0.999
_STARTS = ((-0.7, 0.5), (-0.3, 0.5), (0.2, 0.5), (-0.5, 0.95))  # (rho, curvature) start values
_ACTIVE = 1e-7  # a search variable this close (relative) to its bound is on it
_BINDING = 1e-8  # ... and binds if crossing it would cut the cost by this much (relative)
_MAX_NFEV = 5000


@dataclass(frozen=True)
class SSVIFit:
    """Result of :func:`fit_ssvi_surface`.

    Attributes
    ----------
    maturities : ndarray
        Distinct expiries, increasing.
    thetas : ndarray
        Fitted ATM total variance per expiry (increasing).
    rho : float
    params : dict
        Curvature parameters: ``{"eta", "gamma"}`` or ``{"lam"}``.
    family : str
        ``"power_law"`` or ``"heston"``.
    rmse : float
        Weighted RMSE of total variance over all points.
    rmse_by_expiry : ndarray
    converged : bool
        The optimiser stopped on its tolerances (not on the evaluation limit) and the fitted
        surface passes :func:`ssvi_butterfly_free` for every expiry and
        :func:`ssvi_calendar_free`.
    butterfly_free : ndarray of bool
        Theorem 4.2 condition per expiry.
    calendar_free : bool
        Theorem 4.1 condition (increasing theta and the bound on d(theta phi)/d theta).
    active_constraints : tuple of str
        Arbitrage constraints on which the optimum lies: ``"butterfly"`` (the data ask for
        more curvature than Theorem 4.2 allows), ``"calendar"`` (for decreasing ATM total
        variances, or a power-law :math:`\\gamma` outside [0, 1]), ``"rho"`` (:math:`|\\rho|`
        at 0.999). Empty when the optimum is interior: the data are fitted as well as the
        family can without the constraints mattering.
    message : str
        The optimiser's stopping reason, or why ``converged`` is False.
    """

    maturities: Array
    thetas: Array
    rho: float
    params: dict[str, float]
    family: str
    rmse: float
    rmse_by_expiry: Array
    converged: bool
    butterfly_free: NDArray[np.bool_]
    calendar_free: bool
    active_constraints: tuple[str, ...] = ()
    message: str = ""

    @property
    def eta(self) -> float:
        """Power-law :math:`\\eta` (NaN for the Heston family)."""
        return self.params.get("eta", float("nan"))

    @property
    def gamma(self) -> float:
        """Power-law :math:`\\gamma` (NaN for the Heston family)."""
        return self.params.get("gamma", float("nan"))

    @property
    def arbitrage_free(self) -> bool:
        """Both Gatheral–Jacquier conditions hold on every fitted expiry."""
        return bool(self.calendar_free and self.butterfly_free.all())

    def phi(self, theta: ArrayLike) -> Array:
        """The fitted curvature function :math:`\\varphi(\\theta)`."""
        return np.asarray(_phi_function(self.family, self.params)(np.asarray(theta, float)))

    def theta_at(self, t: ArrayLike) -> Array:
        """ATM total variance at maturities ``t``: linear in t between expiries, through the
        origin before the first one, flat after the last (keeps calendar monotonicity)."""
        return np.interp(np.asarray(t, float), np.r_[0.0, self.maturities], np.r_[0.0, self.thetas])

    def total_variance(self, k: ArrayLike, t: ArrayLike) -> Array:
        """Fitted total variance at log-moneyness ``k`` and maturity ``t`` (broadcast)."""
        th = self.theta_at(t)
        return np.asarray(ssvi_total_variance(k, th, self.rho, self.phi(th)))


def _phi_function(family: str, params: dict[str, float]) -> Callable[[Array], Any]:
    if family == "power_law":
        return lambda th: phi_power_law(th, params["eta"], params["gamma"])
    return lambda th: phi_heston(th, params["lam"])


def _unpack(x: Array, family: str) -> tuple[float, dict[str, float], Array]:
    """Search variables -> (rho, curvature parameters, thetas), arbitrage-free by construction.

    ``x = [rho, gamma, a, d...]`` (power law, ``eta = a * eta_max``) or
    ``[rho, lam_excess, d...]`` (Heston-like, ``lam = lam_min + lam_excess``), ``theta =
    cumsum(d)`` with ``d >= 0`` (the first ``> 0``).
    """
    rho = float(x[0])
    n_curv = 2 if family == "power_law" else 1
    thetas = np.cumsum(x[1 + n_curv :])
    if family == "power_law":
        gamma = float(x[1])
        eta = float(x[2]) * power_law_eta_max(float(thetas[0]), float(thetas[-1]), rho, gamma)
        return rho, {"eta": float(eta), "gamma": gamma}, thetas
    return rho, {"lam": float(heston_lambda_min(float(thetas[-1]), rho) + x[1])}, thetas


def _validated(
    k: ArrayLike, t: ArrayLike, total_variance: ArrayLike, weights: ArrayLike | None, family: str
) -> tuple[Array, Array, Array, Array]:
    if family not in _FAMILIES:
        raise ValueError(f"family must be one of {_FAMILIES}, got {family!r}")
    kk = np.asarray(k, dtype=float).ravel()
    tt = np.asarray(t, dtype=float).ravel()
    vv = np.asarray(total_variance, dtype=float).ravel()
    if not (kk.size == tt.size == vv.size):
        raise ValueError(f"k ({kk.size}), t ({tt.size}) and total_variance ({vv.size}) differ in length")
    wt = np.ones_like(kk) if weights is None else np.asarray(weights, dtype=float).ravel()
    if wt.size != kk.size:
        raise ValueError(f"weights ({wt.size}) and k ({kk.size}) differ in length")
    if not all(np.isfinite(a).all() for a in (kk, tt, vv, wt)):
        raise ValueError("k, t, total_variance and weights must be finite (no NaN)")
    if np.any(tt <= 0):
        raise ValueError("t: maturities must be positive")
    if np.any(wt < 0) or not wt.sum() > 0:
        raise ValueError("weights must be non-negative with a positive sum")
    return kk, tt, vv, wt


def _initial_increments(kk: Array, vv: Array, expiry: Array, n_exp: int) -> tuple[Array, float]:
    """Each expiry's quotes interpolated at k = 0, made increasing, as increments; and the
    smallest first ATM total variance the search allows."""
    theta0 = np.empty(n_exp)
    for i in range(n_exp):
        sel = expiry == i
        order = np.argsort(kk[sel])
        with np.errstate(all="ignore"):  # strikes a few ulps apart make the slope overflow
            theta0[i] = np.interp(0.0, kk[sel][order], vv[sel][order])
        if not np.isfinite(theta0[i]):  # fall back on the quote nearest the money
            theta0[i] = vv[sel][np.argmin(np.abs(kk[sel]))]
    scale = max(float(np.max(np.abs(vv))), 1e-12)
    theta0 = np.maximum.accumulate(np.maximum(theta0, 1e-3 * scale))
    incr = np.diff(np.r_[0.0, theta0])
    return np.maximum(incr, 1e-3 * theta0[-1]), 1e-10 * scale


def _active_constraints(best: Any, lo: Array, hi: Array, family: str, data_cost: float) -> tuple:
    """Arbitrage constraints the optimum lies on: search variables on a bound whose cost
    gradient points out of the box, i.e. crossing the bound through its range would cut the
    cost by more than ``_BINDING`` of the data's sum of squares (Lagrange multiplier > 0).
    Variables the data leave undetermined (e.g. gamma with one expiry) never count."""
    x, grad = best.x, best.grad
    rho, _, thetas = _unpack(x, family)
    width = np.where(np.isfinite(hi), hi - lo, thetas[-1])
    near_lo = x - lo <= _ACTIVE * width
    near_hi = hi - x <= _ACTIVE * width
    pushes = _BINDING * data_cost
    binding = (near_lo & (grad * width > pushes)) | (near_hi & (-grad * width > pushes))
    n_curv = 2 if family == "power_law" else 1
    if family == "power_law":
        butterfly, calendar = bool(binding[2]), bool(binding[1])
    else:
        butterfly = bool(binding[1]) and heston_lambda_min(float(thetas[-1]), rho) > 0
        calendar = False
    calendar |= bool(binding[2 + n_curv :].any())  # the data's ATM variances decrease
    names = ("butterfly", "calendar", "rho")
    return tuple(n for n, on in zip(names, (butterfly, calendar, bool(binding[0])), strict=True) if on)


def fit_ssvi_surface(
    k: ArrayLike,
    t: ArrayLike,
    total_variance: ArrayLike,
    weights: ArrayLike | None = None,
    family: str = "power_law",
) -> SSVIFit:
    r"""Fit an SSVI surface, free of static arbitrage, to total implied variances.

    Minimises :math:`\sum_i w_i (w(k_i, \theta_{t_i}) - v_i)^2` over one ATM total variance
    per expiry, :math:`\rho` and the :math:`\varphi` family's parameters (Gatheral & Jacquier
    2014, §4–5) subject to their calendar (Theorem 4.1) and butterfly (Theorem 4.2)
    conditions, imposed by construction (see the module docstring): every surface the
    optimiser visits satisfies them for every :math:`\theta` between the first and the last
    expiry's.

    Parameters
    ----------
    k : array_like
        Log-moneyness of each quote.
    t : array_like
        Maturity of each quote (years, > 0); quotes sharing a value form one expiry.
    total_variance : array_like
        Total implied variance of each quote.
    weights : array_like, optional
        Non-negative weights (default 1).
    family : {"power_law", "heston"}
        :func:`phi_power_law` (:math:`\eta, \gamma`) or :func:`phi_heston` (:math:`\lambda`).

    Returns
    -------
    SSVIFit
        ``active_constraints`` names the arbitrage conditions the optimum lies on (the data
        are not arbitrage-free within the family there); ``converged`` is False if the
        optimiser stopped on its evaluation limit or the result fails a check.

    Raises
    ------
    ValueError
        For mismatched lengths, NaNs, non-positive maturities, an unknown family or fewer
        quotes than parameters.

    Examples
    --------
    >>> kk = np.tile(np.linspace(-0.4, 0.4, 9), 2)
    >>> tt = np.repeat([0.5, 1.0], 9)
    >>> th = np.repeat([0.02, 0.04], 9)
    >>> w = ssvi_total_variance(kk, th, -0.6, phi_power_law(th, 1.2, 0.4))
    >>> fit = fit_ssvi_surface(kk, tt, w)
    >>> round(fit.rho, 4), round(fit.eta, 4), round(fit.gamma, 4), fit.active_constraints
    (-0.6, 1.2, 0.4, ())
    """
    kk, tt, vv, wt = _validated(k, t, total_variance, weights, family)
    maturities, expiry = np.unique(tt, return_inverse=True)
    n_exp = maturities.size
    n_curv = 2 if family == "power_law" else 1
    n_par = n_exp + 1 + n_curv
    if kk.size < n_par:
        raise ValueError(f"need at least {n_par} quotes for {n_exp} expiries, got {kk.size}")
    d0, theta_min = _initial_increments(kk, vv, expiry, n_exp)
    sqrt_w = np.sqrt(wt / wt.sum())

    def residuals(x: Array) -> Array:
        rho, params, thetas = _unpack(x, family)
        phi = np.asarray(_phi_function(family, params)(thetas))
        return sqrt_w * (ssvi_total_variance(kk, thetas[expiry], rho, phi[expiry]) - vv)

    if family == "power_law":  # rho, gamma, fraction of eta_max
        lo_c, hi_c = [0.0, 1e-9], [1.0, 1.0]
    else:  # rho, lambda above its minimum
        lo_c, hi_c = [1e-6], [1e6]
    lo = np.r_[-_RHO_MAX, lo_c, theta_min, np.zeros(n_exp - 1)]
    hi = np.r_[_RHO_MAX, hi_c, np.full(n_exp, np.inf)]
    inner = np.minimum(1e-9 * np.where(np.isfinite(hi), hi - lo, 1.0), theta_min)
    best = None
    for rho0, c0 in _STARTS:
        if family == "power_law":
            curv0 = [0.5, c0]
        else:  # c0 sets lambda * theta_max
            curv0 = [4.0 * c0 / d0.sum()]
        x0 = np.clip(np.r_[rho0, curv0, d0], lo + inner, hi - inner)
        res = least_squares(
            residuals,
            x0,
            bounds=(lo, hi),
            method="trf",
            x_scale="jac",
            xtol=1e-12,
            ftol=1e-10,
            gtol=1e-15,
            max_nfev=_MAX_NFEV,
        )
        if best is None or res.cost < best.cost:
            best = res
    assert best is not None
    return _result(best, lo, hi, family, kk, vv, wt, expiry, maturities)


def _result(
    best: Any,
    lo: Array,
    hi: Array,
    family: str,
    kk: Array,
    vv: Array,
    wt: Array,
    expiry: Array,
    maturities: Array,
) -> SSVIFit:
    rho, params, thetas = _unpack(best.x, family)
    phi_fn = _phi_function(family, params)
    phi = np.asarray(phi_fn(thetas))
    sq = wt * (np.asarray(ssvi_total_variance(kk, thetas[expiry], rho, phi[expiry])) - vv) ** 2
    rmse = float(np.sqrt(sq.sum() / wt.sum()))
    by_exp = np.sqrt(np.bincount(expiry, sq) / np.maximum(np.bincount(expiry, wt), 1e-300))
    butterfly = np.atleast_1d(np.asarray(ssvi_butterfly_free(thetas, rho, phi)))
    calendar = ssvi_calendar_free(thetas, rho, phi_fn)
    converged = bool(best.status > 0) and bool(butterfly.all()) and calendar
    if best.status <= 0:
        message = f"stopped without converging: {best.message}"
    elif not (butterfly.all() and calendar):
        message = "the fitted surface fails a Gatheral-Jacquier check (numerical)"
    else:
        message = str(best.message)
    return SSVIFit(
        maturities=maturities,
        thetas=thetas,
        rho=rho,
        params=params,
        family=family,
        rmse=rmse,
        rmse_by_expiry=by_exp,
        converged=converged,
        butterfly_free=butterfly,
        calendar_free=calendar,
        active_constraints=_active_constraints(best, lo, hi, family, 0.5 * float(wt @ vv**2) / wt.sum()),
        message=message,
    )
