"""Quasi-explicit SVI slice calibration (Zeliade 2009) against exact data and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import least_squares

from quant_assets.options import (
    fit_svi_slice,
    fit_svi_slices,
    svi_butterfly_arbitrage,
    svi_g,
    svi_total_variance,
)

VOGT = {"a": -0.0410, "b": 0.1331, "rho": 0.3060, "m": 0.3586, "sigma": 0.4153}


def _arbitrage_free_by_brute_force(fit) -> bool:
    """Independent butterfly check: Lee's bound and Durrleman's g >= 0 (NaN where w <= 0) on
    a fine grid out to |k| = 10 plus a dense grid around m in units of sigma."""
    p = (fit.a, fit.b, fit.rho, fit.m, fit.sigma)
    k = np.concatenate([np.linspace(-10.0, 10.0, 40001), fit.m + fit.sigma * np.sinh(np.linspace(-8, 8, 1601))])
    return bool(np.all(svi_g(k, *p) >= 0.0)) and fit.b * (1.0 + abs(fit.rho)) <= 2.0


def _noisy_slice(rng):
    """A noisy slice from an arbitrage-free raw SVI truth, as in benchmarks/bench_svi.py
    (maturity 1 week to 2 years, skewed strike range, 1% noise on implied vol)."""
    while True:
        t = np.exp(rng.uniform(np.log(7 / 365), np.log(2.0)))
        atm_vol = rng.uniform(0.12, 0.45)
        sigma = rng.uniform(0.05, 0.5) * np.sqrt(t)
        b = rng.uniform(0.3, 1.5) * atm_vol * np.sqrt(t) / max(sigma, 0.05) * 0.5
        rho, m = rng.uniform(-0.9, 0.3), rng.uniform(-0.1, 0.15) * np.sqrt(t)
        a = atm_vol**2 * t - b * (-rho * m + np.sqrt(m * m + sigma * sigma))
        if bool(svi_butterfly_arbitrage(a, b, rho, m, sigma)):
            continue
        width = atm_vol * np.sqrt(t) * rng.uniform(2.0, 4.0)
        k = np.sort(rng.uniform(-1.2 * width, 0.7 * width, rng.integers(12, 41)))
        w = svi_total_variance(k, a, b, rho, m, sigma)
        if np.all(w > 0):
            vol = np.sqrt(w / t) * (1.0 + 0.01 * rng.standard_normal(k.size))
            return k, vol * vol * t, (a, b, rho, m, sigma)


@pytest.mark.parametrize(
    "params",
    [
        (0.02, 0.1, -0.4, 0.05, 0.2),
        (0.005, 0.2, -0.7, 0.05, 0.15),
        (0.04, 0.05, 0.2, 0.1, 0.4),
        (-0.01, 0.2, -0.3, 0.0, 0.25),
        (0.001, 0.3, -0.8, -0.1, 0.05),  # has butterfly arbitrage: fitted unconstrained
    ],
)
def test_recovers_parameters_from_exact_data(params):
    k = np.linspace(-0.8, 0.5, 27)
    w = svi_total_variance(k, *params)
    arbitrage = bool(svi_butterfly_arbitrage(*params))
    fit = fit_svi_slice(k, w, arbitrage_free=not arbitrage)
    assert fit.butterfly_arbitrage == arbitrage
    assert fit.converged
    assert fit.rmse < 1e-8
    np.testing.assert_allclose([fit.a, fit.b, fit.rho, fit.m, fit.sigma], params, atol=2e-5)
    np.testing.assert_allclose(fit.total_variance(k), w, atol=1e-8)


def _least_squares_rmse(k, w):
    def resid(p):
        a, b, rho, m, s = p
        return a + b * (rho * (k - m) + np.sqrt((k - m) ** 2 + s * s)) - w

    best = np.inf
    for x0 in ([0.5 * w.min(), 0.1, -0.5, 0.0, 0.1], [w.min(), 0.3, 0.0, 0.1, 0.3]):
        res = least_squares(resid, x0, bounds=([-1, 0, -0.999, -2, 1e-4], [1, 2, 0.999, 2, 4]))
        best = min(best, np.sqrt(np.mean(res.fun**2)))
    return best


def test_rmse_no_worse_than_scipy_least_squares_on_noisy_slices():
    """On noisy arbitrage-free slices the fit is at least as good as scipy's least_squares on
    the raw five-parameter problem (two starting points), within 1e-6 relative."""
    rng = np.random.default_rng(7)
    for _ in range(8):
        a, b = rng.uniform(0.0, 0.03), rng.uniform(0.05, 0.3)
        rho, m, s = rng.uniform(-0.8, 0.0), rng.uniform(-0.1, 0.1), rng.uniform(0.05, 0.3)
        k = np.sort(rng.uniform(-0.7, 0.4, 25))
        w = svi_total_variance(k, a, b, rho, m, s) * (1 + 0.02 * rng.standard_normal(k.size))
        fit = fit_svi_slice(k, w, arbitrage_free=False)
        assert fit.converged
        assert fit.rmse <= _least_squares_rmse(k, w) * (1 + 1e-6)


def test_arbitrage_free_fit_to_vogt_data():
    """Data sampled from the Vogt slice (Gatheral & Jacquier 2014, Example 3.1), which has
    butterfly arbitrage: unconstrained, the fit reproduces it (and flags it); constrained, it
    returns a nearby slice without butterfly arbitrage."""
    k = np.linspace(-1.0, 1.5, 41)
    w = svi_total_variance(k, **VOGT)
    free = fit_svi_slice(k, w, arbitrage_free=False)
    assert free.rmse < 1e-7 and free.butterfly_arbitrage
    assert not _arbitrage_free_by_brute_force(free)
    fit = fit_svi_slice(k, w)
    assert not fit.butterfly_arbitrage and _arbitrage_free_by_brute_force(fit)
    assert fit.converged and fit.rmse < 0.05 * w.mean()


def test_weights_ignore_an_outlier():
    params = (0.02, 0.1, -0.4, 0.05, 0.2)
    k = np.linspace(-0.6, 0.4, 21)
    w = svi_total_variance(k, *params)
    w_bad = w.copy()
    w_bad[5] += 0.05
    weights = np.ones_like(k)
    weights[5] = 0.0
    fit = fit_svi_slice(k, w_bad, weights)
    np.testing.assert_allclose([fit.a, fit.b, fit.rho, fit.m, fit.sigma], params, atol=2e-5)


def test_input_errors():
    k = np.linspace(-0.5, 0.5, 10)
    w = 0.04 + 0.1 * k**2
    with pytest.raises(ValueError, match="differ in length"):
        fit_svi_slice(k, w[:-1])
    with pytest.raises(ValueError, match="finite"):
        fit_svi_slice(k, np.where(k > 0.3, np.nan, w))
    with pytest.raises(ValueError, match="5 distinct"):
        fit_svi_slice(k[:4], w[:4])
    with pytest.raises(ValueError, match="weights"):
        fit_svi_slice(k, w, -np.ones_like(k))


def test_noisy_arbitrage_free_truth_gives_arbitrage_free_fit():
    """Noisy data from arbitrage-free slices: the default fit is free of butterfly arbitrage
    (checked independently on the wide grid) and its RMSE stays at the noise level, i.e. at
    most that of the true slice plus a margin."""
    rng = np.random.default_rng(11)
    for _ in range(6):
        params = (0.01, rng.uniform(0.1, 0.3), rng.uniform(-0.7, -0.1), 0.0, rng.uniform(0.1, 0.3))
        assert not bool(svi_butterfly_arbitrage(*params))
        k = np.sort(rng.uniform(-0.8, 0.4, 25))
        w_true = svi_total_variance(k, *params)
        w = w_true * (1 + 0.02 * rng.standard_normal(k.size))
        fit = fit_svi_slice(k, w)
        assert fit.converged and not fit.butterfly_arbitrage
        assert not bool(svi_butterfly_arbitrage(fit.a, fit.b, fit.rho, fit.m, fit.sigma))
        assert fit.rmse <= 1.5 * np.sqrt(np.mean((w_true - w) ** 2))


def test_nearly_parabolic_smile_converges_at_the_sigma_bound():
    """A smile that is a parabola in k over the data (SVI with sigma far beyond the data span)
    is fitted as well as scipy's least_squares on the raw problem, and reported converged."""
    k = np.linspace(-0.3, 0.3, 15)
    w = 0.04 + 0.01 * k + 0.05 * k**2
    fit = fit_svi_slice(k, w, arbitrage_free=False)
    assert fit.converged
    assert fit.rmse <= _least_squares_rmse(k, w) * (1 + 1e-6) + 1e-10


def test_arbitrage_free_refit_where_the_unconstrained_optimum_has_arbitrage():
    """Noisy data from arbitrage-free slices whose unconstrained best fit has butterfly
    arbitrage: the default fit is arbitrage-free (brute-force check), its RMSE is within 1.5x
    of the unconstrained one and no worse than the true slice's, which is an arbitrage-free
    candidate (so a bad local solution would fail), nor than the flat smile at the mean level."""
    rng = np.random.default_rng(3)
    cases = 0
    while cases < 8:
        k, w, truth = _noisy_slice(rng)
        free = fit_svi_slice(k, w, arbitrage_free=False)
        if not free.butterfly_arbitrage:
            continue
        cases += 1
        fit = fit_svi_slice(k, w)
        assert not fit.butterfly_arbitrage and _arbitrage_free_by_brute_force(fit)
        assert fit.rmse <= 1.5 * free.rmse
        rmse_truth = np.sqrt(np.mean((svi_total_variance(k, *truth) - w) ** 2))
        assert fit.rmse <= rmse_truth * (1 + 1e-3)
        assert fit.rmse <= np.std(w)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_default_fit_of_noisy_arbitrage_free_data_is_arbitrage_free(seed):
    """Property: for noisy data from any arbitrage-free slice the default fit has no butterfly
    arbitrage and fits at least as well as the true slice (an arbitrage-free candidate)."""
    k, w, truth = _noisy_slice(np.random.default_rng(seed))
    fit = fit_svi_slice(k, w)
    assert not fit.butterfly_arbitrage and _arbitrage_free_by_brute_force(fit)
    rmse_truth = np.sqrt(np.mean((svi_total_variance(k, *truth) - w) ** 2))
    assert fit.rmse <= rmse_truth * (1 + 1e-3)


def _fit_params(fit):
    return np.array([fit.a, fit.b, fit.rho, fit.m, fit.sigma])


def _assert_same_fit(batched, single):
    """Batched and single fits agree: RMSE to 1e-10 relative (the objective), parameters to
    1e-6 relative (SVI's flat valleys leave them less determined than the fit), flags equal."""
    assert batched.converged == single.converged
    assert batched.butterfly_arbitrage == single.butterfly_arbitrage
    assert batched.rmse == pytest.approx(single.rmse, rel=1e-10, abs=1e-15)
    np.testing.assert_allclose(_fit_params(batched), _fit_params(single), rtol=1e-6, atol=1e-10)


def test_batched_fits_equal_single_fits_on_ragged_weighted_slices():
    """fit_svi_slices on ragged slices (12–40 points, some weighted, some with a zero-weight
    outlier) returns what fit_svi_slice returns slice by slice, in input order, converged."""
    rng = np.random.default_rng(21)
    ks, ws, weights = [], [], []
    for j in range(40):
        k, w, _ = _noisy_slice(rng)
        wt = None
        if j % 3 == 1:
            wt = rng.uniform(0.2, 2.0, k.size)
        elif j % 3 == 2:
            wt = np.ones_like(k)
            wt[k.size // 2] = 0.0
            w = w.copy()
            w[k.size // 2] += 0.05
        ks.append(k)
        ws.append(w)
        weights.append(wt)
    batched = fit_svi_slices(ks, ws, weights, arbitrage_free=False)
    assert len(batched) == len(ks)
    for k, w, wt, fit in zip(ks, ws, weights, batched):
        _assert_same_fit(fit, fit_svi_slice(k, w, wt, arbitrage_free=False))
        assert fit.converged


def test_batched_arbitrage_free_fits_match_single_fits():
    """With the arbitrage-free default, batched fits equal single fits where no re-fit is
    needed; where the unconstrained optimum has butterfly arbitrage both re-fits (multi-start
    SLSQP from starting points equal to rounding) are arbitrage-free (brute-force check) with
    RMSEs within 1% of each other."""
    rng = np.random.default_rng(5)
    slices = [_noisy_slice(rng)[:2] for _ in range(30)]
    ks, ws = [s[0] for s in slices], [s[1] for s in slices]
    free = fit_svi_slices(ks, ws, arbitrage_free=False)
    assert any(f.butterfly_arbitrage for f in free)
    batched = fit_svi_slices(ks, ws)
    for (k, w), fit, unconstrained in zip(slices, batched, free):
        single = fit_svi_slice(k, w)
        if unconstrained.butterfly_arbitrage:
            assert fit.rmse == pytest.approx(single.rmse, rel=1e-2)
            assert _arbitrage_free_by_brute_force(single)
        else:
            _assert_same_fit(fit, single)
        assert not fit.butterfly_arbitrage and _arbitrage_free_by_brute_force(fit)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 9))
def test_batched_equals_single_property(seed, n_slices):
    """Property: for any batch of noisy slices (any count, ragged lengths) the batched fit of
    each slice equals its single fit, and both are at least as good as the true slice."""
    rng = np.random.default_rng(seed)
    slices = [_noisy_slice(rng) for _ in range(n_slices)]
    batched = fit_svi_slices([s[0] for s in slices], [s[1] for s in slices], arbitrage_free=False)
    for (k, w, truth), fit in zip(slices, batched):
        _assert_same_fit(fit, fit_svi_slice(k, w, arbitrage_free=False))
        assert fit.converged
        assert fit.rmse <= np.sqrt(np.mean((svi_total_variance(k, *truth) - w) ** 2)) * (1 + 1e-9)


def test_batched_converges_and_matches_least_squares_on_benchmark_like_slices():
    """On benchmark-like noisy slices every batched fit converges with an RMSE no worse than
    scipy's least_squares on the raw five-parameter problem (1e-6 relative)."""
    rng = np.random.default_rng(13)
    slices = [_noisy_slice(rng)[:2] for _ in range(12)]
    fits = fit_svi_slices([s[0] for s in slices], [s[1] for s in slices], arbitrage_free=False)
    for (k, w), fit in zip(slices, fits):
        assert fit.converged
        assert fit.rmse <= _least_squares_rmse(k, w) * (1 + 1e-6)


def test_batched_input_errors_name_the_slice():
    k = np.linspace(-0.5, 0.5, 10)
    w = 0.04 + 0.1 * k**2
    with pytest.raises(ValueError, match="slice 1: k .* differ in length"):
        fit_svi_slices([k, k], [w, w[:-1]])
    with pytest.raises(ValueError, match="slice 2: .*finite"):
        fit_svi_slices([k, k, k], [w, w, np.where(k > 0.3, np.nan, w)])
    with pytest.raises(ValueError, match="slice 0: .*5 distinct"):
        fit_svi_slices([k[:4], k], [w[:4], w])
    with pytest.raises(ValueError, match="slice 1: .*5 distinct"):
        fit_svi_slices([k, np.repeat(k[:3], 3)], [w, np.repeat(w[:3], 3)])
    with pytest.raises(ValueError, match="slice 1: weights"):
        fit_svi_slices([k, k], [w, w], [None, -np.ones_like(k)])
    with pytest.raises(ValueError, match="slice 0: weights .* differ in length"):
        fit_svi_slices([k, k], [w, w], [np.ones(3), None])
    with pytest.raises(ValueError, match="ks .* and total_variances .* differ"):
        fit_svi_slices([k, k], [w])
    with pytest.raises(ValueError, match="at least one slice"):
        fit_svi_slices([], [])
