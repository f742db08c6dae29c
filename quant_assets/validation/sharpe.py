"""Sharpe-ratio inference: PSR, expected maximum Sharpe, DSR and MinTRL.

All Sharpe ratios are *per observation* (not annualized) and ``kurtosis`` is the
non-excess (Pearson) kurtosis, equal to 3 for normal returns. Every function
broadcasts its array arguments like NumPy and returns a float for scalar input.

NaN inputs propagate to NaN outputs. Finite inputs outside a function's domain
(``n_obs <= 1``, ``kurtosis < 1 + skew**2``, ``n_trials < 1``, ``var_trials < 0``,
``alpha`` outside (0, 1)) raise ``ValueError`` naming the argument: they are
never turned into a number.

References
----------
Bailey, D. H. and López de Prado, M. (2012). "The Sharpe Ratio Efficient
Frontier". Journal of Risk 15(2), 3-44.
Bailey, D. H. and López de Prado, M. (2014). "The Deflated Sharpe Ratio:
Correcting for Selection Bias, Backtest Overfitting and Non-Normality".
Journal of Portfolio Management 40(5), 94-107.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats
from scipy.special import ndtr, ndtri

__all__ = [
    "EULER_GAMMA",
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "min_track_record_length",
    "probabilistic_sharpe_ratio",
    "selection_dsr",
    "sharpe_ratio_std",
]

#: Euler-Mascheroni constant.
EULER_GAMMA: float = float(np.euler_gamma)

# Sample moments satisfy kurtosis >= 1 + skew**2 exactly; allow rounding noise.
_MOMENT_TOL = 1e-9


def _as_float(x: ArrayLike, name: str) -> NDArray[np.float64]:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric, got {type(x).__name__}") from exc
    return arr


def _finite_violation(arr: NDArray[np.float64], bad: NDArray[np.bool_]) -> bool:
    """True where a finite (non-NaN) entry violates the domain."""
    return bool(np.any(bad & ~np.isnan(arr)))


def _out(x: NDArray[np.float64]) -> Any:
    return float(x) if x.ndim == 0 else x


def _check_moments(skew: NDArray[np.float64], kurtosis: NDArray[np.float64]) -> None:
    with np.errstate(invalid="ignore"):
        bad = kurtosis < 1.0 + skew**2 - _MOMENT_TOL
    if _finite_violation(kurtosis + skew, bad):
        raise ValueError(
            "kurtosis must be the non-excess kurtosis (3 for normal returns) and "
            "satisfy kurtosis >= 1 + skew**2; was excess kurtosis passed?"
        )


def _check_n_obs(n_obs: NDArray[np.float64]) -> None:
    with np.errstate(invalid="ignore"):
        bad = n_obs <= 1
    if _finite_violation(n_obs, bad):
        raise ValueError("n_obs must be > 1 observation")


def sharpe_ratio_std(sr: ArrayLike, n_obs: ArrayLike, skew: ArrayLike, kurtosis: ArrayLike) -> Any:
    r"""Standard error of an estimated per-observation Sharpe ratio.

    .. math::

        \hat\sigma[\widehat{SR}] = \sqrt{\frac{1 - \hat\gamma_3 \widehat{SR}
        + \frac{\hat\gamma_4 - 1}{4}\widehat{SR}^2}{n - 1}}

    (Bailey and López de Prado 2012, after Mertens 2002), with
    :math:`\hat\gamma_3` the skewness and :math:`\hat\gamma_4` the non-excess kurtosis.

    Parameters
    ----------
    sr, n_obs, skew, kurtosis : array_like
        Per-observation Sharpe ratio, number of observations, skewness and
        non-excess kurtosis of the returns. Broadcast together.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> round(sharpe_ratio_std(0.0, 101, 0.0, 3.0), 6)
    0.1
    """
    sr_a = _as_float(sr, "sr")
    n_a = _as_float(n_obs, "n_obs")
    g3 = _as_float(skew, "skew")
    g4 = _as_float(kurtosis, "kurtosis")
    _check_n_obs(n_a)
    _check_moments(g3, g4)
    with np.errstate(invalid="ignore"):
        var = (1.0 - g3 * sr_a + (g4 - 1.0) / 4.0 * sr_a**2) / (n_a - 1.0)
        out = np.sqrt(np.maximum(var, 0.0))
    return _out(np.asarray(out, dtype=np.float64))


def probabilistic_sharpe_ratio(
    sr: ArrayLike,
    n_obs: ArrayLike,
    skew: ArrayLike,
    kurtosis: ArrayLike,
    sr_benchmark: ArrayLike = 0.0,
) -> Any:
    r"""Probabilistic Sharpe ratio: probability that the true Sharpe exceeds a benchmark.

    .. math::

        \widehat{PSR}(SR^*) = \Phi\left[\frac{(\widehat{SR} - SR^*)\sqrt{n-1}}
        {\sqrt{1 - \hat\gamma_3\widehat{SR} + \frac{\hat\gamma_4-1}{4}\widehat{SR}^2}}\right]

    Bailey and López de Prado (2012), "The Sharpe Ratio Efficient Frontier".

    Parameters
    ----------
    sr : array_like
        Observed per-observation Sharpe ratio :math:`\widehat{SR}`.
    n_obs : array_like
        Number of return observations :math:`n` (> 1; fractional values, as
        returned by :func:`min_track_record_length`, are accepted).
    skew : array_like
        Skewness :math:`\hat\gamma_3` of the returns.
    kurtosis : array_like
        Non-excess kurtosis :math:`\hat\gamma_4` (3 for normal returns).
    sr_benchmark : array_like, default 0.0
        Per-observation benchmark Sharpe ratio :math:`SR^*`.

    Returns
    -------
    float or ndarray
        PSR in [0, 1].

    Examples
    --------
    >>> round(probabilistic_sharpe_ratio(0.1, 101, 0.0, 3.0), 4)
    0.8407
    """
    se = np.asarray(sharpe_ratio_std(sr, n_obs, skew, kurtosis), dtype=np.float64)
    sr_a = _as_float(sr, "sr")
    bench = _as_float(sr_benchmark, "sr_benchmark")
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (sr_a - bench) / se
    return _out(np.asarray(ndtr(z), dtype=np.float64))


def expected_max_sharpe(n_trials: ArrayLike, var_trials: ArrayLike) -> Any:
    r"""Expected maximum Sharpe ratio among ``n_trials`` zero-skill trials.

    .. math::

        E[\max_n \widehat{SR}_n] \approx \sqrt{V[\widehat{SR}_n]}\left((1-\gamma)
        \Phi^{-1}\left[1-\frac{1}{N}\right] + \gamma\Phi^{-1}\left[1-\frac{1}{Ne}\right]\right)

    with :math:`\gamma` the Euler-Mascheroni constant (Bailey and López de Prado
    2014, "The Deflated Sharpe Ratio"; Bailey, Borwein, López de Prado and Zhu
    2014, "Pseudo-Mathematics and Financial Charlatanism"). For ``n_trials == 1`` the expected
    maximum of one zero-mean trial is 0.

    Parameters
    ----------
    n_trials : array_like
        Number of independent trials :math:`N` (>= 1).
    var_trials : array_like
        Variance :math:`V` of the trials' per-observation Sharpe ratios (>= 0).

    Returns
    -------
    float or ndarray
        Expected maximum per-observation Sharpe ratio :math:`SR_0`.

    Examples
    --------
    >>> round(expected_max_sharpe(10, 1.0), 3)
    1.575
    """
    n = _as_float(n_trials, "n_trials")
    v = _as_float(var_trials, "var_trials")
    with np.errstate(invalid="ignore"):
        if _finite_violation(n, n < 1):
            raise ValueError("n_trials must be >= 1")
        if _finite_violation(v, v < 0):
            raise ValueError("var_trials must be >= 0")
        n_safe = np.where(n >= 1, n, np.nan)
        z = (1.0 - EULER_GAMMA) * -ndtri(1.0 / n_safe) + EULER_GAMMA * -ndtri(1.0 / (n_safe * np.e))
        z = np.where(n_safe == 1, 0.0, z)
        out = np.sqrt(v) * z
    return _out(np.asarray(out, dtype=np.float64))


def deflated_sharpe_ratio(
    sr: ArrayLike,
    n_obs: ArrayLike,
    skew: ArrayLike,
    kurtosis: ArrayLike,
    n_trials: ArrayLike,
    var_trials: ArrayLike,
) -> Any:
    r"""Deflated Sharpe ratio: the PSR against the expected maximum Sharpe of the trials.

    .. math::

        \widehat{DSR} = \widehat{PSR}(\widehat{SR}_0), \qquad
        \widehat{SR}_0 = \sqrt{V[\widehat{SR}_n]}\left((1-\gamma)\Phi^{-1}
        \left[1-\frac{1}{N}\right] + \gamma\Phi^{-1}\left[1-\frac{1}{Ne}\right]\right)

    Bailey and López de Prado (2014), "The Deflated Sharpe Ratio".

    Parameters
    ----------
    sr : array_like
        Per-observation Sharpe ratio of the selected strategy.
    n_obs : array_like
        Number of return observations of the selected strategy.
    skew, kurtosis : array_like
        Skewness and non-excess kurtosis of the selected strategy's returns.
    n_trials : array_like
        Number of independent trials :math:`N` behind the selection (all of them,
        not only the reported ones).
    var_trials : array_like
        Variance of the trials' per-observation Sharpe ratios.

    Returns
    -------
    float or ndarray
        DSR in [0, 1]; values above 0.95 reject "no skill" at the 5% level.

    Examples
    --------
    >>> # Bailey and López de Prado (2014) numerical example:
    >>> round(deflated_sharpe_ratio(2.5 / 250**0.5, 1250, -3, 10, 100, 0.5 / 250), 4)
    0.9004
    """
    sr0 = expected_max_sharpe(n_trials, var_trials)
    return probabilistic_sharpe_ratio(sr, n_obs, skew, kurtosis, sr_benchmark=sr0)


def min_track_record_length(
    sr: ArrayLike,
    sr_benchmark: ArrayLike,
    skew: ArrayLike,
    kurtosis: ArrayLike,
    alpha: ArrayLike = 0.05,
) -> Any:
    r"""Minimum track record length for the Sharpe ratio to beat a benchmark.

    .. math::

        MinTRL = 1 + \left[1 - \hat\gamma_3\widehat{SR} + \frac{\hat\gamma_4 - 1}{4}
        \widehat{SR}^2\right]\left(\frac{Z_{1-\alpha}}{\widehat{SR} - SR^*}\right)^2

    Bailey and López de Prado (2012), "The Sharpe Ratio Efficient Frontier".
    It is the ``n_obs`` at which :func:`probabilistic_sharpe_ratio` equals
    ``1 - alpha``. Where ``sr <= sr_benchmark`` no track record suffices and the
    result is ``inf``.

    Parameters
    ----------
    sr : array_like
        Observed per-observation Sharpe ratio.
    sr_benchmark : array_like
        Per-observation benchmark Sharpe ratio :math:`SR^*`.
    skew, kurtosis : array_like
        Skewness and non-excess kurtosis of the returns.
    alpha : array_like, default 0.05
        Significance level, in (0, 1).

    Returns
    -------
    float or ndarray
        Number of observations (same frequency as ``sr``), not rounded.

    Examples
    --------
    >>> round(min_track_record_length(0.1, 0.0, 0.0, 3.0), 2)
    272.91
    """
    sr_a = _as_float(sr, "sr")
    bench = _as_float(sr_benchmark, "sr_benchmark")
    g3 = _as_float(skew, "skew")
    g4 = _as_float(kurtosis, "kurtosis")
    a = _as_float(alpha, "alpha")
    _check_moments(g3, g4)
    with np.errstate(invalid="ignore", divide="ignore"):
        if _finite_violation(a, (a <= 0) | (a >= 1)):
            raise ValueError("alpha must lie in (0, 1)")
        z = -ndtri(a)
        edge = sr_a - bench
        factor = 1.0 - g3 * sr_a + (g4 - 1.0) / 4.0 * sr_a**2
        out = 1.0 + factor * (z / edge) ** 2
        out = np.where(edge <= 0, np.inf, out)
        out = np.where(np.isnan(edge) | np.isnan(factor) | np.isnan(z), np.nan, out)
    return _out(np.asarray(out, dtype=np.float64))


def selection_dsr(
    path_returns: ArrayLike, sr: float, n_obs: float, n_trials: float, var_trials: float, ann: float = 1.0
) -> dict[str, float]:
    """DSR of a selected candidate from its CPCV path returns, with the figures behind it.

    Skewness and (non-excess) kurtosis are the means over the paths of the biased sample
    moments of the rows finite on every path; the DSR is NaN when they or ``sr`` are not
    finite (Bailey and López de Prado 2014, "The Deflated Sharpe Ratio").

    Parameters
    ----------
    path_returns : array_like
        Sessions x paths returns of the selected candidate.
    sr : float
        Its per-observation Sharpe ratio.
    n_obs : float
        Effective number of independent observations.
    n_trials, var_trials : float
        Trials behind the selection and the variance of their Sharpe ratios under the null.
    ann : float, default 1.0
        Annualisation factor of ``expected_max_sharpe_ann``.

    Returns
    -------
    dict
        ``dsr, sharpe_obs, expected_max_sharpe_obs, expected_max_sharpe_ann, n_trials, var_trials,
        n_obs_effective, skew, kurtosis``.
    """
    x = np.asarray(path_returns, dtype=np.float64)
    x = x[np.isfinite(x).all(axis=1)]
    enough = len(x) > 2
    skew = float(np.mean(stats.skew(x, axis=0, bias=True))) if enough else float("nan")
    kurt = float(np.mean(stats.kurtosis(x, axis=0, fisher=False, bias=True))) if enough else float("nan")
    sr0 = float(expected_max_sharpe(n_trials, var_trials))
    ok = np.isfinite([sr, skew, kurt]).all()
    dsr = float(deflated_sharpe_ratio(sr, n_obs, skew, max(kurt, 1 + skew**2), n_trials, var_trials)) if ok else np.nan
    return {
        "dsr": float(dsr),
        "sharpe_obs": sr,
        "expected_max_sharpe_obs": sr0,
        "expected_max_sharpe_ann": sr0 * ann,
        "n_trials": float(n_trials),
        "var_trials": var_trials,
        "n_obs_effective": n_obs,
        "skew": skew,
        "kurtosis": kurt,
    }
