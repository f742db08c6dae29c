"""Implied volatility: literature values, independent root finding, round trips, reason codes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq
from scipy.special import erf, log_ndtr
from scipy.stats import norm

from quant_assets.options import IVReason, bs_greeks, bs_price, implied_vol

_EPS = np.finfo(float).eps

# Engines agree to a few ulps of the normalised price; older numpy/scipy releases round the
# last bits of ndtr/erfcx differently (1.4e-13 seen with numpy 1.26 / scipy 1.11).
AGREEMENT_RTOL = 1e-12


def test_hull_implied_volatility_example():
    """Hull, Options, Futures and Other Derivatives (8th ed.), §15.11: a call with c=1.875,
    S=21, K=20, r=0.1, T=0.25 has implied volatility 0.235 (to 3 decimals)."""
    assert implied_vol(1.875, 21.0, 20.0, 0.25, 0.1, 0.0, True) == pytest.approx(0.235, abs=5e-4)


def test_inverts_haug_and_hull_prices():
    """The printed textbook prices (Haug 2007 §1.1.1: 2.1334 at σ=0.30; Haug §1.1.6: put
    2.4648 at σ=0.20; Hull Example 15.6: 4.76 / 0.81 at σ=0.20) invert to their volatilities
    up to the rounding of the printed price divided by vega."""
    cases = [
        (2.1334, 60.0, 65.0, 0.25, 0.08, 0.0, True, 0.30, 5e-5),
        (2.4648, 100.0, 95.0, 0.5, 0.10, 0.05, False, 0.20, 5e-5),
        (4.76, 42.0, 40.0, 0.5, 0.10, 0.0, True, 0.20, 5e-3),
        (0.81, 42.0, 40.0, 0.5, 0.10, 0.0, False, 0.20, 5e-3),
    ]
    for price, s, k, t, r, q, c, vol, rounding in cases:
        vega = bs_greeks(s, k, t, r, q, vol, c).vega
        assert implied_vol(price, s, k, t, r, q, c) == pytest.approx(vol, abs=1.01 * rounding / vega)


def _brentq_reference(price, s, k, t, r, q, c):
    def f(v):
        d1 = (np.log(s / k) + (r - q + 0.5 * v * v) * t) / (v * np.sqrt(t))
        d2 = d1 - v * np.sqrt(t)
        if c:
            return s * np.exp(-q * t) * norm.cdf(d1) - k * np.exp(-r * t) * norm.cdf(d2) - price
        return k * np.exp(-r * t) * norm.cdf(-d2) - s * np.exp(-q * t) * norm.cdf(-d1) - price

    return brentq(f, 1e-4, 5.0, xtol=1e-15, rtol=4 * _EPS, maxiter=500)


@settings(max_examples=60, deadline=None)
@given(
    st.floats(80.0, 125.0),
    st.floats(0.1, 2.0),
    st.floats(0.0, 0.05),
    st.floats(0.0, 0.03),
    st.floats(0.1, 0.8),
)
def test_matches_independent_root_finder(k, t, r, q, vol):
    """Against scipy's brentq on the textbook formula, out-of-the-money options (where the
    textbook formula itself has no cancellation)."""
    c = k >= 100.0 * np.exp((r - q) * t)
    price = float(bs_price(100.0, k, t, r, q, vol, c))
    ref = _brentq_reference(price, 100.0, k, t, r, q, c)
    assert implied_vol(price, 100.0, k, t, r, q, c) == pytest.approx(ref, abs=1e-9)


_wide = st.tuples(
    st.floats(20.0, 400.0),  # strike at spot 100: deep ITM to deep OTM
    st.floats(1.0 / 365.0, 2.0),
    st.floats(-0.01, 0.08),
    st.floats(0.0, 0.05),
    st.floats(0.05, 1.0),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(_wide)
def test_vol_price_vol_round_trip(case):
    """σ → price → σ̂: |σ̂ − σ| ≤ 1e-10 plus the unavoidable error of a price rounded to
    double precision, eps·price/vega (which dominates only where vega is negligible)."""
    k, t, r, q, vol, c = case
    price = float(bs_price(100.0, k, t, r, q, vol, c))
    vega = float(bs_greeks(100.0, k, t, r, q, vol, c).vega)
    iv, reason = implied_vol(price, 100.0, k, t, r, q, c, return_reason=True)
    if reason == IVReason.OK:
        assert abs(iv - vol) <= 1e-10 + 8 * _EPS * max(price, 1e-300) / vega
    else:  # only a time value lost to rounding (or an underflowed price) may be unsolvable
        assert reason == IVReason.NO_TIME_VALUE
        assert vega == 0 or 8 * _EPS * max(price, 1e-300) / vega > 1e-10


@settings(max_examples=300, deadline=None)
@given(_wide)
def test_price_vol_price_round_trip(case):
    """price → σ̂ → price reproduces the price to 1e-12 relative, or to the price change caused
    by a 1e-12 relative change of σ where the price is extremely sensitive to σ."""
    k, t, r, q, vol, c = case
    price = float(bs_price(100.0, k, t, r, q, vol, c))
    iv = implied_vol(price, 100.0, k, t, r, q, c)
    if np.isfinite(iv):
        vega = float(bs_greeks(100.0, k, t, r, q, iv, c).vega)
        tolerance = 1e-12 * price + 1e-12 * vega * iv + 1e-300
        assert abs(bs_price(100.0, k, t, r, q, iv, c) - price) <= tolerance


def test_vectorized_grid_near_expiry_and_deep_wings():
    """1 day to 2 years, K from 50 to 150 at S=100, both sides, vols 0.05–1: every option with
    a representable time value is solved, to 1e-10 where vega is not negligible."""
    k, t, v, c = np.meshgrid(
        np.linspace(50, 150, 41),
        [1 / 365, 2 / 365, 7 / 365, 0.1, 0.5, 1.0, 2.0],
        [0.05, 0.1, 0.3, 0.6, 1.0],
        [True, False],
        indexing="ij",
    )
    price = bs_price(100.0, k, t, 0.02, 0.01, v, c)
    vega = bs_greeks(100.0, k, t, 0.02, 0.01, v, c).vega
    iv, reason = implied_vol(price, 100.0, k, t, 0.02, 0.01, c, return_reason=True)
    assert iv.shape == k.shape
    with np.errstate(divide="ignore", invalid="ignore"):
        noise = 8 * _EPS * np.maximum(price, 1e-300) / vega
    ok = reason == IVReason.OK
    assert np.all(ok | ((reason == IVReason.NO_TIME_VALUE) & (noise > 1e-10)))
    assert np.all(np.abs(iv - v)[ok] <= 1e-10 + noise[ok])
    assert ok.mean() > 0.75  # the rest: time value lost to rounding (deep ITM, short, low vol)


def test_tiny_prices_far_below_double_range_of_normalised_price():
    """Deep OTM near expiry: prices ~1e-250 are still inverted exactly (log-space solve)."""
    price = float(bs_price(100.0, 200.0, 0.04, 0.0, 0.0, 0.1, True))
    assert 0 < price < 1e-200
    assert implied_vol(price, 100.0, 200.0, 0.04, 0.0, 0.0, True) == pytest.approx(0.1, rel=1e-12)


def _log_otm_price(s, k, t, vol, call):
    """ln of an out-of-the-money price (r = q = 0) from scipy's log_ndtr, finite where the
    price itself underflows, and the rounding error of that difference of logarithms."""
    sd = vol * np.sqrt(t)
    d1 = (np.log(s / k) + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    big, small = (np.log(k) + log_ndtr(-d2), np.log(s) + log_ndtr(-d1))
    if call:
        big, small = np.log(s) + log_ndtr(d1), np.log(k) + log_ndtr(d2)
    rounding = 8 * _EPS * (abs(big) + abs(small)) / (big - small)
    return small + np.log(np.expm1(big - small)), rounding


@settings(max_examples=200, deadline=None)
@given(
    st.floats(-323.3, -150.0),
    st.floats(0.05, 1.0),
    st.floats(0.01, 2.0),
    st.booleans(),
)
def test_tiny_prices_down_to_the_smallest_subnormal_are_solved(log10_price, distance, t, call):
    """Out-of-the-money prices from 1e-150 down to 5e-324 (subnormal, where the normalised
    price β underflows): always solved (reason OK), and the volatility reproduces ln(price)
    to 1e-10 plus the rounding of the independent reference (ln price from log_ndtr)."""
    price = max(10.0**log10_price, 5e-324)
    k = 100.0 * np.exp(distance if call else -distance)
    iv, reason = implied_vol(price, 100.0, k, t, 0.0, 0.0, call, return_reason=True)
    assert reason == IVReason.OK
    log_price, rounding = _log_otm_price(100.0, k, t, iv, call)
    assert log_price == pytest.approx(np.log(price), abs=1e-10 + rounding)


@settings(max_examples=200, deadline=None)
@given(st.floats(-300.0, 0.5), st.floats(0.1, 4.0), st.booleans())
def test_at_the_money_forward_inverse_is_accurate_for_tiny_total_vol(log10_s, t, call):
    """At the money forward b = 2Φ(s/2) − 1 = erf(s/(2√2)), s = σ√T (Jäckel 2015, eq. 2.2 at
    x = 0): the price from scipy's erf inverts to σ√T to 2e-13 relative down to s = 1e-300
    (the log-space rounding of ln β, ~eps·|ln β|). Solving on ln(b_max − b) there lost the
    digits of β: 3e-6 relative at s = 1e-10."""
    s = 10.0**log10_s
    forward = 100.0
    price = forward * erf(s / (2.0 * np.sqrt(2.0)))
    iv, reason = implied_vol(price, 100.0, forward, t, 0.0, 0.0, call, return_reason=True)
    assert reason == IVReason.OK
    assert iv * np.sqrt(t) == pytest.approx(s, rel=2e-13)


def test_vol_underflow_is_reported_at_the_money_forward():
    """σ√T below 1e-305 (at the money forward, normalised price below ~4e-306) is reported
    as VOL_UNDERFLOW, never as a failed solve; just above it the closed form is matched."""
    prices = np.array([5e-324, 1e-310, 1e-305, 1e-302])
    iv, reason = implied_vol(prices, 100.0, 100.0, 1.0, 0.0, 0.0, True, return_reason=True)
    assert list(reason) == [IVReason.VOL_UNDERFLOW] * 3 + [IVReason.OK]
    assert np.isnan(iv[:3]).all()
    assert iv[3] == pytest.approx(np.sqrt(2 * np.pi) * 1e-304, rel=1e-12)


def test_reason_codes():
    s, k, t = 100.0, 90.0, 1.0
    intrinsic = 10.0
    prices = [np.nan, -1.0, 5.0, intrinsic, 120.0, 100.0, 12.0]
    iv, reason = implied_vol(prices, s, k, t, 0.0, 0.0, True, return_reason=True)
    expected = [
        IVReason.NAN_INPUT,
        IVReason.NONPOSITIVE_INPUT,
        IVReason.BELOW_INTRINSIC,
        IVReason.NO_TIME_VALUE,
        IVReason.ABOVE_UPPER_BOUND,
        IVReason.ABOVE_UPPER_BOUND,
        IVReason.OK,
    ]
    assert list(reason) == [int(e) for e in expected]
    assert np.isnan(iv[:-1]).all() and np.isfinite(iv[-1])
    _, r2 = implied_vol(1.0, 100.0, 100.0, [0.0, -1.0], 0.0, 0.0, True, return_reason=True)
    assert list(r2) == [IVReason.NONPOSITIVE_INPUT] * 2
    _, r3 = implied_vol(1.0, [0.0, 100.0], [100.0, -5.0], 1.0, 0.0, 0.0, True, return_reason=True)
    assert list(r3) == [IVReason.NONPOSITIVE_INPUT] * 2
    # put upper bound is K e^{-rT}
    _, r4 = implied_vol(95.2, 100.0, 100.0, 1.0, 0.05, 0.0, False, return_reason=True)
    assert r4 == IVReason.ABOVE_UPPER_BOUND


def test_shape_and_type_errors():
    with pytest.raises(ValueError, match="price"):
        implied_vol([1.0, 2.0], [100.0, 100.0, 100.0], 100.0, 1.0, 0.0, 0.0, True)
    with pytest.raises(TypeError, match="is_call"):
        implied_vol(1.0, 100.0, 100.0, 1.0, 0.0, 0.0, ["C"])


def _agreement_cases():
    """Options covering every branch of the solver: a wide random grid (both sides of the
    inflection point, near expiry, deep wings), subnormal out-of-the-money prices (β
    underflows), tiny σ√T at the money forward (ln b above the inflection point), prices
    under the volatility floor and invalid inputs."""
    rng = np.random.default_rng(11)
    n = 20_000
    k = 100 * np.exp(rng.uniform(np.log(0.3), np.log(3.0), n))
    t = np.exp(rng.uniform(np.log(1 / 365), np.log(3.0), n))
    vol = rng.uniform(0.03, 1.5, n)
    c = rng.random(n) < 0.5
    price = bs_price(100.0, k, t, 0.02, 0.01, vol, c)
    tiny = 10.0 ** rng.uniform(-323.5, -150.0, 200)
    atm_s = 10.0 ** rng.uniform(-300.0, 0.0, 200)
    extra_price = np.r_[tiny, 100.0 * erf(atm_s / (2 * np.sqrt(2))), 1e-310, np.nan, -1.0, 200.0]
    extra_k = np.r_[np.full(200, 180.0), np.full(204, 100.0)]
    n_extra = extra_price.size
    return (
        np.r_[price, extra_price],
        np.r_[k, extra_k],
        np.r_[t, np.full(n_extra, 0.5)],
        np.r_[np.full(n, 0.02), np.zeros(n_extra)],
        np.r_[np.full(n, 0.01), np.zeros(n_extra)],
        np.r_[c, np.ones(n_extra, dtype=bool)],
        np.r_[vol, np.full(n_extra, np.nan)],
    )


def test_numba_engine_matches_numpy_reference():
    """The compiled kernel (numba, nothing cached on disk) implements the same algorithm:
    the same reason code for every option and volatilities agreeing to AGREEMENT_RTOL on
    every branch of the solver."""
    numba = pytest.importorskip("numba")
    from scipy.special import erfcx as scipy_erfcx

    from quant_assets.options import _implied_vol_numba as kernel

    assert isinstance(kernel._solve_all, numba.core.registry.CPUDispatcher)
    z = np.concatenate([np.linspace(-0.9, 10.0, 500), np.geomspace(10.0, 1e8, 50)])
    np.testing.assert_allclose([kernel.erfcx(v) for v in z], scipy_erfcx(z), rtol=1e-14)
    price, k, t, r, q, c, vol = _agreement_cases()
    ref, ref_reason = implied_vol(price, 100.0, k, t, r, q, c, return_reason=True)
    fast, fast_reason = implied_vol(price, 100.0, k, t, r, q, c, return_reason=True, engine="numba")
    np.testing.assert_array_equal(ref_reason, fast_reason)
    codes = set(np.unique(ref_reason).tolist())
    assert {IVReason.OK, IVReason.VOL_UNDERFLOW, IVReason.NAN_INPUT, IVReason.NONPOSITIVE_INPUT} <= codes
    ok = ref_reason == IVReason.OK
    np.testing.assert_allclose(fast[ok], ref[ok], rtol=AGREEMENT_RTOL, atol=0)
    assert np.isnan(fast[~ok]).all()
    with pytest.raises(ValueError, match="engine"):
        implied_vol(1.0, 100.0, 100.0, 1.0, 0.0, 0.0, True, engine="cuda")
    for dispatcher in (kernel._solve_all, kernel._solve_one, kernel._lower, kernel._upper):
        assert type(dispatcher._cache).__name__ == "NullCache"  # no cache files anywhere


def test_element_wise_kernel_matches_numpy_reference_without_compiling():
    """The same scalar kernel run as plain Python (what the compiled engine executes, and what
    runs when numba is absent) agrees with the vectorised reference on a sample of every
    branch: the algorithm is shared, not only the compiled code path."""
    from quant_assets.options import _implied_vol_numba as kernel
    from quant_assets.options.implied_volatility import _normalise_block

    price, k, t, r, q, c, _ = _agreement_cases()
    pick = np.r_[np.arange(0, 20_000, 100), np.arange(20_000, price.size)]
    arrays = [price[pick], np.full(pick.size, 100.0), k[pick], t[pick], r[pick], q[pick]]
    with np.errstate(all="ignore"):
        reason, (idx, *normalised, root_t) = _normalise_block(arrays, c[pick])
    ref = implied_vol(*arrays[:-1], q[pick], c[pick])
    solve_one = getattr(kernel._solve_one, "py_func", kernel._solve_one)
    s = np.array([solve_one(*args)[0] for args in zip(*normalised, strict=True)])
    np.testing.assert_allclose(s / root_t, ref[idx], rtol=AGREEMENT_RTOL, atol=0)
    assert (reason == IVReason.OK).sum() == idx.size > 300


def test_extreme_moneyness_and_total_volatility_grid():
    """Log-moneyness from ±1e-8 (at the money, where the inflection point s_c → 0) to ±10 and
    total volatility σ√T from 1e-3 to 10 (both sides of the inflection point, far beyond the
    benchmark's range): every option with a representable time value is solved to 1e-10 in
    vol plus the price's rounding noise; the others are flagged NO_TIME_VALUE."""
    x = np.array([1e-8, 1e-4, 1e-2, 0.3, 1.0, 3.0, 10.0])
    x = np.concatenate([-x, x])
    s = np.geomspace(1e-3, 10.0, 40)
    xx, ss, c = np.meshgrid(x, s, [True, False], indexing="ij")
    k = 100.0 * np.exp(-xx)  # forward 100 at r = q = 0, t = 1: vol = σ√T
    price = bs_price(100.0, k, 1.0, 0.0, 0.0, ss, c)
    vega = bs_greeks(100.0, k, 1.0, 0.0, 0.0, ss, c).vega
    iv, reason = implied_vol(price, 100.0, k, 1.0, 0.0, 0.0, c, return_reason=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        noise = 8 * _EPS * np.maximum(price, 1e-300) / vega
    ok = reason == IVReason.OK
    assert np.all(ok | ((reason == IVReason.NO_TIME_VALUE) & ~(noise <= 1e-10)))
    assert np.all(np.abs(iv - ss)[ok] <= 1e-10 + noise[ok])
    assert ok.mean() > 0.6


@pytest.mark.parametrize("x", [-1e-3, -0.1, -1.0, -5.0])
@pytest.mark.parametrize("side", [1.0, -1.0])
def test_householder_step_converges_quartically(x, side):
    """One step of the third-order update, from σ√T off by 3% and by 1%, on the objective the
    solver uses on each side of the inflection point s_c = √(2|x|): the error shrinks like the
    fourth power of the offset (ratio ≥ 3^3.5 for a 3× smaller offset; a wrong or dropped
    third derivative leaves Halley's third power, ratio 27). The root is set independently,
    β = b(x, s*) by the textbook formula (scipy ndtr)."""
    from scipy.special import ndtr

    from quant_assets.options.implied_volatility import (
        _lower_objective,
        _upper_objective,
        householder_step,
    )

    s_c = np.sqrt(-2 * x)
    for root in (0.3 * s_c, 3.0 * s_c):
        h, t = x / root, root / 2
        beta = np.exp(x / 2) * ndtr(h + t) - np.exp(-x / 2) * ndtr(h - t)
        if root < s_c:
            objective, target = _lower_objective, np.log(beta)
        else:
            objective, target = _upper_objective, np.log(np.exp(x / 2) - beta)
        errors = []
        for offset in (3e-2, 1e-2):
            s0 = np.array([root * (1 + side * offset)])
            f, f1 = objective(np.array([x]), s0, np.array([target]))
            step = householder_step(f, f1, np.array([x]), s0)
            errors.append(abs((s0 + step)[0] / root - 1))
        assert errors[0] < 1e-5
        assert errors[0] / errors[1] >= 3**3.5
