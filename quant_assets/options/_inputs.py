"""Input handling shared by the option-pricing functions: broadcasting and ``is_call``."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["as_is_call", "broadcast_float_arrays", "scalar_or_array"]


def broadcast_float_arrays(**arrays: ArrayLike) -> list[NDArray[np.float64]]:
    """Convert named array-likes to float64 and broadcast them against each other.

    The results are read-only broadcast views: callers must not write into them.

    Raises
    ------
    TypeError
        If an argument cannot be converted to float (the message names it).
    ValueError
        If the shapes do not broadcast (the message names every argument and its shape).
    """
    converted = []
    for name, value in arrays.items():
        try:
            converted.append(np.asarray(value, dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be numeric array-like, got {value!r}") from exc
    try:
        return list(np.broadcast_arrays(*converted))  # read-only views, no copies
    except ValueError as exc:
        shapes = ", ".join(f"{n}{np.shape(a)}" for n, a in zip(arrays, converted, strict=True))
        raise ValueError(f"argument shapes do not broadcast: {shapes}") from exc


def as_is_call(is_call: ArrayLike) -> NDArray[np.bool_]:
    """Validate ``is_call`` (booleans, or integers 0/1) and return a boolean array.

    Raises
    ------
    TypeError
        If ``is_call`` holds anything but booleans or the integers 0 and 1.
    """
    arr = np.asarray(is_call)
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind in "iu" and np.all((arr == 0) | (arr == 1)):
        return arr.astype(bool)
    raise TypeError(f"is_call must be boolean (True for calls, False for puts), got dtype {arr.dtype}")


def scalar_or_array(values: NDArray[Any]) -> Any:
    """Return a NumPy scalar for a 0-d array, the array itself otherwise."""
    return values[()] if values.ndim == 0 else values
