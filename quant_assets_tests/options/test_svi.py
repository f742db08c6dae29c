"""Raw SVI, Durrleman's g and butterfly-arbitrage flags (Gatheral & Jacquier 2014)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_assets.options import (
    bs_price,
    svi_butterfly_arbitrage,
    svi_g,
    svi_total_variance,
)

VOGT = {"a": -0.0410, "b": 0.1331, "rho": 0.3060, "m": 0.3586, "sigma": 0.4153}
_params = st.tuples(
    st.floats(-0.05, 0.1),
    st.floats(0.01, 1.0),
    st.floats(-0.95, 0.95),
    st.floats(-0.5, 0.5),
    st.floats(0.02, 1.0),
)


@settings(max_examples=100, deadline=None)
@given(_params, st.floats(-2.0, 2.0))
def test_g_matches_finite_difference_derivatives(p, k):
    """g from the analytic w', w'' equals g from central differences of svi_total_variance."""
    a, b, rho, m, sigma = p
    h = 1e-3 * sigma  # the smile's curvature scale

    def w(x):
        return float(svi_total_variance(x, a, b, rho, m, sigma))

    w0 = w(k)
    if w0 <= 1e-3:
        return
    w1 = (w(k + h) - w(k - h)) / (2 * h)
    w2 = (w(k + h) - 2 * w0 + w(k - h)) / h**2
    g_fd = (1 - k * w1 / (2 * w0)) ** 2 - w1**2 / 4 * (1 / w0 + 0.25) + w2 / 2
    assert svi_g(k, a, b, rho, m, sigma) == pytest.approx(g_fd, abs=1e-5 * (1 + abs(g_fd)))


def test_wings_are_linear_with_svi_slopes():
    """w(k)/|k| → b(1 ± ρ) as k → ±∞ (Gatheral & Jacquier 2014, §3.1)."""
    a, b, rho, m, sigma = 0.01, 0.3, -0.4, 0.1, 0.2
    k = 1e6
    assert svi_total_variance(k, a, b, rho, m, sigma) / k == pytest.approx(b * (1 + rho), rel=1e-5)
    assert svi_total_variance(-k, a, b, rho, m, sigma) / k == pytest.approx(b * (1 - rho), rel=1e-5)


def test_vogt_example_has_butterfly_arbitrage_despite_lee_bounds():
    """Gatheral & Jacquier (2014), "Arbitrage-free SVI volatility surfaces", Quantitative
    Finance 14(1), Example 3.1 (due to Axel Vogt): raw SVI (a, b, ρ, m, σ) =
    (−0.0410, 0.1331, 0.3060, 0.3586, 0.4153) with T = 1 satisfies Roger Lee's moment bounds
    (b(1 ± ρ) ≤ 2) and has positive variance, yet Durrleman's g is negative (their Figure 3,
    around k ≈ 0.8–0.9) so the slice admits butterfly arbitrage."""
    b, rho = VOGT["b"], VOGT["rho"]
    assert b * (1 + abs(rho)) < 2
    k = np.linspace(-1.5, 1.5, 3001)
    assert np.all(svi_total_variance(k, **VOGT) > 0)
    g = svi_g(k, **VOGT)
    assert g.min() < 0
    assert 0.6 < k[np.argmin(g)] < 1.1
    assert bool(svi_butterfly_arbitrage(**VOGT))


def test_vogt_negative_density_independently_from_call_prices():
    """Independent confirmation: the second strike-derivative of Black call prices built from
    the Vogt slice (the risk-neutral density, Breeden–Litzenberger) is negative where g < 0
    and positive where g > 0."""
    f, t = 1.0, 1.0
    k = np.linspace(-1.0, 1.5, 2501)
    strikes = f * np.exp(k)
    vol = np.sqrt(svi_total_variance(k, **VOGT) / t)
    calls = bs_price(f, strikes, t, 0.0, 0.0, vol, True)
    dk = np.diff(strikes)
    density = np.diff(np.diff(calls) / dk) / (0.5 * (dk[1:] + dk[:-1]))
    g = svi_g(k[1:-1], **VOGT)
    clear = np.abs(g) > 1e-3
    assert np.all(np.sign(density[clear]) == np.sign(g[clear]))
    assert np.any(density < 0)


def test_standard_slice_is_arbitrage_free():
    """A typical equity slice (a, b, ρ, m, σ) = (0.04, 0.1, −0.3, 0, 0.2): g > 0 everywhere."""
    p = {"a": 0.04, "b": 0.1, "rho": -0.3, "m": 0.0, "sigma": 0.2}
    k = np.linspace(-5, 5, 5001)
    assert svi_g(k, **p).min() > 0
    assert not bool(svi_butterfly_arbitrage(**p))


@settings(max_examples=100, deadline=None)
@given(st.floats(0.005, 1.0), st.floats(-0.95, 0.95), st.floats(0.05, 0.95))
def test_ssvi_slices_satisfying_theorem_4_2_are_not_flagged(theta, rho, frac):
    """Gatheral & Jacquier (2014), Theorem 4.2: an SSVI slice with θφ(1+|ρ|) < 4 and
    θφ²(1+|ρ|) ≤ 4 is free of butterfly arbitrage; as raw SVI (Lemma 3.3: a = θ(1−ρ²)/2,
    b = θφ/2, m = −ρ/φ, σ = √(1−ρ²)/φ) it must not be flagged."""
    phi_max = min(4 / (theta * (1 + abs(rho))), np.sqrt(4 / (theta * (1 + abs(rho)))))
    phi = frac * phi_max
    a, b = theta * (1 - rho**2) / 2, theta * phi / 2
    m, sigma = -rho / phi, np.sqrt(1 - rho**2) / phi
    assert not bool(svi_butterfly_arbitrage(a, b, rho, m, sigma))


@settings(max_examples=50, deadline=None)
@given(st.floats(2.05, 5.0), st.floats(-0.9, 0.9))
def test_wings_steeper_than_lee_bound_are_flagged(slope, rho):
    """b(1+|ρ|) > 2 violates Lee's moment formula: g < 0 for large |k|."""
    b = slope / (1 + abs(rho))
    assert bool(svi_butterfly_arbitrage(0.04, b, rho, 0.0, 0.2))


def test_vectorised_flags_and_invalid_parameters():
    flags = svi_butterfly_arbitrage(
        [0.04, VOGT["a"], 0.04],
        [0.1, VOGT["b"], -0.1],
        [-0.3, VOGT["rho"], 0.0],
        [0.0, VOGT["m"], 0.0],
        [0.2, VOGT["sigma"], 0.2],
    )
    assert flags.tolist() == [False, True, True]
    assert np.isnan(svi_total_variance(0.0, 0.04, 0.1, 1.5, 0.0, 0.2))
    assert np.isnan(svi_g(0.0, 0.04, 0.1, 0.0, 0.0, -0.2))
    with pytest.raises(ValueError, match="k"):
        svi_total_variance(np.zeros(3), np.zeros(2), 0.1, 0.0, 0.0, 0.2)
