r"""Calibration of an SSVI surface (Gatheral & Jacquier 2014) across expiries.

The surface :math:`w(k, \theta_t) = \tfrac{\theta_t}{2}(1 + \rho\varphi(\theta_t)k +
\sqrt{(\varphi(\theta_t)k + \rho)^2 + 1 - \rho^2})` ("Arbitrage-free SVI volatility
surfaces", Quantitative Finance 14(1), 2014, eq. 4.1) is fitted jointly: one ATM total variance
:math:`\theta_i` per expiry, parameterised as cumulative sums of positive increments so that
:math:`\theta` is increasing in maturity, plus :math:`\rho` and the parameters of the curvature
function (power law :math:`\eta, \gamma` with :math:`0 \le \gamma \le 1`, or Heston-like
:math:`\lambda`), both of which make :math:`\partial_\theta(\theta\varphi(\theta)) \ge 0`
(Theorem 4.1). The butterfly conditions of Theorem 4.2 enter as penalty residuals, so the fit
stays in the arbitrage-free region whenever the data allow. The weighted least-squares problem
is solved with :func:`scipy.optimize.least_squares` from a few starting values of :math:`\rho`.
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

__all__ = ["SSVIFit", "fit_ssvi_surface"]

Array = NDArray[np.float64]
_FAMILIES = ("power_law", "heston")
_PENALTY = 1e3  # weight of the butterfly-condition residuals relative to the data
_RHO_STARTS = (-0.7, -0.3, 0.2)


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
        The optimiser reported success.
    butterfly_free : ndarray of bool
        Theorem 4.2 condition per expiry.
    calendar_free : bool
        Theorem 4.1 condition (increasing theta and the bound on d(theta phi)/d theta).
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

    @property
    def eta(self) -> float:
        """Power-law :math:`\\eta` (NaN for the Heston family)."""
        return self.params.get("eta", float("nan"))

    @property
    def gamma(self) -> float:
        """Power-law :math:`\\gamma` (NaN for the Heston family)."""
        return self.params.get("gamma", float("nan"))

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
    if family == "power_law":
        rho, eta, gamma, u = x[0], x[1], x[2], x[3:]
        params = {"eta": float(eta), "gamma": float(gamma)}
    else:
        rho, lam, u = x[0], x[1], x[2:]
        params = {"lam": float(lam)}
    return float(rho), params, np.cumsum(np.exp(u))


def fit_ssvi_surface(
    k: ArrayLike,
    t: ArrayLike,
    total_variance: ArrayLike,
    weights: ArrayLike | None = None,
    family: str = "power_law",
) -> SSVIFit:
    r"""Fit an SSVI surface to total implied variances across expiries.

    Minimises :math:`\sum_i w_i (w(k_i, \theta_{t_i}) - v_i)^2` over one ATM total variance
    per expiry (constrained increasing), :math:`\rho` and the :math:`\varphi` family's
    parameters (Gatheral & Jacquier 2014, §4–5), with the butterfly conditions of their
    Theorem 4.2 as penalties.

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
    >>> round(fit.rho, 4), round(fit.eta, 4), round(fit.gamma, 4)
    (-0.6, 1.2, 0.4)
    """
    if family not in _FAMILIES:
        raise ValueError(f"family must be one of {_FAMILIES}, got {family!r}")
    kk = np.asarray(k, dtype=float).ravel()
    tt = np.asarray(t, dtype=float).ravel()
    vv = np.asarray(total_variance, dtype=float).ravel()
    if not (kk.size == tt.size == vv.size):
        raise ValueError(
            f"k ({kk.size}), t ({tt.size}) and total_variance ({vv.size}) differ in length"
        )
    wt = np.ones_like(kk) if weights is None else np.asarray(weights, dtype=float).ravel()
    if wt.size != kk.size:
        raise ValueError(f"weights ({wt.size}) and k ({kk.size}) differ in length")
    if not (
        np.isfinite(kk).all()
        and np.isfinite(tt).all()
        and np.isfinite(vv).all()
        and np.isfinite(wt).all()
    ):
        raise ValueError("k, t, total_variance and weights must be finite (no NaN)")
    if np.any(tt <= 0):
        raise ValueError("t: maturities must be positive")
    if np.any(wt < 0) or not wt.sum() > 0:
        raise ValueError("weights must be non-negative with a positive sum")
    maturities, expiry = np.unique(tt, return_inverse=True)
    n_exp = maturities.size
    n_par = n_exp + (3 if family == "power_law" else 2)
    if kk.size < n_par:
        raise ValueError(f"need at least {n_par} quotes for {n_exp} expiries, got {kk.size}")

    # initial ATM total variances: interpolate each expiry's quotes at k = 0, then make them
    # strictly increasing
    theta0 = np.empty(n_exp)
    for i in range(n_exp):
        sel = expiry == i
        order = np.argsort(kk[sel])
        theta0[i] = np.interp(0.0, kk[sel][order], vv[sel][order])
    theta0 = np.maximum.accumulate(np.maximum(theta0, 1e-8))
    incr = np.diff(np.r_[0.0, theta0])
    u0 = np.log(np.maximum(incr, 1e-6 * theta0[-1]))
    sqrt_w = np.sqrt(wt / wt.sum())

    def residuals(x: Array) -> Array:
        rho, params, thetas = _unpack(x, family)
        th = thetas[expiry]
        phi = np.asarray(_phi_function(family, params)(thetas))
        model = np.asarray(ssvi_total_variance(kk, th, rho, phi[expiry]))
        one_rho = 1.0 + abs(rho)
        pen1 = np.maximum(thetas * phi * one_rho - 4.0 * (1 - 1e-6), 0.0)
        pen2 = np.maximum(thetas * phi * phi * one_rho - 4.0, 0.0)
        scale = _PENALTY * np.sqrt(np.mean(vv * vv))
        return np.concatenate([sqrt_w * (model - vv), scale * pen1, scale * pen2])

    if family == "power_law":
        lo = np.r_[-0.999, 1e-6, 0.0, np.full(n_exp, -50.0)]
        hi = np.r_[0.999, 50.0, 1.0, np.full(n_exp, 5.0)]
        extra = [1.0, 0.5]
    else:
        lo = np.r_[-0.999, 1e-6, np.full(n_exp, -50.0)]
        hi = np.r_[0.999, 1e6, np.full(n_exp, 5.0)]
        extra = [1.0 / max(theta0.mean(), 1e-6)]
    best = None
    for rho0 in _RHO_STARTS:
        x0 = np.clip(np.r_[rho0, extra, u0], lo + 1e-9, hi - 1e-9)
        res = least_squares(
            residuals,
            x0,
            bounds=(lo, hi),
            method="trf",
            x_scale="jac",
            xtol=1e-12,
            ftol=1e-12,
            gtol=1e-12,
            max_nfev=2000,
        )
        if best is None or res.cost < best.cost:
            best = res
    assert best is not None
    rho, params, thetas = _unpack(best.x, family)
    phi_fn = _phi_function(family, params)
    model = np.asarray(
        ssvi_total_variance(kk, thetas[expiry], rho, np.asarray(phi_fn(thetas))[expiry])
    )
    sq = wt * (model - vv) ** 2
    rmse = float(np.sqrt(sq.sum() / wt.sum()))
    by_exp = np.sqrt(np.bincount(expiry, sq) / np.maximum(np.bincount(expiry, wt), 1e-300))
    return SSVIFit(
        maturities=maturities,
        thetas=thetas,
        rho=rho,
        params=params,
        family=family,
        rmse=rmse,
        rmse_by_expiry=by_exp,
        converged=bool(best.success),
        butterfly_free=np.atleast_1d(np.asarray(ssvi_butterfly_free(thetas, rho, phi_fn(thetas)))),
        calendar_free=ssvi_calendar_free(thetas, rho, phi_fn),
    )
