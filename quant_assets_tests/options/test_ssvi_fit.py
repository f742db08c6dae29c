"""SSVI surface calibration (Gatheral & Jacquier 2014)."""

from __future__ import annotations

import numpy as np
import pytest

from quant_assets.options import (
    fit_ssvi_surface,
    phi_heston,
    phi_power_law,
    ssvi_total_variance,
)

_K = np.linspace(-0.5, 0.4, 15)


def _surface(maturities, thetas, rho, phi, k=_K):
    kk = np.tile(k, len(maturities))
    tt = np.repeat(maturities, k.size)
    th = np.repeat(thetas, k.size)
    return kk, tt, ssvi_total_variance(kk, th, rho, phi(th))


def test_recovers_power_law_surface():
    mats, thetas = [0.1, 0.25, 0.5, 1.0, 2.0], [0.004, 0.011, 0.02, 0.042, 0.08]
    kk, tt, w = _surface(mats, thetas, -0.65, lambda th: phi_power_law(th, 1.3, 0.35))
    fit = fit_ssvi_surface(kk, tt, w)
    assert fit.converged and fit.rmse < 1e-9
    assert fit.rho == pytest.approx(-0.65, abs=1e-6)
    assert fit.eta == pytest.approx(1.3, rel=1e-5)
    assert fit.gamma == pytest.approx(0.35, abs=1e-5)
    np.testing.assert_allclose(fit.thetas, thetas, rtol=1e-6)
    assert fit.calendar_free and fit.butterfly_free.all()
    np.testing.assert_allclose(fit.total_variance(kk, tt), w, atol=1e-9)


def test_recovers_heston_like_surface():
    mats, thetas = [0.25, 0.5, 1.0], [0.01, 0.022, 0.045]
    kk, tt, w = _surface(mats, thetas, -0.4, lambda th: phi_heston(th, 8.0))
    fit = fit_ssvi_surface(kk, tt, w, family="heston")
    assert fit.rmse < 1e-9
    assert fit.params["lam"] == pytest.approx(8.0, rel=1e-5)
    assert fit.rho == pytest.approx(-0.4, abs=1e-6)


def test_noisy_non_monotone_atm_data_gives_non_decreasing_thetas():
    rng = np.random.default_rng(3)
    mats, thetas = [0.5, 0.52, 0.55], [0.02, 0.0205, 0.021]
    kk, tt, w = _surface(mats, thetas, -0.5, lambda th: phi_power_law(th, 1.0, 0.5))
    w = w * (1 + 0.05 * rng.standard_normal(w.size))
    fit = fit_ssvi_surface(kk, tt, w)
    assert np.all(np.diff(fit.thetas) >= 0)
    assert fit.calendar_free
    assert fit.rmse < 0.1 * w.mean()  # the noise is 5% of w


def test_butterfly_conditions_enforced_by_penalty():
    """Data from a slice violating Theorem 4.2 (θφ²(1+|ρ|) > 4): the fit stays inside the
    arbitrage-free region (both conditions hold for every expiry)."""
    mats, thetas = [0.5, 1.0], [0.05, 0.1]
    kk, tt, w = _surface(mats, thetas, -0.3, lambda th: phi_power_law(th, 4.0, 0.9))
    th = np.array(thetas)
    assert np.any(th * phi_power_law(th, 4.0, 0.9) ** 2 * 1.3 > 4)
    fit = fit_ssvi_surface(kk, tt, w)
    assert fit.butterfly_free.all()


def test_input_errors():
    k, t, w = np.zeros(5), np.ones(5), np.full(5, 0.04)
    with pytest.raises(ValueError, match="family"):
        fit_ssvi_surface(k, t, w, family="sabr")
    with pytest.raises(ValueError, match="differ in length"):
        fit_ssvi_surface(k, t[:4], w)
    with pytest.raises(ValueError, match="positive"):
        fit_ssvi_surface(k, -t, w)
    with pytest.raises(ValueError, match="finite"):
        fit_ssvi_surface(k, t, np.full(5, np.nan))
    with pytest.raises(ValueError, match="at least"):
        fit_ssvi_surface(k[:3], t[:3], w[:3])
