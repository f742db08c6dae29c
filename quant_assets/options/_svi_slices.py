r"""Batches of SVI slices normalised for the fit of :mod:`quant_assets.options.svi_fit`.

Data are mapped to x = (k - mid)/span and v / max|v|; the grid of the outer problem in
:math:`(m, \ln\sigma)` and Lee's bound (Lee 2004) are expressed in those units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

# Data are mapped to x = (k - mid)/span in [-0.5, 0.5] and v / max|v|; bounds in those units.
_LS_BOUNDS = (float(np.log(1e-3)), float(np.log(10.0)))  # ln sigma, sigma in data spans
_GRID_M = np.linspace(-0.7, 1.7, 13)  # offsets from the lowest data point, in data spans
_GRID_LS = np.linspace(np.log(2e-3), np.log(8.0), 12)
_GRID = (np.repeat(_GRID_M, _GRID_LS.size), np.tile(_GRID_LS, _GRID_M.size))
_LEE = 2.0 * (1.0 - 1e-6)  # b(1+|rho|) <= _LEE: Lee's bound, strictly inside


class _Slices:
    """A batch of normalised slices, padded to a common length with zero weights (a padded
    point repeats the slice's last point, so extremes are unchanged): x = (k - mean)/span
    (weighted mean, so sum(w x) = 0), v / max|v|, the weighted moments, and the box for m in
    x units (one data span beyond the data). Arrays are (B, N); per-slice scalars (B, 1)."""

    def __init__(self, k: Array, v: Array, wt: Array, n: NDArray[np.intp]) -> None:
        k_lo, k_hi = k.min(axis=1, keepdims=True), k.max(axis=1, keepdims=True)
        self.n = n
        self.sw = wt.sum(axis=1, keepdims=True)
        self.mid = (wt * k).sum(axis=1, keepdims=True) / self.sw
        self.span = k_hi - k_lo
        scale = np.abs(v).max(axis=1, keepdims=True)
        self.scale = np.where(scale > 0, scale, 1.0)
        self.k, self.w = k, wt
        self.x = x = (k - self.mid) / self.span
        self.v = v = v / self.scale
        wx, wv = wt * x, wt * v
        self.moments = np.stack([wt, wx, wv], axis=2)  # Q @ moments -> sums of w Q, w x Q, w v Q
        self.sxx = (wx * x).sum(axis=1, keepdims=True)
        self.sv = wv.sum(axis=1, keepdims=True)
        self.sxv = (wx * v).sum(axis=1, keepdims=True)
        self.svv = (wv * v).sum(axis=1, keepdims=True)
        self.cv0, self.cv1 = self.sv / self.sw, self.sxv / self.sxx  # v on span{1, x}
        self.svv_perp = self.svv - self.sv * self.cv0 - self.sxv * self.cv1
        self.lee = _LEE * self.span / self.scale  # Lee's bound on b in normalised units
        lo = (k_lo - self.mid) / self.span
        self.m_lo, self.m_hi = lo - 1.0, lo + 2.0
        self.grid_m = lo + _GRID[0]

    def take(self, rows: NDArray[np.intp]) -> _Slices:
        """The sub-batch of ``rows``."""
        sub = object.__new__(_Slices)
        sub.__dict__.update({name: value[rows] for name, value in self.__dict__.items()})
        return sub

    def one(self, j: int) -> _Slice:
        """Slice ``j`` without its padding, per-slice values as floats."""
        n = int(self.n[j])
        return _Slice(
            k=self.k[j, :n],
            v=self.v[j, :n],
            w=self.w[j, :n],
            x=self.x[j, :n],
            mid=float(self.mid[j, 0]),
            span=float(self.span[j, 0]),
            scale=float(self.scale[j, 0]),
            sw=float(self.sw[j, 0]),
            sv=float(self.sv[j, 0]),
            svv=float(self.svv[j, 0]),
            lee=float(self.lee[j, 0]),
            m_bounds=(float(self.m_lo[j, 0]), float(self.m_hi[j, 0])),
            grid_m=self.grid_m[j],
        )


@dataclass(frozen=True)
class _Slice:
    """One normalised slice of :class:`_Slices` (for the per-slice arbitrage-free re-fit)."""

    k: Array
    v: Array
    w: Array
    x: Array
    mid: float
    span: float
    scale: float
    sw: float
    sv: float
    svv: float
    lee: float
    m_bounds: tuple[float, float]
    grid_m: Array
