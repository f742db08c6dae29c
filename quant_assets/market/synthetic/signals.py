"""The planted cross-sectional signals and the expected return built from them.

All functions read only rows ``<= t`` of their history arguments, so a signal at ``t`` is known
at the close of session ``t`` (tested as a no-look-ahead property).

Signals (Jegadeesh & Titman 1993; Fama & French 1992; Lehmann 1990; Jegadeesh 1990):

* intermediate momentum  ``mom_t = L_{t-21} - L_{t-252}`` (log total return from t-252 to t-21),
* value                  ``val_t = log(B / (shares_t * P_t))``, B the latest *arrived* book equity,
* short-term reversal    ``rev_t = -(L_t - L_{t-5})``,

where ``L`` is the log total-return index. Each is turned into a winsorised cross-sectional
z-score over the names where it is defined; names without it get 0 (neutral). The planted
next-day expected excess log return is ``mu_t = s_mom z_mom + s_val z_val + s_rev z_rev``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "MOMENTUM_LOOKBACK",
    "MOMENTUM_SKIP",
    "REVERSAL_WINDOW",
    "cross_sectional_zscore",
    "momentum_at",
    "planted_expected_return",
    "reversal_at",
    "value_at",
]

MOMENTUM_LOOKBACK = 252
MOMENTUM_SKIP = 21
REVERSAL_WINDOW = 5


def momentum_at(
    log_tri: np.ndarray, t: int, lookback: int = MOMENTUM_LOOKBACK, skip: int = MOMENTUM_SKIP
) -> np.ndarray:
    """Intermediate momentum ``L[t-skip] - L[t-lookback]`` per name (NaN if unavailable).

    Parameters
    ----------
    log_tri : ndarray, shape (T, N)
        Log total-return index; NaN where a name is not listed.
    t : int
        Row index of the current session.

    Examples
    --------
    >>> L = np.log(np.array([[1.0], [1.1], [1.2], [1.5]]))
    >>> float(np.round(momentum_at(L, 3, lookback=3, skip=1)[0], 6))
    0.182322
    """
    _check_history(log_tri, t)
    if t - lookback < 0:
        return np.full(log_tri.shape[1], np.nan)
    return log_tri[t - skip] - log_tri[t - lookback]


def reversal_at(log_tri: np.ndarray, t: int, window: int = REVERSAL_WINDOW) -> np.ndarray:
    """Short-term reversal ``-(L[t] - L[t-window])`` per name (NaN if unavailable).

    Examples
    --------
    >>> L = np.log(np.array([[1.0], [1.0], [0.9]]))
    >>> float(np.round(reversal_at(L, 2, window=2)[0], 6))
    0.105361
    """
    _check_history(log_tri, t)
    if t - window < 0:
        return np.full(log_tri.shape[1], np.nan)
    return -(log_tri[t] - log_tri[t - window])


def value_at(book_equity: np.ndarray, shares: np.ndarray, price: np.ndarray) -> np.ndarray:
    """Log book-to-market ``log(B / (shares * price))``; NaN where any input is missing or <= 0.

    Examples
    --------
    >>> float(np.round(value_at(np.array([50.0]), np.array([10.0]), np.array([10.0]))[0], 6))
    -0.693147
    """
    b = np.asarray(book_equity, dtype=float)
    m = np.asarray(shares, dtype=float) * np.asarray(price, dtype=float)
    ok = (b > 0) & (m > 0)
    out = np.full(np.broadcast(b, m).shape, np.nan)
    np.log(b / np.where(ok, m, 1.0), out=out, where=ok)
    return out


def cross_sectional_zscore(x: np.ndarray, winsor: float = 3.0) -> np.ndarray:
    """Robustly winsorised cross-sectional z-score; NaN inputs (and degenerate sections) give 0.

    The finite values are first clipped to ``median +- winsor * 1.4826 * MAD`` (so a single
    outlier cannot squash everyone else), then standardised, ``z = (v - mean(v)) / std(v)``,
    and clipped to ``[-winsor, winsor]``.

    Examples
    --------
    >>> cross_sectional_zscore(np.array([1.0, 2.0, 3.0, np.nan])).round(4).tolist()
    [-1.2247, 0.0, 1.2247, 0.0]
    """
    x = np.asarray(x, dtype=float)
    out = np.zeros_like(x)
    ok = np.isfinite(x)
    if ok.sum() < 3:
        return out
    v = x[ok]
    med = np.median(v)
    mad = 1.4826 * np.median(np.abs(v - med))
    if mad > 0:
        v = np.clip(v, med - winsor * mad, med + winsor * mad)
    sd = v.std()
    if not sd > 0:
        return out
    out[ok] = np.clip((v - v.mean()) / sd, -winsor, winsor)
    return out


def planted_expected_return(
    z_mom: np.ndarray, z_val: np.ndarray, z_rev: np.ndarray, strengths: tuple[float, float, float]
) -> np.ndarray:
    """``mu = s_mom z_mom + s_val z_val + s_rev z_rev`` (next-day expected excess log return).

    Examples
    --------
    >>> planted_expected_return(np.array([1.0]), np.array([0.0]), np.array([-1.0]),
    ...                         (0.001, 0.002, 0.003)).tolist()
    [-0.002]
    """
    s_mom, s_val, s_rev = strengths
    return s_mom * z_mom + s_val * z_val + s_rev * z_rev


def _check_history(log_tri: np.ndarray, t: int) -> None:
    if log_tri.ndim != 2:
        raise ValueError(f"log_tri must be 2-D (sessions x names), got shape {log_tri.shape}")
    if not 0 <= t < log_tri.shape[0]:
        raise ValueError(f"t must index a row of log_tri (0..{log_tri.shape[0] - 1}), got {t}")
