"""Optional numba: a compiled path when it is installed, the plain Python function otherwise.

The layout follows ``arch.compat.numba`` (arch, K. Sheppard): kernels are written once in
scalar Python, decorated with :func:`jit`, and stay importable and testable without numba.
Nothing is cached on disk (``cache=False``): numba's default cache lives next to the package
source, which may be read-only or shared; compiling costs a few seconds once per process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["HAS_NUMBA", "jit", "prange"]

try:
    import numba as _numba
except ImportError:  # pragma: no cover - depends on the environment
    _numba = None

HAS_NUMBA = _numba is not None


def jit(*, parallel: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``numba.njit(cache=False, error_model="numpy", parallel=parallel)``, or the identity."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        if _numba is None:
            return func
        return _numba.njit(cache=False, error_model="numpy", parallel=parallel)(func)

    return decorate


prange = range if _numba is None else _numba.prange
