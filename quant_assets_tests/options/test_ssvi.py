"""SSVI total variance (Gatheral & Jacquier 2014)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_assets.options import ssvi_total_variance

_params = st.tuples(st.floats(0.001, 1.0), st.floats(-0.99, 0.99), st.floats(0.05, 10.0))


@settings(max_examples=100, deadline=None)
@given(_params)
def test_atm_value_and_wing_slopes(p):
    """w(0) = θ; w(k)/|k| → θφ(1 ± ρ)/2 as k → ±∞ (Gatheral & Jacquier 2014, §4)."""
    theta, rho, phi = p
    assert ssvi_total_variance(0.0, theta, rho, phi) == pytest.approx(theta, rel=1e-14)
    big = 1e7 / phi
    right = ssvi_total_variance(big, theta, rho, phi) / big
    left = ssvi_total_variance(-big, theta, rho, phi) / big
    assert right == pytest.approx(theta * phi * (1 + rho) / 2, rel=1e-5, abs=1e-12)
    assert left == pytest.approx(theta * phi * (1 - rho) / 2, rel=1e-5, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(_params, st.floats(-3.0, 3.0))
def test_equals_raw_svi_reparametrisation(p, k):
    """Gatheral & Jacquier (2014), Lemma 3.3 / eq. 3.2: SSVI is raw SVI with
    a = θ(1−ρ²)/2, b = θφ/2, m = −ρ/φ, σ = √(1−ρ²)/φ (same ρ); the raw form is written out
    here independently."""
    theta, rho, phi = p
    a, b = theta * (1 - rho**2) / 2, theta * phi / 2
    m, sig = -rho / phi, np.sqrt(1 - rho**2) / phi
    raw = a + b * (rho * (k - m) + np.sqrt((k - m) ** 2 + sig**2))
    assert ssvi_total_variance(k, theta, rho, phi) == pytest.approx(raw, rel=1e-10, abs=1e-14)


def test_invalid_parameters_give_nan():
    out = ssvi_total_variance(0.1, [-0.1, 0.1, 0.1, 0.1], [0.0, 1.5, 0.0, np.nan], [1.0, 1.0, -1.0, 1.0])
    assert np.isnan(out).all()
