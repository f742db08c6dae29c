"""Black–Scholes–Merton prices and Greeks against textbook values and independent references."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy.stats import norm

from quant_assets.options import bs_greeks, bs_price


def _textbook_price(s, k, t, r, q, v, is_call):
    """The closed form written directly with scipy.stats.norm (reference implementation)."""
    d1 = (np.log(s / k) + (r - q + 0.5 * v * v) * t) / (v * np.sqrt(t))
    d2 = d1 - v * np.sqrt(t)
    call = s * np.exp(-q * t) * norm.cdf(d1) - k * np.exp(-r * t) * norm.cdf(d2)
    put = k * np.exp(-r * t) * norm.cdf(-d2) - s * np.exp(-q * t) * norm.cdf(-d1)
    return np.where(is_call, call, put)


def test_haug_black_scholes_call():
    """Haug (2007), The Complete Guide to Option Pricing Formulas, §1.1.1 example:
    S=60, K=65, T=0.25, r=0.08, σ=0.30 → call 2.1334."""
    assert bs_price(60.0, 65.0, 0.25, 0.08, 0.0, 0.30, True) == pytest.approx(2.1334, abs=5e-5)


def test_haug_merton_put_with_dividend_yield():
    """Haug (2007), §1.1.6 (Merton 1973) example: S=100, K=95, T=0.5, r=0.10, q=0.05,
    σ=0.20 → put 2.4648."""
    assert bs_price(100.0, 95.0, 0.5, 0.10, 0.05, 0.20, False) == pytest.approx(2.4648, abs=5e-5)


def test_hull_example_15_6():
    """Hull, Options, Futures and Other Derivatives (8th ed.), Example 15.6: S=42, K=40,
    r=0.10, σ=0.20, T=0.5 → call 4.76, put 0.81."""
    call, put = bs_price(42.0, 40.0, 0.5, 0.10, 0.0, 0.20, [True, False])
    assert call == pytest.approx(4.76, abs=5e-3)
    assert put == pytest.approx(0.81, abs=5e-3)


def test_hull_chapter_19_greeks():
    """Hull (8th ed.), ch. 19 running example: S=49, K=50, r=0.05, σ=0.20, T=20 weeks
    (0.3846 y), call: Δ=0.522, Γ=0.066, vega=12.1, Θ=−4.31 per year, ρ=8.91."""
    g = bs_greeks(49.0, 50.0, 0.3846, 0.05, 0.0, 0.20, True)
    assert g.delta == pytest.approx(0.522, abs=5e-4)
    assert g.gamma == pytest.approx(0.066, abs=5e-4)
    assert g.vega == pytest.approx(12.1, abs=5e-2)
    assert g.theta == pytest.approx(-4.31, abs=5e-3)
    assert g.rho == pytest.approx(8.91, abs=5e-3)


_pos = st.floats(50.0, 150.0)
_cases = st.tuples(
    _pos,
    _pos,
    st.floats(0.01, 3.0),
    st.floats(-0.02, 0.1),
    st.floats(0.0, 0.06),
    st.floats(0.05, 1.0),
    st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(_cases)
def test_matches_textbook_formula(case):
    s, k, t, r, q, v, c = case
    expected = _textbook_price(s, k, t, r, q, v, c)
    assert bs_price(s, k, t, r, q, v, c) == pytest.approx(float(expected), rel=1e-10, abs=1e-11)


@settings(max_examples=200, deadline=None)
@given(_cases)
def test_put_call_parity(case):
    """C − P = S e^{−qT} − K e^{−rT}."""
    s, k, t, r, q, v, _ = case
    call, put = bs_price(s, k, t, r, q, v, [True, False])
    assert call - put == pytest.approx(s * np.exp(-q * t) - k * np.exp(-r * t), abs=1e-11 * (s + k))


@pytest.mark.parametrize(
    "s,k,t,r,q,v,c",
    [
        (100.0, 300.0, 0.1, 0.02, 0.0, 0.2, True),
        (100.0, 40.0, 0.05, 0.01, 0.03, 0.3, False),
        (100.0, 130.0, 1 / 365, 0.0, 0.0, 0.25, True),
        (100.0, 100.0, 1e-6, 0.0, 0.0, 0.2, True),
    ],
)
def test_deep_out_of_the_money_relative_accuracy(s, k, t, r, q, v, c):
    """Tiny prices keep ~10 significant digits: compare with quadrature of the discounted
    payoff against the lognormal density (an independent reference)."""
    f = s * np.exp((r - q) * t)
    sd = v * np.sqrt(t)
    mu = np.log(f) - 0.5 * sd * sd

    def integrand(z):  # z = log of terminal price
        payoff = np.exp(z) - k if c else k - np.exp(z)
        return payoff * norm.pdf(z, mu, sd)

    lo, hi = (np.log(k), mu + 60 * sd) if c else (mu - 60 * sd, np.log(k))
    ref, _ = integrate.quad(integrand, lo, hi, epsabs=0.0, epsrel=1e-13, limit=500)
    ref *= np.exp(-r * t)
    assert ref > 0
    assert bs_price(s, k, t, r, q, v, c) == pytest.approx(ref, rel=1e-9)


@settings(max_examples=100, deadline=None)
@given(_cases)
def test_greeks_match_finite_differences(case):
    s, k, t, r, q, v, c = case
    g = bs_greeks(s, k, t, r, q, v, c)

    def p(**kw):
        args = {"spot": s, "strike": k, "t": t, "r": r, "q": q, "vol": v, "is_call": c}
        args.update(kw)
        return float(bs_price(**args))

    hs, hv, ht, hr = 1e-3 * s * v * np.sqrt(t), 1e-5, 1e-6, 1e-6
    delta = (p(spot=s + hs) - p(spot=s - hs)) / (2 * hs)
    gamma = (p(spot=s + hs) - 2 * p() + p(spot=s - hs)) / hs**2
    vega = (p(vol=v + hv) - p(vol=v - hv)) / (2 * hv)
    theta = -(p(t=t + ht) - p(t=t - ht)) / (2 * ht)
    rho = (p(r=r + hr) - p(r=r - hr)) / (2 * hr)
    roundoff = 64 * np.finfo(float).eps * max(p(), 1.0)  # error of a difference of prices
    assert g.delta == pytest.approx(delta, rel=1e-5, abs=roundoff / hs)
    assert g.gamma == pytest.approx(gamma, rel=1e-4, abs=roundoff / hs**2)
    assert g.vega == pytest.approx(vega, rel=1e-5, abs=roundoff / hv)
    assert g.theta == pytest.approx(theta, rel=1e-5, abs=roundoff / ht)
    assert g.rho == pytest.approx(rho, rel=1e-5, abs=roundoff / hr)


def test_limits_at_expiry_and_zero_vol():
    """t = 0 gives the payoff; vol = 0 the discounted forward intrinsic value."""
    assert bs_price(110.0, 100.0, 0.0, 0.05, 0.0, 0.2, True) == pytest.approx(10.0)
    assert bs_price(90.0, 100.0, 0.0, 0.05, 0.0, 0.2, False) == pytest.approx(10.0)
    expected = 100.0 * np.exp(-0.01) - 90.0 * np.exp(-0.05)
    assert bs_price(100.0, 90.0, 1.0, 0.05, 0.01, 0.0, True) == pytest.approx(expected)


def test_broadcasting_and_shapes():
    k = np.array([[90.0], [100.0], [110.0]])
    out = bs_price(100.0, k, np.array([0.5, 1.0]), 0.01, 0.0, 0.2, True)
    assert out.shape == (3, 2)
    assert out[0, 1] == pytest.approx(float(bs_price(100.0, 90.0, 1.0, 0.01, 0.0, 0.2, True)))


def test_bad_inputs_give_nan_or_named_errors():
    out = bs_price(
        [-1.0, 100.0, 100.0, np.nan, 100.0],
        [100.0, 0.0, 100.0, 100.0, 100.0],
        [1.0, 1.0, -1.0, 1.0, 1.0],
        0.0,
        0.0,
        [0.2, 0.2, 0.2, 0.2, -0.1],
        True,
    )
    assert np.isnan(out).all()
    g = bs_greeks(100.0, 100.0, [0.0, 1.0], 0.0, 0.0, 0.2, True)
    assert np.isnan(g.delta[0]) and np.isfinite(g.delta[1])
    with pytest.raises(ValueError, match="spot"):
        bs_price([1.0, 2.0], [1.0, 2.0, 3.0], 1.0, 0.0, 0.0, 0.2, True)
    with pytest.raises(TypeError, match="is_call"):
        bs_price(100.0, 100.0, 1.0, 0.0, 0.0, 0.2, "call")
    with pytest.raises(TypeError, match="strike"):
        bs_price(100.0, "abc", 1.0, 0.0, 0.0, 0.2, True)
