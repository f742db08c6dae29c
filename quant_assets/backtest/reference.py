"""Plain vectorized reference of the frictionless backtest, to check the engine against."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["frictionless_nav"]


def frictionless_nav(
    opens: NDArray[np.float64], closes: NDArray[np.float64], weights: NDArray[np.float64], capital: float
) -> NDArray[np.float64]:
    r"""NAV at each close of target weights traded without costs, partial fills or latency.

    Shares ``s_t = w_t NAV_t / c_t`` are decided at the close of ``t`` and bought at the open of
    ``t + 1``, so ``NAV_{t+1} = NAV_t + s_{t-1} (o_{t+1} - c_t) + s_t (c_{t+1} - o_{t+1})``
    (the old book from the close to the open, the new one from the open to the close). One
    matrix-vector product per session: the recursion in ``NAV`` is all that is sequential.

    Parameters
    ----------
    opens, closes, weights : ndarray, shape (sessions, names)
        Dense bars (no missing values, no corporate actions) and the weights decided at each close.
    capital : float
        NAV before the first session (all cash).

    Examples
    --------
    >>> o = np.array([[10.0], [11.0], [12.0]]); c = np.array([[10.0], [12.0], [12.0]])
    >>> frictionless_nav(o, c, np.ones((3, 1)), 100.0).tolist()  # 10 shares bought at 11 close at 12
    [100.0, 110.0, 110.0]
    """
    n_days = closes.shape[0]
    nav = np.empty(n_days)
    nav[0] = capital
    held = np.zeros(closes.shape[1])
    for t in range(n_days - 1):
        new = weights[t] * nav[t] / closes[t]
        nav[t + 1] = nav[t] + held @ (opens[t + 1] - closes[t]) + new @ (closes[t + 1] - opens[t + 1])
        held = new
    return nav
