"""Trailing-window statistics of ``(T, N)`` matrices by differences of cumulative sums.

Row ``t`` of every output reads rows ``t-window+1 .. t`` only (NaN cells skipped, NaN where
fewer than ``min_obs`` are valid), so nothing after ``t`` can change it. One ``cumsum`` per
moment makes each statistic O(T N) whatever the window.
"""

from __future__ import annotations

import numpy as np

__all__ = ["window_sums", "rolling_moments", "rolling_beta", "lagged_sum"]


def window_sums(x: np.ndarray, window: int, valid: np.ndarray | None = None) -> np.ndarray:
    """Sum over the last ``window`` rows of ``x`` where ``valid`` (default: non-NaN)."""
    valid = ~np.isnan(x) if valid is None else valid
    s = np.cumsum(np.where(valid, x, 0.0), axis=0)
    s[window:] -= s[:-window].copy()
    return s


def _count(valid: np.ndarray, window: int) -> np.ndarray:
    n = np.cumsum(valid, axis=0, dtype=float)
    n[window:] -= n[:-window].copy()
    return n


def lagged_sum(x: np.ndarray, start: int, stop: int, min_share: float = 0.8) -> np.ndarray:
    """Sum of ``x`` over rows ``t-stop+1 .. t-start`` (``stop > start >= 0``), NaN skipped.

    NaN where the window reaches before the first row or fewer than ``min_share`` of its
    ``stop - start`` rows are valid.
    """
    valid = ~np.isnan(x)
    zero = np.zeros((1, x.shape[1]))
    c = np.vstack([zero, np.cumsum(np.where(valid, x, 0.0), axis=0)])   # c[k]: rows < k
    m = np.vstack([zero, np.cumsum(valid, axis=0, dtype=float)])
    out = np.full(x.shape, np.nan)
    t = np.arange(stop - 1, len(x))
    s = c[t - start + 1] - c[t - stop + 1]
    n = m[t - start + 1] - m[t - stop + 1]
    out[t] = np.where(n >= min_share * (stop - start), s, np.nan)
    return out


def rolling_moments(r: np.ndarray, window: int, min_obs: int) -> dict[str, np.ndarray]:
    """Trailing ``n``, mean, std (ddof 1), downside semideviation, skew, excess kurtosis, quarticity.

    ``downside`` is :math:`\\sqrt{\\sum_t \\min(r_t, 0)^2 / n}` and ``quarticity`` the realized
    quarticity :math:`(n/3)\\sum_t r_t^4` (Barndorff-Nielsen & Shephard 2002). Skewness and
    kurtosis are the moment ratios :math:`m_3/m_2^{3/2}` and :math:`m_4/m_2^2 - 3` of the
    window's central moments (population form).
    """
    valid = ~np.isnan(r)
    z = np.where(valid, r, 0.0)
    n = _count(valid, window)
    s1, s2 = window_sums(z, window, valid), window_sums(z * z, window, valid)
    s3, s4 = window_sums(z ** 3, window, valid), window_sums(z ** 4, window, valid)
    sd = window_sums(np.minimum(z, 0.0) ** 2, window, valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = n >= min_obs
        mu = s1 / n
        m2 = np.maximum(s2 / n - mu ** 2, 0.0)
        m3 = s3 / n - 3 * mu * s2 / n + 2 * mu ** 3
        m4 = s4 / n - 4 * mu * s3 / n + 6 * mu ** 2 * s2 / n - 3 * mu ** 4
        flat = m2 <= 1e-14
        out = {
            "n": n,
            "mean": np.where(ok, mu, np.nan),
            "std": np.where(ok & (n > 1), np.sqrt(m2 * n / np.maximum(n - 1, 1)), np.nan),
            "downside": np.where(ok, np.sqrt(sd / n), np.nan),
            "skew": np.where(ok & ~flat, m3 / m2 ** 1.5, np.nan),
            "kurt": np.where(ok & ~flat, m4 / m2 ** 2 - 3.0, np.nan),
            "quarticity": np.where(ok, n / 3.0 * s4, np.nan),
        }
    return out


def rolling_beta(r: np.ndarray, f: np.ndarray, window: int, min_obs: int) -> np.ndarray:
    """Trailing OLS slope of each column of ``r`` on the factor ``f`` (shape ``(T,)``).

    Uses the rows where both are valid: :math:`\\beta = \\mathrm{cov}(r, f) / \\mathrm{var}(f)`.
    """
    fv = ~np.isnan(f)
    valid = ~np.isnan(r) & fv[:, None]
    fz = np.where(fv, f, 0.0)[:, None]
    z = np.where(valid, r, 0.0)
    fm = np.where(valid, fz, 0.0)
    n = _count(valid, window)
    sr, sf = window_sums(z, window, valid), window_sums(fm, window, valid)
    srf, sff = window_sums(z * fm, window, valid), window_sums(fm * fm, window, valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = sff / n - (sf / n) ** 2
        cov = srf / n - sr * sf / n ** 2
        return np.where((n >= min_obs) & (var > 1e-18), cov / var, np.nan)
