"""Forecast calibration of probabilities against binary outcomes: Brier score and log-loss.

Brier (1950), "Verification of forecasts expressed in terms of probability": the mean squared
error ``mean((p - y)^2)`` (0 perfect, 0.25 for a constant 1/2). Log-loss (Good 1952): ``-mean(y
ln p + (1 - y) ln(1 - p))`` with ``p`` clipped to ``[EPS, 1 - EPS]`` (ln 2 = 0.6931 for a constant 1/2).

Example
-------
>>> brier([0.5, 0.5], [0, 1])
0.25
"""

from __future__ import annotations

import numpy as np

EPS = 1e-12

__all__ = ["brier", "log_loss"]


def _pair(p, y) -> tuple[np.ndarray, np.ndarray]:
    p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    if p.shape != y.shape:
        raise ValueError(f"probabilities {p.shape} and outcomes {y.shape} differ in shape")
    keep = np.isfinite(p) & np.isfinite(y)
    p, y = p[keep], y[keep]
    if ((p < 0) | (p > 1)).any():
        raise ValueError("probabilities must lie in [0, 1]")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("outcomes must be 0 or 1")
    return p, y


def brier(p, y) -> float:
    """Brier score of probabilities ``p`` for outcomes ``y`` (NaN pairs dropped; NaN if none left)."""
    p, y = _pair(p, y)
    return float(np.mean((p - y) ** 2)) if p.size else float("nan")


def log_loss(p, y) -> float:
    """Mean negative log-likelihood (nats) of outcomes ``y`` under probabilities ``p``."""
    p, y = _pair(p, y)
    if not p.size:
        return float("nan")
    p = np.clip(p, EPS, 1 - EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
