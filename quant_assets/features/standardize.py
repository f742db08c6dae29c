"""Cross-sectional standardization: the winsorized z-score used for every cross-sectional feature.

For each session (row) over the names of its cross-section (``mask``) with a value:

1. mean :math:`\\mu_0` and standard deviation :math:`\\sigma_0`;
2. winsorize at :math:`\\mu_0 \\pm c\\,\\sigma_0` (``clip``, default 3);
3. z-score the winsorized values with their own mean and standard deviation, clipped at
   :math:`\\pm c`.

Rows with fewer than ``MIN_NAMES`` values, or no dispersion, are NaN. Missing inputs stay
NaN (never imputed here). A z-score is the scale a linear model needs and keeps the magnitude
information a rank transform discards; the clip bounds the leverage of bad prints.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CLIP", "MIN_NAMES", "winsorized_z"]

CLIP = 3.0
"""Winsorization and final clip, in cross-sectional standard deviations."""
MIN_NAMES = 3
"""Fewest names with a value for a session's cross-section to be standardized."""


def _moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = np.sum(~np.isnan(x), axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.nansum(x, axis=1, keepdims=True) / n
        sd = np.sqrt(np.nansum((x - mu) ** 2, axis=1, keepdims=True) / np.maximum(n - 1, 1))
    return n, mu, sd


def winsorized_z(x: np.ndarray, mask: np.ndarray, clip: float = CLIP) -> np.ndarray:
    """Winsorized cross-sectional z-score of each row of ``x`` over the cells where ``mask``.

    Examples
    --------
    >>> x = np.array([[1.0, 2.0, 3.0, np.nan]])
    >>> winsorized_z(x, np.ones_like(x, bool)).round(3).tolist()
    [[-1.0, 0.0, 1.0, nan]]
    """
    v = np.where(mask & np.isfinite(x), x, np.nan)
    n, mu, sd = _moments(v)
    with np.errstate(invalid="ignore"):
        v = np.clip(v, mu - clip * sd, mu + clip * sd)
    n, mu, sd = _moments(v)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.clip((v - mu) / sd, -clip, clip)
    bad = (n < MIN_NAMES) | ~(sd > 0)
    return np.where(bad, np.nan, z)
