"""Tests of PSR, expected maximum Sharpe, DSR and MinTRL."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from quant_assets.validation import (
    EULER_GAMMA,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    min_track_record_length,
    probabilistic_sharpe_ratio,
    selection_dsr,
    sharpe_ratio_std,
)


def test_euler_gamma_constant() -> None:
    """Euler-Mascheroni constant equals -digamma(1)."""
    from scipy.special import digamma

    assert EULER_GAMMA == pytest.approx(-digamma(1.0), abs=1e-15)


def test_deflated_sharpe_ratio_paper_example() -> None:
    """Bailey and López de Prado (2014), "The Deflated Sharpe Ratio", numerical example.

    N = 100 trials, selected annualized SR 2.5 over T = 1250 daily observations
    (5 years of 250 days), annualized variance of the trials' SR 0.5, skewness -3,
    kurtosis 10: the expected maximum SR is 0.1132 per day and DSR = 0.9004.
    """
    days = 250
    sr0 = expected_max_sharpe(100, 0.5 / days)
    assert sr0 == pytest.approx(0.1132, abs=5e-5)
    dsr = deflated_sharpe_ratio(2.5 / np.sqrt(days), 1250, -3.0, 10.0, 100, 0.5 / days)
    assert dsr == pytest.approx(0.9004, abs=5e-5)


def test_expected_max_sharpe_pseudo_mathematics_examples() -> None:
    """Bailey, Borwein, López de Prado and Zhu (2014), "Pseudo-Mathematics and Financial
    Charlatanism", Notices of the AMS 61(5): for N = 10 independent zero-skill
    trials, E[max] ~ 1.57 standard deviations; with 5 years of data (V[annualized SR]
    = 1/5) at most about 45 trials keep E[max annualized SR] at 1 (MinBTL example).
    """
    assert expected_max_sharpe(10, 1.0) == pytest.approx(1.57, abs=0.006)
    assert expected_max_sharpe(45, 1.0 / 5.0) == pytest.approx(1.0, abs=0.005)


def _exact_expected_max_normal(n: int) -> float:
    """E[max of n iid N(0,1)] by numerical integration of x * n * phi(x) * Phi(x)**(n-1)."""
    f = lambda x: x * n * stats.norm.pdf(x) * stats.norm.cdf(x) ** (n - 1)
    return integrate.quad(f, -12, 12, limit=200)[0]


@pytest.mark.parametrize("n", [10, 100, 1000])
def test_expected_max_sharpe_against_exact_and_monte_carlo(n: int) -> None:
    """The Euler-Mascheroni approximation is within 3% of E[max of N normals]
    (numerical integration and a Monte Carlo of 4,000 draws agree with each other)."""
    exact = _exact_expected_max_normal(n)
    rng = np.random.default_rng(n)
    mc = rng.standard_normal((4000, n)).max(axis=1)
    assert mc.mean() == pytest.approx(exact, abs=4 * mc.std() / np.sqrt(mc.size))
    var = 0.04
    assert expected_max_sharpe(n, var) == pytest.approx(np.sqrt(var) * exact, rel=0.03)


def test_expected_max_sharpe_single_trial_is_zero() -> None:
    assert expected_max_sharpe(1, 0.3) == 0.0


def _skewed_returns(
    rng: np.random.Generator, size: tuple[int, int], shape: float, sign: float, sr: float
) -> np.ndarray:
    """Returns with Sharpe ``sr``, skew sign*2/sqrt(shape), kurtosis 3 + 6/shape."""
    g = (rng.gamma(shape, 1.0, size=size) - shape) / np.sqrt(shape)
    return sr + sign * g


def test_sharpe_ratio_std_against_monte_carlo() -> None:
    """Asymptotic SR standard error (Bailey and López de Prado 2012; Mertens 2002) matches the
    Monte Carlo dispersion of the estimated SR under skewed, fat-tailed returns (gamma
    innovations with skew -1.26, kurtosis 5.4)."""
    rng = np.random.default_rng(7)
    shape, n_obs, sr = 2.5, 250, 0.15
    r = _skewed_returns(rng, (20000, n_obs), shape, -1.0, sr)
    est = r.mean(axis=1) / r.std(axis=1, ddof=1)
    skew, kurt = -2 / np.sqrt(shape), 3 + 6 / shape
    assert est.std() == pytest.approx(sharpe_ratio_std(sr, n_obs, skew, kurt), rel=0.05)
    # ... and differs clearly from the normal-returns standard error.
    assert abs(sharpe_ratio_std(sr, n_obs, 0.0, 3.0) / est.std() - 1) > 0.05


def test_psr_is_calibrated_under_the_null() -> None:
    """Under H0 (true SR equal to the benchmark) PSR > 0.95 happens about 5% of the
    time when skewness and kurtosis are estimated from each sample."""
    rng = np.random.default_rng(11)
    shape, n_obs, sr = 4.0, 500, 0.1
    r = _skewed_returns(rng, (10000, n_obs), shape, -1.0, sr)
    est = r.mean(axis=1) / r.std(axis=1, ddof=1)
    psr = probabilistic_sharpe_ratio(est, n_obs, stats.skew(r, axis=1), stats.kurtosis(r, axis=1, fisher=False), sr)
    assert np.mean(psr > 0.95) == pytest.approx(0.05, abs=0.015)


def test_psr_normal_case_closed_form() -> None:
    """With normal moments the PSR statistic is (SR - SR*) sqrt(n-1) / sqrt(1 + SR^2/2)
    (Lo 2002 standard error); checked against scipy's normal CDF."""
    sr, n, bench = 0.08, 500, 0.02
    z = (sr - bench) * np.sqrt(n - 1) / np.sqrt(1 + sr**2 / 2)
    assert probabilistic_sharpe_ratio(sr, n, 0.0, 3.0, bench) == pytest.approx(stats.norm.cdf(z), abs=1e-14)


def test_broadcasting_matches_scalar_calls() -> None:
    sr = np.array([[0.05], [0.1], [0.2]])
    skew = np.array([-1.0, 0.0, 0.5, 1.0])
    out = probabilistic_sharpe_ratio(sr, 120, skew, 6.0, 0.01)
    assert out.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            assert out[i, j] == probabilistic_sharpe_ratio(float(sr[i, 0]), 120, float(skew[j]), 6.0, 0.01)
    assert isinstance(deflated_sharpe_ratio(0.1, 100, 0.0, 3.0, 10, 0.01), float)
    assert min_track_record_length(sr, 0.0, skew, 6.0).shape == (3, 4)


@settings(max_examples=60, deadline=None)
@given(
    sr=st.floats(0.01, 1.0),
    gap=st.floats(0.005, 0.5),
    skew=st.floats(-3.0, 3.0),
    extra_kurt=st.floats(0.0, 20.0),
    alpha=st.floats(0.001, 0.3),
)
def test_min_track_record_length_inverts_psr(sr, gap, skew, extra_kurt, alpha) -> None:
    """MinTRL is the track record at which PSR equals 1 - alpha (Bailey and López de
    Prado 2012: MinTRL is the PSR equation solved for n)."""
    kurt = 1 + skew**2 + extra_kurt
    bench = sr - gap
    n = min_track_record_length(sr, bench, skew, kurt, alpha)
    assume(n > 1 + 1e-9)
    assert probabilistic_sharpe_ratio(sr, n, skew, kurt, bench) == pytest.approx(1 - alpha, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(sr=st.floats(0.02, 0.8), skew=st.floats(-2.0, 2.0), extra_kurt=st.floats(0.5, 10.0))
def test_non_normality_penalizes_positive_sharpe(sr, skew, extra_kurt) -> None:
    """For SR > 0, more negative skewness or fatter tails lower the PSR and lengthen
    the MinTRL (Bailey and López de Prado 2012)."""
    kurt = 2 + skew**2 + extra_kurt
    base = probabilistic_sharpe_ratio(sr, 60, skew, kurt)
    assume(base < 1 - 1e-9)  # a PSR that rounds to 1.0 in float64 cannot be lowered visibly
    assert probabilistic_sharpe_ratio(sr, 60, skew - 0.5, kurt + 2) < base
    assert probabilistic_sharpe_ratio(sr, 60, skew, kurt + 1) < base
    assert min_track_record_length(sr, 0.0, skew - 0.5, kurt + 2) > min_track_record_length(sr, 0.0, skew, kurt)


def test_min_track_record_length_infinite_without_edge() -> None:
    assert min_track_record_length(0.1, 0.1, 0.0, 3.0) == np.inf
    assert min_track_record_length(0.05, 0.1, 0.0, 3.0) == np.inf


def test_nan_inputs_propagate() -> None:
    out = probabilistic_sharpe_ratio(np.array([0.1, np.nan]), 100, 0.0, 3.0)
    assert np.isfinite(out[0]) and np.isnan(out[1])
    assert np.isnan(deflated_sharpe_ratio(0.1, 100, 0.0, 3.0, np.nan, 0.01))
    assert np.isnan(min_track_record_length(0.1, 0.0, np.nan, 3.0))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: probabilistic_sharpe_ratio(0.1, 100, 0.0, 0.0), "kurtosis"),  # excess kurtosis
        (lambda: probabilistic_sharpe_ratio(0.1, 100, 2.0, 4.0), "kurtosis"),  # < 1 + skew^2
        (lambda: probabilistic_sharpe_ratio(0.1, 1, 0.0, 3.0), "n_obs"),
        (lambda: expected_max_sharpe(0, 0.1), "n_trials"),
        (lambda: expected_max_sharpe(10, -0.1), "var_trials"),
        (lambda: deflated_sharpe_ratio(0.1, 100, 0.0, 3.0, 0.5, 0.1), "n_trials"),
        (lambda: min_track_record_length(0.1, 0.0, 0.0, 3.0, alpha=1.5), "alpha"),
        (lambda: min_track_record_length(0.1, 0.0, 0.0, 3.0, alpha=0.0), "alpha"),
    ],
)
def test_bad_input_raises(call, match) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_non_numeric_input_raises() -> None:
    with pytest.raises(TypeError, match="sr"):
        probabilistic_sharpe_ratio("high", 100, 0.0, 3.0)


def test_selection_dsr_matches_the_dsr_of_the_path_moments() -> None:
    """The summary DSR uses the mean path moments; too few finite rows give NaN."""
    rng = np.random.default_rng(0)
    paths = rng.normal(0.01, 0.05, size=(60, 4))
    paths[3, 1] = np.nan
    x = paths[np.isfinite(paths).all(axis=1)]
    skew = float(np.mean(stats.skew(x, axis=0)))
    kurt = float(np.mean(stats.kurtosis(x, axis=0, fisher=False)))
    out = selection_dsr(paths, 0.2, 59.0, 5, 1 / 58, ann=2.0)
    assert out["dsr"] == pytest.approx(deflated_sharpe_ratio(0.2, 59.0, skew, kurt, 5, 1 / 58))
    assert out["expected_max_sharpe_ann"] == pytest.approx(2.0 * expected_max_sharpe(5, 1 / 58))
    assert np.isnan(selection_dsr(paths[:2], 0.2, 59.0, 5, 1 / 58)["dsr"])
