"""Probability of backtest overfitting by combinatorially symmetric cross-validation.

Bailey, D. H., Borwein, J. M., López de Prado, M. and Zhu, Q. J. (2017).
"The Probability of Backtest Overfitting". Journal of Computational Finance
20(4), 39-69.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from math import comb
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from numpy.typing import ArrayLike, NDArray

__all__ = ["PBOResult", "cscv_combinations", "probability_of_backtest_overfitting"]

# Upper bound on the C x N Sharpe matrix held in memory (float64 elements).
_MAX_ELEMENTS = 100_000_000


@dataclass(frozen=True)
class PBOResult:
    """Outcome of :func:`probability_of_backtest_overfitting`.

    Attributes
    ----------
    pbo : float
        Share of combinations whose in-sample winner ranks at or below the
        out-of-sample median (logit <= 0).
    logits : ndarray of shape (n_combinations,)
        :math:`\\lambda_c = \\ln(\\bar\\omega_c / (1 - \\bar\\omega_c))` per combination.
    is_performance, oos_performance : ndarray of shape (n_combinations,)
        In-sample and out-of-sample Sharpe ratio (per observation) of the trial
        selected in-sample, per combination (the degradation plot's points).
    selected : ndarray of shape (n_combinations,)
        Column index of the trial selected in-sample, per combination.
    prob_oos_loss : float
        Share of combinations whose selected trial has a negative OOS Sharpe.
    n_combinations : int
        :math:`\\binom{S}{S/2}`.
    n_blocks : int
        Number of row blocks :math:`S`.
    trial_names : list of str
        Column labels of the returns matrix.
    """

    pbo: float
    logits: NDArray[np.float64]
    is_performance: NDArray[np.float64]
    oos_performance: NDArray[np.float64]
    selected: NDArray[np.int64]
    prob_oos_loss: float
    n_combinations: int
    n_blocks: int
    trial_names: list[str] = field(default_factory=list)

    def _degradation_fit(self) -> NDArray[np.float64] | None:
        x, y = self.is_performance, self.oos_performance
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.sum() < 2 or np.ptp(x[ok]) == 0:
            return None
        return np.polyfit(x[ok], y[ok], 1)

    @property
    def degradation_slope(self) -> float:
        """Least-squares slope of OOS on IS performance of the selected trials."""
        fit = self._degradation_fit()
        return float("nan") if fit is None else float(fit[0])

    def figure(self) -> Figure:
        """Degradation scatter (OOS vs IS Sharpe) and histogram of the logits."""
        fig = Figure(figsize=(10, 4), layout="constrained")
        ax1, ax2 = fig.subplots(1, 2)
        ax1.scatter(self.is_performance, self.oos_performance, s=4, alpha=0.4)
        fit = self._degradation_fit()
        if fit is not None:
            finite_is = self.is_performance[np.isfinite(self.is_performance)]
            x = np.array([finite_is.min(), finite_is.max()])
            ax1.plot(x, np.polyval(fit, x), color="C3", label=f"slope {fit[0]:.2f}")
            ax1.legend(loc="best")
        ax1.axhline(0.0, color="grey", lw=0.8)
        ax1.set_xlabel("in-sample Sharpe of selected trial")
        ax1.set_ylabel("out-of-sample Sharpe")
        ax1.set_title(f"Performance degradation (P[OOS<0] = {self.prob_oos_loss:.2f})")
        finite = self.logits[np.isfinite(self.logits)]
        ax2.hist(finite, bins=min(50, max(10, finite.size // 50 or 10)), color="C0")
        ax2.axvline(0.0, color="C3", lw=1.0)
        ax2.set_xlabel("logit of OOS relative rank")
        ax2.set_ylabel("combinations")
        ax2.set_title(f"PBO = {self.pbo:.3f} ({self.n_combinations} combinations)")
        return fig

    def plot(self, path: str | Path) -> Path:
        """Write :meth:`figure` as a PNG to ``path`` and return the path."""
        out = Path(path)
        self.figure().savefig(out, format="png", dpi=100)
        return out


def cscv_combinations(n_blocks: int) -> NDArray[np.int8]:
    """0/1 matrix of shape (C(S, S/2), S): row c marks the in-sample blocks.

    Rows follow ``itertools.combinations(range(n_blocks), n_blocks // 2)`` order.
    """
    half = n_blocks // 2
    idx = np.fromiter(
        (b for c in combinations(range(n_blocks), half) for b in c),
        dtype=np.int64,
        count=comb(n_blocks, half) * half,
    ).reshape(-1, half)
    mat = np.zeros((idx.shape[0], n_blocks), dtype=np.int8)
    np.put_along_axis(mat, idx, 1, axis=1)
    return mat


def _sharpe_from_moments(
    s1: NDArray[np.float64],
    s2: NDArray[np.float64],
    n: NDArray[np.float64],
    shift: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Sharpe (ddof=1) from sums ``s1``, ``s2`` of centred returns over ``n`` rows.

    A zero-variance trial scores ``sign(mean) * inf`` (0 when the mean is 0).
    Works in place on ``s1`` and ``s2`` to limit memory traffic.
    """
    mean = np.divide(s1, n, out=s1)
    tmp = np.multiply(mean, mean)
    tmp *= n
    var = np.subtract(s2, tmp, out=s2)
    var /= n - 1.0
    np.maximum(var, 0.0, out=var)
    std = np.sqrt(var, out=var)
    mean += shift
    with np.errstate(divide="ignore", invalid="ignore"):
        sr = np.divide(mean, std, out=mean)
    flat = std == 0
    if flat.any():
        sr[flat & np.isnan(sr)] = 0.0  # 0 / 0: flat trial with zero mean
    return sr


def _validate(returns: ArrayLike | pd.DataFrame, n_blocks: int) -> tuple[NDArray[np.float64], list[str]]:
    if isinstance(returns, pd.DataFrame):
        names = [str(c) for c in returns.columns]
        mat = returns.to_numpy(dtype=np.float64)
    else:
        mat = np.asarray(returns, dtype=np.float64)
        names = [str(i) for i in range(mat.shape[1])] if mat.ndim == 2 else []
    if mat.ndim != 2:
        raise ValueError(f"returns must be a 2-D (T x N) matrix, got {mat.ndim} dimension(s)")
    if isinstance(n_blocks, bool) or not isinstance(n_blocks, (int, np.integer)):
        raise TypeError(f"n_blocks must be an int, got {type(n_blocks).__name__}")
    if n_blocks < 2 or n_blocks % 2:
        raise ValueError(f"n_blocks must be an even integer >= 2, got {n_blocks}")
    t, n = mat.shape
    if n < 2:
        raise ValueError(f"returns must have at least 2 trials (columns), got {n}")
    if t < max(n_blocks, 4):
        raise ValueError(f"returns has {t} rows; need at least max(n_blocks, 4) = {max(n_blocks, 4)}")
    if not np.all(np.isfinite(mat)):
        raise ValueError("returns contains NaN or infinite values")
    return mat, names


def probability_of_backtest_overfitting(returns: ArrayLike | pd.DataFrame, n_blocks: int = 16) -> PBOResult:
    r"""Probability of backtest overfitting (PBO) by CSCV.

    The T x N matrix of per-period returns of N trials is cut row-wise into
    ``n_blocks`` = S contiguous blocks (``numpy.array_split``: sizes differ by
    at most one row when S does not divide T). For every one of the
    :math:`C = \binom{S}{S/2}` ways to choose S/2 blocks as the in-sample set J
    (the rest, :math:`\bar J`, is out of sample), the trial with the highest
    in-sample Sharpe ratio :math:`n^*` is selected and its out-of-sample
    relative rank :math:`\bar\omega_c = \bar r_{n^*} / (N + 1)` gives the logit

    .. math::

        \lambda_c = \ln\frac{\bar\omega_c}{1 - \bar\omega_c}, \qquad
        PBO = \frac{1}{C}\sum_c \mathbf 1[\lambda_c \le 0].

    Bailey, Borwein, López de Prado and Zhu (2017), the CSCV procedure and its
    PBO estimate.

    Performance is the per-observation Sharpe ratio (mean / standard deviation
    with ddof=1) of each trial on the sub-matrix; a zero-variance trial scores
    ``sign(mean) * inf`` (0 when its mean is 0). Ties: the in-sample winner is
    the lowest column index among equal best scores; the out-of-sample rank of
    the winner is its average rank among ties (``scipy.stats.rankdata`` method
    "average"), ranks running from 1 (worst) to N (best).

    Computation: per-block sums and sums of squares of each trial (centred by
    the trial's full-sample mean for numerical stability) are combined for all
    combinations at once by a (C x S) 0/1 matrix product.

    Parameters
    ----------
    returns : array_like or DataFrame of shape (T, N)
        Per-period returns of N >= 2 trials; no NaN.
    n_blocks : int, default 16
        Even number S >= 2 of row blocks; T must be >= max(S, 4).

    Returns
    -------
    PBOResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> res = probability_of_backtest_overfitting(rng.normal(size=(240, 10)), n_blocks=8)
    >>> res.n_combinations
    70
    >>> 0.0 <= res.pbo <= 1.0
    True
    """
    mat, names = _validate(returns, n_blocks)
    t, n = mat.shape
    shift = mat.mean(axis=0)
    centred = mat - shift
    bounds = np.array_split(np.arange(t), n_blocks)
    starts = np.array([b[0] for b in bounds])
    b1 = np.add.reduceat(centred, starts, axis=0)
    b2 = np.add.reduceat(centred**2, starts, axis=0)
    cnt = np.array([b.size for b in bounds], dtype=np.float64)

    combos = cscv_combinations(n_blocks)
    n_comb = combos.shape[0]
    if n_comb * n > _MAX_ELEMENTS:
        raise ValueError(
            f"n_blocks={n_blocks} gives {n_comb} combinations x {n} trials, more than "
            f"{_MAX_ELEMENTS} Sharpe ratios to hold in memory; use fewer blocks"
        )
    # The out-of-sample set of a combination is the in-sample set of its
    # complement, so one Sharpe matrix over all combinations serves both.
    a = combos.astype(np.float64)
    nn = (a @ cnt)[:, None]
    sharpe = _sharpe_from_moments(a @ b1, a @ b2, nn, shift)
    weights = 1 << np.arange(n_blocks, dtype=np.int64)
    codes = combos.astype(np.int64) @ weights
    order = np.argsort(codes)
    complement = order[np.searchsorted(codes, (1 << n_blocks) - 1 - codes, sorter=order)]
    rows = np.arange(n_comb)
    selected = np.argmax(sharpe, axis=1)
    sr_oos = sharpe[complement]
    is_perf = sharpe[rows, selected]
    oos_perf = sr_oos[rows, selected]
    chosen = oos_perf[:, None]
    below = np.count_nonzero(sr_oos < chosen, axis=1)
    ties = np.count_nonzero(sr_oos == chosen, axis=1)
    omega = (below + (ties + 1) / 2.0) / (n + 1.0)
    logits = np.log(omega / (1.0 - omega))
    return PBOResult(
        pbo=float(np.mean(logits <= 0.0)),
        logits=logits,
        is_performance=is_perf,
        oos_performance=oos_perf,
        selected=selected.astype(np.int64),
        prob_oos_loss=float(np.mean(oos_perf < 0.0)),
        n_combinations=n_comb,
        n_blocks=n_blocks,
        trial_names=names,
    )
