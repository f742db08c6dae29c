"""Tick sizes, price rounding and the quoted-spread model shared by bars and reference data.

Quoted relative spread as a function of dollar ADV (a square-root liquidity law, in the spirit
of Roll 1984 and the spread/volume regressions of Stoll 2000)::

    s_rel = 2 bp + 8 bp * sqrt($10M / ADV$)

The dollar spread is ``max(tick, round(s_rel * price / tick) * tick)``: never below one tick,
so low-priced names have wide relative spreads.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "HALF_PENNY",
    "PENNY",
    "SUB_PENNY",
    "ceil_to_tick",
    "dollar_spread",
    "floor_to_tick",
    "relative_spread",
    "round_to_tick",
    "tick_size",
]

PENNY = 0.01
HALF_PENNY = 0.005
SUB_PENNY = 0.0001
_EPS = 1e-9


def tick_size(ref_price: np.ndarray, half_penny: np.ndarray) -> np.ndarray:
    """Tick in force: 0.0001 below $1, else 0.005 for eligible names, else 0.01.

    Examples
    --------
    >>> tick_size(np.array([0.5, 20.0, 20.0]), np.array([False, True, False])).tolist()
    [0.0001, 0.005, 0.01]
    """
    p = np.asarray(ref_price, dtype=float)
    return np.where(p < 1.0, SUB_PENNY, np.where(half_penny, HALF_PENNY, PENNY))


def round_to_tick(x: np.ndarray, tick: np.ndarray) -> np.ndarray:
    """Nearest multiple of ``tick`` (kept on a 4-decimal grid).

    Examples
    --------
    >>> round_to_tick(np.array([10.004, 10.006]), 0.01).tolist()
    [10.0, 10.01]
    """
    return np.round(np.round(np.asarray(x) / tick) * tick, 4)


def floor_to_tick(x: np.ndarray, tick: np.ndarray) -> np.ndarray:
    """Largest multiple of ``tick`` not above ``x`` (up to float noise)."""
    return np.round(np.floor(np.asarray(x) / tick + _EPS) * tick, 4)


def ceil_to_tick(x: np.ndarray, tick: np.ndarray) -> np.ndarray:
    """Smallest multiple of ``tick`` not below ``x`` (up to float noise)."""
    return np.round(np.ceil(np.asarray(x) / tick - _EPS) * tick, 4)


def relative_spread(dollar_adv: np.ndarray) -> np.ndarray:
    """Relative quoted spread ``2e-4 + 8e-4 * sqrt(1e7 / ADV$)``.

    Examples
    --------
    >>> relative_spread(np.array([1e7])).round(6).tolist()
    [0.001]
    """
    return 2e-4 + 8e-4 * np.sqrt(1e7 / np.maximum(np.asarray(dollar_adv, dtype=float), 1.0))


def dollar_spread(rel: np.ndarray, price: np.ndarray, tick: np.ndarray) -> np.ndarray:
    """Dollar spread rounded to the tick, never below one tick.

    Examples
    --------
    >>> dollar_spread(np.array([0.001, 0.001]), np.array([5.0, 100.0]), 0.01).tolist()
    [0.01, 0.1]
    """
    return np.maximum(tick, round_to_tick(np.asarray(rel) * np.asarray(price), tick))
