"""Distribution drift of features: population stability index and Kullback–Leibler divergence.

Both compare the distribution of a feature in a live window (``actual``) with the one it had in
the training window (``expected``) on the same bins: deciles of the training window by default,
so each training bin holds a tenth of its mass.

PSI (Yurdakul 2018, "Statistical properties of population stability index"; Siddiqi 2006,
*Credit Risk Scorecards*, ch. 8) is the symmetrised KL divergence of the binned shares,
``PSI = sum_i (a_i - e_i) ln(a_i / e_i)``; the industry reading is < 0.1 stable, 0.1–0.25 a
moderate shift, > 0.25 a significant one. KL here is ``KL(actual || expected) = sum_i a_i
ln(a_i / e_i)``. An empty bin gets ``EPS`` of mass before renormalising, so both stay finite.

Example
-------
>>> e = np.array([0.5, 0.5]); a = np.array([0.25, 0.75])
>>> round(psi_from_shares(e, a), 6)  # (0.25-0.5) ln(0.5) + (0.75-0.5) ln(1.5)
0.274653
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

EPS = 1e-4
"""Share given to an empty bin before renormalising (keeps PSI and KL finite)."""
N_BINS = 10

__all__ = ["EPS", "N_BINS", "bin_shares", "feature_drift", "kl_from_shares", "kl_normal", "psi", "psi_from_shares"]


def _clean(shares: np.ndarray) -> np.ndarray:
    s = np.asarray(shares, dtype=float)
    if s.ndim != 1 or s.size == 0 or (s < 0).any() or not np.isfinite(s).all():
        raise ValueError("shares must be a non-empty 1-d array of finite non-negative numbers")
    if s.sum() <= 0:
        raise ValueError("shares sum to zero: no observation in any bin")
    s = np.where(s > 0, s / s.sum(), EPS)
    return s / s.sum()


def psi_from_shares(expected: np.ndarray, actual: np.ndarray) -> float:
    """PSI of two binned distributions given as shares (or counts) per bin."""
    e, a = _clean(expected), _clean(actual)
    if e.shape != a.shape:
        raise ValueError(f"expected has {e.size} bins, actual {a.size}")
    return float(np.sum((a - e) * np.log(a / e)))


def kl_from_shares(expected: np.ndarray, actual: np.ndarray) -> float:
    """``KL(actual || expected)`` of two binned distributions (nats)."""
    e, a = _clean(expected), _clean(actual)
    if e.shape != a.shape:
        raise ValueError(f"expected has {e.size} bins, actual {a.size}")
    return float(np.sum(a * np.log(a / e)))


def bin_shares(expected: np.ndarray, actual: np.ndarray, n_bins: int = N_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Shares of ``expected`` and ``actual`` in the quantile bins of ``expected`` (NaN dropped).

    The outer bins are open (everything below the first decile, above the last), so live values
    outside the training range are counted, not lost.
    """
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    e, a = e[np.isfinite(e)], a[np.isfinite(a)]
    if e.size == 0 or a.size == 0:
        raise ValueError(f"need observations on both sides, got {e.size} expected and {a.size} actual")
    edges = np.unique(np.quantile(e, np.linspace(0, 1, n_bins + 1)[1:-1]))
    e_counts = np.bincount(np.searchsorted(edges, e, side="right"), minlength=edges.size + 1)
    a_counts = np.bincount(np.searchsorted(edges, a, side="right"), minlength=edges.size + 1)
    return e_counts / e.size, a_counts / a.size


def psi(expected: np.ndarray, actual: np.ndarray, n_bins: int = N_BINS) -> float:
    """PSI of raw samples on the quantile bins of ``expected``."""
    return psi_from_shares(*bin_shares(expected, actual, n_bins))


def kl_normal(mu_p: float, sigma_p: float, mu_q: float, sigma_q: float) -> float:
    """Closed form ``KL(N(mu_p, sigma_p^2) || N(mu_q, sigma_q^2))`` in nats (reference for the binned KL).

    ``ln(sigma_q / sigma_p) + (sigma_p^2 + (mu_p - mu_q)^2) / (2 sigma_q^2) - 1/2``.
    """
    if sigma_p <= 0 or sigma_q <= 0:
        raise ValueError("standard deviations must be positive")
    return float(np.log(sigma_q / sigma_p) + (sigma_p**2 + (mu_p - mu_q) ** 2) / (2 * sigma_q**2) - 0.5)


def feature_drift(
    train: pd.DataFrame, live: pd.DataFrame, features: Sequence[str], n_bins: int = N_BINS
) -> pd.DataFrame:
    """PSI and ``KL(live || train)`` per feature: columns ``feature, psi, kl, n_train, n_live``.

    Features with no finite observation on either side are reported with NaN drift.
    """
    rows = []
    for name in features:
        e = pd.to_numeric(train[name], errors="coerce").to_numpy(dtype=float)
        a = pd.to_numeric(live[name], errors="coerce").to_numpy(dtype=float)
        n_e, n_a = int(np.isfinite(e).sum()), int(np.isfinite(a).sum())
        if n_e and n_a:
            es, as_ = bin_shares(e, a, n_bins)
            rows.append((name, psi_from_shares(es, as_), kl_from_shares(es, as_), n_e, n_a))
        else:
            rows.append((name, np.nan, np.nan, n_e, n_a))
    return pd.DataFrame(rows, columns=["feature", "psi", "kl", "n_train", "n_live"])
