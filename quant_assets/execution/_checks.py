"""Argument checks shared by the execution modules.

Each check raises ``ValueError`` (or ``TypeError``) naming the offending argument, so that
bad input never turns into a silently wrong number.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from numpy.typing import ArrayLike, NDArray


def as_float_array(value: ArrayLike, name: str) -> NDArray[np.float64]:
    """Return ``value`` as a float array, rejecting NaN and infinities."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric, got {value!r}") from exc
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    if np.isinf(arr).any():
        raise ValueError(f"{name} contains an infinite value")
    return arr


def check_array(
    value: ArrayLike,
    name: str,
    *,
    positive: bool = False,
    non_negative: bool = False,
) -> NDArray[np.float64]:
    """Finite float array, optionally required to be positive or non-negative."""
    arr = as_float_array(value, name)
    if positive and (arr <= 0).any():
        raise ValueError(f"{name} must be > 0, got {arr[arr <= 0].ravel()[:3].tolist()}")
    if non_negative and (arr < 0).any():
        raise ValueError(f"{name} must be >= 0, got {arr[arr < 0].ravel()[:3].tolist()}")
    return arr


def check_scalar(
    value: object,
    name: str,
    *,
    positive: bool = False,
    non_negative: bool = False,
    allow_inf: bool = False,
) -> float:
    """Finite real scalar (``inf`` only when ``allow_inf``), optionally sign-constrained."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    out = float(value)
    if math.isnan(out):
        raise ValueError(f"{name} is NaN")
    if math.isinf(out) and not (allow_inf and out > 0):
        raise ValueError(f"{name} must be finite, got {out}")
    if positive and not out > 0:
        raise ValueError(f"{name} must be > 0, got {out}")
    if non_negative and not out >= 0:
        raise ValueError(f"{name} must be >= 0, got {out}")
    return out


def check_int(value: object, name: str, *, minimum: int = 1) -> int:
    """Integer (not bool) at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    out = int(value)
    if out < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {out}")
    return out


def scalar_or_array(arr: NDArray[np.float64]) -> float | NDArray[np.float64]:
    """Return a Python float for 0-d results, the array otherwise."""
    return float(arr) if arr.ndim == 0 else arr
