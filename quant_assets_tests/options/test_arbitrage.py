"""Calendar-spread checks across SVI slices and the SSVI conditions (Gatheral & Jacquier 2014)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_assets.options import (
    phi_heston,
    phi_power_law,
    ssvi_butterfly_free,
    ssvi_calendar_free,
    ssvi_total_variance,
    svi_calendar_arbitrage,
    svi_total_variance,
)


def test_parallel_slices_have_no_calendar_arbitrage():
    s1 = (0.02, 0.1, -0.3, 0.0, 0.2)
    s2 = (0.03, 0.1, -0.3, 0.0, 0.2)
    chk = svi_calendar_arbitrage([s2, s1], [1.0, 0.5])  # unsorted input
    assert not chk.arbitrage
    assert chk.maturities.tolist() == [0.5, 1.0]
    assert chk.min_increase[0] == pytest.approx(0.01)


def test_crossing_slices_are_flagged_where_variance_decreases():
    """Longer slice with a flatter smile: it crosses the shorter one in the wings. The worst
    point matches a brute-force scan."""
    short = {"a": 0.01, "b": 0.3, "rho": -0.2, "m": 0.0, "sigma": 0.1}
    long = {"a": 0.03, "b": 0.1, "rho": -0.2, "m": 0.0, "sigma": 0.1}
    grid = np.linspace(-3, 3, 6001)
    chk = svi_calendar_arbitrage([short, long], [0.25, 1.0], k_grid=grid)
    diff = svi_total_variance(grid, **long) - svi_total_variance(grid, **short)
    assert chk.arbitrage and chk.pair_arbitrage.tolist() == [True]
    assert chk.min_increase[0] == pytest.approx(diff.min())
    assert chk.worst_k[0] == pytest.approx(grid[np.argmin(diff)])


def test_calendar_input_errors():
    with pytest.raises(ValueError, match="maturities"):
        svi_calendar_arbitrage([(0.02, 0.1, -0.3, 0.0, 0.2)] * 2, [1.0, 1.0])
    with pytest.raises(ValueError, match="differ in length"):
        svi_calendar_arbitrage([(0.02, 0.1, -0.3, 0.0, 0.2)] * 2, [1.0])
    with pytest.raises(ValueError, match="a, b, rho, m, sigma"):
        svi_calendar_arbitrage([(0.02, 0.1), (0.03, 0.1)], [1.0, 2.0])


def test_ssvi_butterfly_condition_boundaries():
    """Theorem 4.2: θφ(1+|ρ|) < 4 and θφ²(1+|ρ|) ≤ 4."""
    theta, rho = 1.0, 0.0
    assert bool(ssvi_butterfly_free(theta, rho, 1.99))
    assert not bool(ssvi_butterfly_free(theta, rho, 2.01))  # θφ² = 4.04 > 4
    assert not bool(ssvi_butterfly_free(4.0, 0.0, 1.0))  # θφ(1+|ρ|) = 4, not < 4
    assert not bool(ssvi_butterfly_free(0.04, 1.0, 1.0))  # |ρ| = 1 invalid
    assert ssvi_butterfly_free([0.04, 0.04], -0.5, [1.0, 100.0]).tolist() == [True, False]


def test_ssvi_calendar_conditions():
    """Theorem 4.1 / Remark: the power law with 0 ≤ γ ≤ 1 and the Heston-like φ (λ > 0) are
    calendar-free; γ > 1 makes θφ(θ) decrease; a decreasing θ_t is calendar arbitrage."""
    thetas = [0.01, 0.02, 0.05, 0.1]
    assert ssvi_calendar_free(thetas, -0.7, lambda th: phi_power_law(th, 1.0, 0.5))
    assert ssvi_calendar_free(thetas, -0.7, lambda th: phi_heston(th, 5.0))
    assert not ssvi_calendar_free(thetas, -0.7, lambda th: phi_power_law(th, 1.0, 1.5))
    assert not ssvi_calendar_free([0.02, 0.01], -0.7, lambda th: phi_power_law(th, 1.0, 0.5))
    with pytest.raises(ValueError, match="rho"):
        ssvi_calendar_free(thetas, 1.0, lambda th: phi_power_law(th, 1.0, 0.5))


@settings(max_examples=40, deadline=None)
@given(
    st.floats(0.005, 0.05),
    st.floats(1.1, 3.0),
    st.floats(-0.9, 0.9),
    st.floats(0.1, 2.0),
    st.floats(0.0, 1.0),
)
def test_ssvi_calendar_free_implies_no_crossing_on_a_grid(theta1, ratio, rho, eta, gamma):
    """Cross-check of two independent checks: a power-law SSVI surface passing Theorem 4.1
    has non-decreasing total variance between its slices at every k of a grid."""
    thetas = np.array([theta1, theta1 * ratio])

    def phi(th):
        return phi_power_law(th, eta, gamma)

    assert ssvi_calendar_free(thetas, rho, phi)
    k = np.linspace(-3, 3, 601)
    w = [ssvi_total_variance(k, th, rho, phi(th)) for th in thetas]
    assert np.all(w[1] - w[0] >= -1e-14)


_THETAS = np.geomspace(1e-4, 10.0, 200)


@settings(max_examples=60, deadline=None)
@given(st.floats(-0.99, 0.99), st.floats(0.01, 0.5), st.floats(0.05, 1.0))
def test_power_law_parameter_region_is_butterfly_free(rho, gamma, frac):
    """Gatheral & Jacquier (2014), Remark 4.4: power-law φ with 0 < γ ≤ 1/2 and
    η(1+|ρ|) ≤ 2 satisfies Theorem 4.2 for every θ."""
    eta = frac * 2.0 / (1.0 + abs(rho))
    assert ssvi_butterfly_free(_THETAS, rho, phi_power_law(_THETAS, eta, gamma)).all()


@settings(max_examples=60, deadline=None)
@given(st.floats(-0.99, 0.99), st.floats(1.0, 50.0))
def test_heston_like_parameter_region_is_butterfly_free(rho, factor):
    """Gatheral & Jacquier (2014), Corollary 4.1: Heston-like φ with λ ≥ (1+|ρ|)/4."""
    lam = factor * (1.0 + abs(rho)) / 4.0
    assert ssvi_butterfly_free(_THETAS, rho, phi_heston(_THETAS, lam)).all()
