r"""Avellaneda–Stoikov market maker, Monte Carlo over many paths at once.

Avellaneda, M. and Stoikov, S. (2008), "High-frequency trading in a limit order book",
*Quantitative Finance* 8(3), 217–224, §3–4. With inventory ``q``, risk aversion ``γ``,
mid-price volatility ``σ`` and order-arrival intensity ``λ(δ) = A e^{-kδ}``:

.. math::

    r(s, q, t) &= s - q \gamma \sigma^2 (T - t) \qquad \text{(reservation price)} \\
    \delta^a + \delta^b &= \gamma \sigma^2 (T - t)
        + \frac{2}{\gamma} \ln\!\Bigl(1 + \frac{\gamma}{k}\Bigr) \qquad \text{(optimal spread)}

and the quotes sit symmetrically around ``r``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from quant_assets.execution._checks import check_int, check_scalar

Strategy = Literal["inventory", "symmetric"]


@dataclass(frozen=True, eq=False)
class AvellanedaStoikovResult:
    """Outcome of :func:`simulate_avellaneda_stoikov`.

    Attributes
    ----------
    profit : ndarray, shape (n_paths,)
        Final wealth ``X_T + q_T S_T`` per path (cash starts at 0).
    final_inventory : ndarray, shape (n_paths,)
        ``q_T`` per path.
    average_spread : float
        Time average of the quoted spread ``δ^a + δ^b`` (identical across paths).
    mid, inventory, cash, bid, ask : ndarray or None
        Paths, shape (n_steps + 1, n_paths) for ``mid``, ``inventory``, ``cash`` and
        (n_steps, n_paths) for the quotes; only when ``return_paths=True``.
    """

    profit: NDArray[np.float64]
    final_inventory: NDArray[np.float64]
    average_spread: float
    strategy: str
    mid: NDArray[np.float64] | None = None
    inventory: NDArray[np.float64] | None = None
    cash: NDArray[np.float64] | None = None
    bid: NDArray[np.float64] | None = None
    ask: NDArray[np.float64] | None = None


def optimal_spread(gamma: float, sigma: float, k: float, time_left: float) -> float:
    r"""Avellaneda–Stoikov total spread ``γσ²(T - t) + (2/γ) ln(1 + γ/k)`` (2008, eq. 29–30).

    Examples
    --------
    >>> round(optimal_spread(0.1, 2.0, 1.5, 0.0), 4)  # the 1.29 of the paper's γ = 0.1 table
    1.2908
    """
    g = check_scalar(gamma, "gamma", positive=True)
    s = check_scalar(sigma, "sigma", non_negative=True)
    kk = check_scalar(k, "k", positive=True)
    tl = check_scalar(time_left, "time_left", non_negative=True)
    return g * s * s * tl + (2.0 / g) * math.log1p(g / kk)


def simulate_avellaneda_stoikov(
    gamma: float,
    sigma: float = 2.0,
    k: float = 1.5,
    A: float = 140.0,
    horizon: float = 1.0,
    dt: float = 0.005,
    s0: float = 100.0,
    n_paths: int = 1000,
    strategy: Strategy = "inventory",
    seed: int | None = 0,
    return_paths: bool = False,
) -> AvellanedaStoikovResult:
    r"""Simulate the Avellaneda–Stoikov (2008, §4) market maker over ``n_paths`` paths.

    At each step of length ``dt`` the agent quotes

    * ``strategy="inventory"``: bid/ask ``r ∓ spread/2`` around the reservation price
      ``r = s - qγσ²(T - t)``;
    * ``strategy="symmetric"``: bid/ask ``s ∓ spread/2`` around the mid, with the same spread.

    A quote at distance ``δ`` from the mid is hit with probability ``A e^{-kδ} dt`` (clipped to
    ``[0, 1]``), one share per fill, independently on each side; then the mid moves
    ``±σ√dt`` with probability ½ each (the paper's binomial steps). Profit is
    ``X_T + q_T S_T``.

    Parameters
    ----------
    gamma : float
        Risk aversion ``γ > 0``.
    sigma : float, default 2.0
        Mid-price volatility (price units per unit time^½), ``>= 0``.
    k, A : float, default 1.5, 140.0
        Arrival intensity ``A e^{-kδ}``, both ``> 0``.
    horizon : float, default 1.0
        ``T > 0``.
    dt : float, default 0.005
        Step, ``0 < dt <= T`` with ``T / dt`` an integer.
    s0 : float, default 100.0
        Initial mid-price, ``> 0``.
    n_paths : int, default 1000
        Number of simulated paths, ``>= 1``.
    strategy : {"inventory", "symmetric"}
        Quote around the reservation price or around the mid.
    seed : int or None, default 0
        Seed of :func:`numpy.random.default_rng`; the result is a deterministic function of it.
    return_paths : bool, default False
        Also return mid, inventory, cash and quote paths.

    Returns
    -------
    AvellanedaStoikovResult

    Notes
    -----
    With the paper's parameters and γ = 0.1 (1000 paths) this gives a mean profit of about 65
    with std about 6.5 and final-inventory std about 3 for the inventory strategy, against about
    68, 13 and 8.5 for the symmetric one; the paper reports 62.94, 5.89, 2.80 and 67.21,
    13.43, 8.66. For γ = 0.5 the paper's figures (inventory 33.92, symmetric 66.20) are not
    reproduced by the formulas as published (about 48 and 58 here); its symmetric figures match
    a constant spread ``(2/γ) ln(1 + γ/k)`` instead, the value its tables list as "spread".

    Examples
    --------
    >>> res = simulate_avellaneda_stoikov(0.1, n_paths=200, seed=1)
    >>> res.profit.shape, bool(res.final_inventory.std() < 5)
    ((200,), True)
    """
    g = check_scalar(gamma, "gamma", positive=True)
    sig = check_scalar(sigma, "sigma", non_negative=True)
    kk = check_scalar(k, "k", positive=True)
    amp = check_scalar(A, "A", positive=True)
    t_end = check_scalar(horizon, "horizon", positive=True)
    step = check_scalar(dt, "dt", positive=True)
    mid0 = check_scalar(s0, "s0", positive=True)
    paths = check_int(n_paths, "n_paths", minimum=1)
    if strategy not in ("inventory", "symmetric"):
        raise ValueError(f"strategy must be 'inventory' or 'symmetric', got {strategy!r}")
    if step > t_end:
        raise ValueError(f"dt must be <= horizon, got dt={step}, horizon={t_end}")
    n_steps = round(t_end / step)
    if abs(n_steps * step - t_end) > 1e-9 * t_end:
        raise ValueError(f"horizon / dt must be an integer, got {t_end} / {step}")

    rng = np.random.default_rng(seed)
    mid = np.full(paths, mid0)
    q = np.zeros(paths)
    cash = np.zeros(paths)
    log_term = (2.0 / g) * math.log1p(g / kk)
    jump = sig * math.sqrt(step)
    if return_paths:
        mids = np.empty((n_steps + 1, paths))
        invs = np.empty((n_steps + 1, paths))
        cashs = np.empty((n_steps + 1, paths))
        bids = np.empty((n_steps, paths))
        asks = np.empty((n_steps, paths))
        mids[0], invs[0], cashs[0] = mid, q, cash
    spread_sum = 0.0
    for i in range(n_steps):
        time_left = t_end - i * step
        risk = g * sig * sig * time_left
        half_spread = 0.5 * (risk + log_term)
        spread_sum += 2.0 * half_spread
        centre = mid - q * risk if strategy == "inventory" else mid
        bid = centre - half_spread
        ask = centre + half_spread
        p_ask = np.clip(amp * np.exp(-kk * (ask - mid)) * step, 0.0, 1.0)
        p_bid = np.clip(amp * np.exp(-kk * (mid - bid)) * step, 0.0, 1.0)
        u = rng.random((3, paths))
        sold = u[0] < p_ask
        bought = u[1] < p_bid
        q = q - sold + bought
        cash = cash + sold * ask - bought * bid
        mid = mid + np.where(u[2] < 0.5, jump, -jump)
        if return_paths:
            bids[i], asks[i] = bid, ask
            mids[i + 1], invs[i + 1], cashs[i + 1] = mid, q, cash
    return AvellanedaStoikovResult(
        profit=cash + q * mid,
        final_inventory=q,
        average_spread=spread_sum / n_steps,
        strategy=strategy,
        mid=mids if return_paths else None,
        inventory=invs if return_paths else None,
        cash=cashs if return_paths else None,
        bid=bids if return_paths else None,
        ask=asks if return_paths else None,
    )
