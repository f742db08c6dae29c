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
    c = np.vstack([zero, np.cumsum(np.where(valid, x, 0.0), axis=0)])  # c[k]: rows < k
    m = np.vstack([zero, np.cumsum(valid, axis=0, dtype=float)])
    out = np.full(x.shape, np.nan)
    t = np.arange(stop - 1, len(x))
    s = c[t - start + 1] - c[t - stop + 1]
    n = m[t - start + 1] - m[t - stop + 1]
    out[t] = np.where(n >= min_share * (stop - start), s, np.nan)
    return out


_NEEDS = {"mean": (1,), "std": (1, 2), "downside": ("d",), "skew": (1, 2, 3), "kurt": (1, 2, 3, 4), "quarticity": (4,)}
STATS = tuple(_NEEDS)


def rolling_moments(r: np.ndarray, window: int, min_obs: int, stats=STATS) -> dict[str, np.ndarray]:
    """Trailing mean, std (ddof 1), downside semideviation, skew, excess kurtosis, quarticity.

    ``downside`` is :math:`\\sqrt{\\sum_t \\min(r_t, 0)^2 / n}` and ``quarticity`` the realized
    quarticity :math:`(n/3)\\sum_t r_t^4` (Barndorff-Nielsen & Shephard 2002). Skewness and
    kurtosis are the moment ratios :math:`m_3/m_2^{3/2}` and :math:`m_4/m_2^2 - 3` of the
    window's central moments (population form). Only the sums ``stats`` need are computed.
    """
    valid = ~np.isnan(r)
    z = np.where(valid, r, 0.0)
    n = _count(valid, window)
    need = {k for s in stats for k in _NEEDS[s]}
    sums, zk = {}, z
    for k in range(1, 1 + max((k for k in need if isinstance(k, int)), default=0)):
        zk = zk if k == 1 else zk * z  # a product: float ** k is ~50x slower
        if k in need:
            sums[k] = window_sums(zk, window, valid)
    del zk
    out = {"n": n}
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = n >= min_obs
        if 1 in sums:
            mu = sums[1] / n
        if 2 in sums:
            m2 = np.maximum(sums[2] / n - mu**2, 0.0)
            flat = m2 <= 1e-14
        if "mean" in stats:
            out["mean"] = np.where(ok, mu, np.nan)
        if "std" in stats:
            out["std"] = np.where(ok & (n > 1), np.sqrt(m2 * n / np.maximum(n - 1, 1)), np.nan)
        if "downside" in stats:
            sd = window_sums(np.minimum(z, 0.0) ** 2, window, valid)
            out["downside"] = np.where(ok, np.sqrt(sd / n), np.nan)
        if "skew" in stats or "kurt" in stats:
            mu2 = mu * mu
            m3 = sums[3] / n - 3 * mu * sums[2] / n + 2 * mu2 * mu
            if "skew" in stats:
                out["skew"] = np.where(ok & ~flat, m3 / (m2 * np.sqrt(m2)), np.nan)
            if "kurt" in stats:
                m4 = sums[4] / n - 4 * mu * sums[3] / n + 6 * mu2 * sums[2] / n - 3 * mu2 * mu2
                out["kurt"] = np.where(ok & ~flat, m4 / (m2 * m2) - 3.0, np.nan)
        if "quarticity" in stats:
            out["quarticity"] = np.where(ok, n / 3.0 * sums[4], np.nan)
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
        cov = srf / n - sr * sf / n**2
        return np.where((n >= min_obs) & (var > 1e-18), cov / var, np.nan)
