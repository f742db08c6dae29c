r"""Almgren–Chriss optimal liquidation with linear permanent and temporary impact.

Almgren, R. and Chriss, N. (2000), "Optimal execution of portfolio transactions",
*Journal of Risk* 3(2), 5–39. Notation of the paper: ``X`` shares are sold over ``T`` in ``N``
periods of length ``τ = T/N``; ``x_k`` are the holdings at ``t_k = kτ`` and ``n_k = x_{k-1} - x_k``
the shares sold in period ``k``. Permanent impact ``g(v) = γ v``, temporary impact
``h(v) = ε sgn(n) + (η/τ) n``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from quant_assets.execution._checks import check_array, check_int, check_scalar


@dataclass(frozen=True, eq=False)
class AlmgrenChrissResult:
    """Optimal trajectory and its cost moments.

    Attributes
    ----------
    times : ndarray, shape (N + 1,)
        ``t_k = kτ``.
    holdings : ndarray, shape (N + 1,)
        ``x_k``, from ``X`` down to 0.
    trades : ndarray, shape (N,)
        ``n_k = x_{k-1} - x_k``.
    expected_cost : float
        ``E[x]``, expected implementation shortfall in currency.
    variance : float
        ``V[x]`` in currency squared.
    kappa : float
        Urgency ``κ`` (per unit time); ``0`` for the linear schedule, ``inf`` for immediate sale.
    risk_aversion : float
        ``λ`` the trajectory minimises ``E + λV`` for.
    """

    times: NDArray[np.float64]
    holdings: NDArray[np.float64]
    trades: NDArray[np.float64]
    expected_cost: float
    variance: float
    kappa: float
    risk_aversion: float

    @property
    def std(self) -> float:
        """Standard deviation of the cost, ``sqrt(V)``."""
        return math.sqrt(self.variance)

    @property
    def objective(self) -> float:
        """``E + λV`` (``E`` alone when ``λ = 0``)."""
        if self.risk_aversion == 0.0:
            return self.expected_cost
        return self.expected_cost + self.risk_aversion * self.variance


@dataclass(frozen=True, eq=False)
class AlmgrenChrissFrontier:
    """Efficient frontier: one optimal trajectory's moments per risk aversion."""

    risk_aversion: NDArray[np.float64]
    expected_cost: NDArray[np.float64]
    variance: NDArray[np.float64]
    kappa: NDArray[np.float64]

    def to_frame(self) -> pd.DataFrame:
        """Frontier as a DataFrame with a ``std`` column added."""
        return pd.DataFrame(
            {
                "risk_aversion": self.risk_aversion,
                "expected_cost": self.expected_cost,
                "variance": self.variance,
                "std": np.sqrt(self.variance),
                "kappa": self.kappa,
            }
        )


def _eta_tilde(eta: float, gamma: float, tau: float) -> float:
    eta_t = eta - 0.5 * gamma * tau
    if not eta_t > 0:
        raise ValueError(
            f"eta - gamma*tau/2 must be > 0 (eta={eta}, gamma={gamma}, tau={tau}); "
            "the temporary impact must dominate half the permanent impact per period"
        )
    return eta_t


def trajectory_cost(
    holdings: ArrayLike,
    tau: float,
    sigma: float,
    eta: float,
    gamma: float,
    epsilon: float,
) -> tuple[float, float]:
    r"""Expected cost and variance of any static liquidation trajectory (AC 2000, §1.5).

    .. math::

        E &= \tfrac12 \gamma X^2 + \varepsilon \sum_k |n_k|
             + \frac{\tilde\eta}{\tau} \sum_k n_k^2, \qquad
             \tilde\eta = \eta - \tfrac12 \gamma \tau \\
        V &= \sigma^2 \tau \sum_{k=1}^{N} x_k^2

    Parameters
    ----------
    holdings : array_like, shape (N + 1,)
        ``x_0 = X > 0`` down to ``x_N = 0``.
    tau : float
        Period length ``τ > 0``.
    sigma, eta, gamma, epsilon : float
        Volatility (currency per share per unit time^½), temporary and permanent impact
        coefficients, fixed cost per share.

    Returns
    -------
    (float, float)
        ``(E, V)``.

    Examples
    --------
    >>> E, V = trajectory_cost([10.0, 0.0], 1.0, 1.0, 1.0, 0.0, 0.0)
    >>> E, V
    (100.0, 0.0)
    """
    x = check_array(holdings, "holdings")
    if x.ndim != 1 or x.size < 2:
        raise ValueError("holdings must be 1-d with at least two entries")
    if x[-1] != 0.0:
        raise ValueError(f"holdings must end at 0, got {x[-1]}")
    t = check_scalar(tau, "tau", positive=True)
    s = check_scalar(sigma, "sigma", non_negative=True)
    g = check_scalar(gamma, "gamma", non_negative=True)
    eps = check_scalar(epsilon, "epsilon", non_negative=True)
    eta_t = _eta_tilde(check_scalar(eta, "eta", positive=True), g, t)
    n = -np.diff(x)
    expected = 0.5 * g * x[0] ** 2 + eps * np.abs(n).sum() + eta_t / t * np.dot(n, n)
    variance = s * s * t * np.dot(x[1:], x[1:])
    return float(expected), float(variance)


def _kappa(risk_aversion: float, sigma: float, eta_t: float, tau: float) -> float:
    """Solve ``cosh(κτ) = 1 + τ² λ σ² / (2 η̃)`` stably (``arccosh(1+a) = log1p(a + √(a(a+2)))``)."""
    if math.isinf(risk_aversion):
        return math.inf if sigma > 0 else 0.0
    a = 0.5 * tau * tau * risk_aversion * sigma * sigma / eta_t
    return math.log1p(a + math.sqrt(a * (a + 2.0))) / tau


def _holdings(shares: float, kappa: float, n_steps: int, tau: float) -> NDArray[np.float64]:
    """``x_k = X sinh(κ(T - t_k)) / sinh(κT)`` evaluated without overflow."""
    k = np.arange(n_steps + 1, dtype=np.float64)
    remaining = (n_steps - k) * tau  # T - t_k, exactly 0 at the end
    horizon = n_steps * tau
    if kappa == 0.0:
        return shares * remaining / horizon
    if math.isinf(kappa):
        out = np.zeros(n_steps + 1)
        out[0] = shares
        return out
    # sinh(a)/sinh(b) = exp(a - b) * expm1(-2a) / expm1(-2b), a = κ(T - t), b = κT
    ratio = np.exp(-kappa * k * tau) * np.expm1(-2.0 * kappa * remaining) / math.expm1(-2.0 * kappa * horizon)
    out = shares * ratio
    out[0], out[-1] = shares, 0.0
    return out


def _validate(
    shares: float,
    horizon: float,
    n_steps: int,
    sigma: float,
    eta: float,
    gamma: float,
    epsilon: float,
) -> tuple[float, float, int, float, float, float, float, float]:
    x = check_scalar(shares, "shares", positive=True)
    t_end = check_scalar(horizon, "horizon", positive=True)
    n = check_int(n_steps, "n_steps", minimum=1)
    s = check_scalar(sigma, "sigma", non_negative=True)
    e = check_scalar(eta, "eta", positive=True)
    g = check_scalar(gamma, "gamma", non_negative=True)
    eps = check_scalar(epsilon, "epsilon", non_negative=True)
    tau = t_end / n
    return x, t_end, n, s, e, g, eps, _eta_tilde(e, g, tau)


def almgren_chriss(
    shares: float,
    horizon: float,
    n_steps: int,
    sigma: float,
    eta: float,
    gamma: float,
    epsilon: float,
    risk_aversion: float,
) -> AlmgrenChrissResult:
    r"""Mean–variance optimal liquidation trajectory (Almgren & Chriss 2000, §2.2).

    Minimises :math:`E[x] + \lambda V[x]` over static trajectories:

    .. math::

        x_k = X \frac{\sinh(\kappa (T - t_k))}{\sinh(\kappa T)}, \qquad
        \cosh(\kappa\tau) = 1 + \frac{\tau^2 \lambda \sigma^2}{2 \tilde\eta}, \qquad
        \tilde\eta = \eta - \tfrac12\gamma\tau,

    with ``E`` and ``V`` from :func:`trajectory_cost`. ``λ = 0`` gives the linear (naive)
    schedule, ``λ = inf`` sells everything in the first period.

    Parameters
    ----------
    shares : float
        ``X > 0``, shares to sell (a buy program is the mirror image).
    horizon : float
        ``T > 0``, in the time unit of ``sigma`` (e.g. days).
    n_steps : int
        ``N >= 1`` trading periods, ``τ = T / N``.
    sigma : float
        Price volatility in currency per share per unit time^½ (``>= 0``).
    eta : float
        Temporary impact, currency per share per (share per unit time), ``> 0``.
    gamma : float
        Permanent impact, currency per share per share, ``>= 0``; ``η - γτ/2`` must be ``> 0``.
    epsilon : float
        Fixed cost per share (half spread plus fees), ``>= 0``.
    risk_aversion : float
        ``λ >= 0`` in 1/currency; ``inf`` allowed.

    Returns
    -------
    AlmgrenChrissResult

    Examples
    --------
    The paper's example (§2.4): 10⁶ shares over 5 days, σ = 0.95, η = 2.5e-6, γ = 2.5e-7,
    ε = 1/16, λ = 1e-6 gives κ ≈ 0.6 per day.

    >>> r = almgren_chriss(1e6, 5.0, 5, 0.95, 2.5e-6, 2.5e-7, 0.0625, 1e-6)
    >>> round(r.kappa, 2)
    0.61
    """
    x, t_end, n, s, e, g, eps, eta_t = _validate(shares, horizon, n_steps, sigma, eta, gamma, epsilon)
    lam = check_scalar(risk_aversion, "risk_aversion", non_negative=True, allow_inf=True)
    tau = t_end / n
    kappa = _kappa(lam, s, eta_t, tau)
    holdings = _holdings(x, kappa, n, tau)
    expected, variance = trajectory_cost(holdings, tau, s, e, g, eps)
    return AlmgrenChrissResult(
        times=np.arange(n + 1, dtype=np.float64) * tau,
        holdings=holdings,
        trades=-np.diff(holdings),
        expected_cost=expected,
        variance=variance,
        kappa=kappa,
        risk_aversion=lam,
    )


def almgren_chriss_frontier(
    shares: float,
    horizon: float,
    n_steps: int,
    sigma: float,
    eta: float,
    gamma: float,
    epsilon: float,
    risk_aversions: ArrayLike | None = None,
    n_points: int = 50,
) -> AlmgrenChrissFrontier:
    r"""Efficient frontier of optimal strategies (Almgren & Chriss 2000, §2.4).

    Runs :func:`almgren_chriss` for each risk aversion. The default grid is ``λ = 0`` (naive
    linear schedule) followed by ``n_points - 1`` values giving ``κT`` log-spaced over
    ``[10^{-2}, 10^{2}]`` (``λ = 2η̃(cosh κτ - 1) / (τ²σ²)``), which approaches the immediate
    sale.

    Parameters
    ----------
    shares, horizon, n_steps, sigma, eta, gamma, epsilon
        As in :func:`almgren_chriss`.
    risk_aversions : array_like, optional
        ``λ >= 0`` values (``inf`` allowed), evaluated in the given order.
    n_points : int, default 50
        Size of the default grid (``>= 2``); needs ``sigma > 0``.

    Returns
    -------
    AlmgrenChrissFrontier

    Examples
    --------
    >>> f = almgren_chriss_frontier(1e6, 5.0, 5, 0.95, 2.5e-6, 2.5e-7, 0.0625, [0.0, 1e-6])
    >>> float(f.expected_cost[0])  # naive strategy: εX + ½γX²(1 - 1/N) + ηX²/T
    662500.0
    """
    x, t_end, n, s, e, g, eps, eta_t = _validate(shares, horizon, n_steps, sigma, eta, gamma, epsilon)
    tau = t_end / n
    if risk_aversions is None:
        pts = check_int(n_points, "n_points", minimum=2)
        if s == 0.0:
            raise ValueError("sigma must be > 0 to build the default risk-aversion grid")
        kappa_t = np.geomspace(1e-2, 1e2, pts - 1)
        lam_grid = 2.0 * eta_t * (np.cosh(kappa_t / n) - 1.0) / (tau * tau * s * s)
        lams = np.concatenate(([0.0], lam_grid))
    else:
        lams = np.atleast_1d(np.asarray(risk_aversions, dtype=np.float64))
        if lams.ndim != 1 or lams.size == 0:
            raise ValueError("risk_aversions must be a non-empty 1-d array")
        if np.isnan(lams).any() or (lams < 0).any():
            raise ValueError("risk_aversions must be >= 0 and not NaN")
    results = [almgren_chriss(x, t_end, n, s, e, g, eps, float(lam)) for lam in lams]
    return AlmgrenChrissFrontier(
        risk_aversion=lams,
        expected_cost=np.array([r.expected_cost for r in results]),
        variance=np.array([r.variance for r in results]),
        kappa=np.array([r.kappa for r in results]),
    )
