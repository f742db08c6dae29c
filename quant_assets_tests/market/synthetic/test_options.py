"""Option quotes: priced off the SSVI surface, quote hygiene, expiries/strikes, surface
no-arbitrage, variance risk premium and leverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from quant_assets.calendars import session_closes_utc
from quant_assets.market.synthetic.option_surface import atm_total_variance, phi_power_law
from quant_assets_tests.market.synthetic.conftest import _calendar, make_market

NY = "America/New_York"
WINDOW = ("2024-03-18", "2024-04-05")  # includes Good Friday 2024-03-29


def _black_scholes(s, k, t, r, q, vol, call):
    """Textbook Black-Scholes-Merton (Hull, Options Futures and Other Derivatives, 15.20)."""
    d1 = (np.log(s / k) + (r - q + 0.5 * vol**2) * t) / (vol * np.sqrt(t))
    d2 = d1 - vol * np.sqrt(t)
    c = s * np.exp(-q * t) * norm.cdf(d1) - k * np.exp(-r * t) * norm.cdf(d2)
    p = k * np.exp(-r * t) * norm.cdf(-d2) - s * np.exp(-q * t) * norm.cdf(-d1)
    return np.where(call, c, p)


def _theta(tau, v_short, v_long, lam):
    return v_long * tau + (v_short - v_long) * (1 - np.exp(-lam * tau)) / lam


def _ssvi_w(k, theta, rho, eta, gamma):
    """Gatheral & Jacquier (2014) eq. 4.1 with the power-law phi of their section 4.3."""
    phi = eta / (theta**gamma * (1 + theta) ** (1 - gamma))
    return theta / 2 * (1 + rho * phi * k + np.sqrt((phi * k + rho) ** 2 + 1 - rho**2))


def _durrleman_g(k, theta, rho, eta, gamma):
    """Durrleman's g(k) (Gatheral & Jacquier 2014, eq. 2.1) with analytic SSVI derivatives:
    w' = theta/2 (rho phi + phi (phi k + rho) / S), w'' = theta/2 phi^2 (1 - rho^2) / S^3."""
    phi = eta / (theta**gamma * (1 + theta) ** (1 - gamma))
    root = np.sqrt((phi * k + rho) ** 2 + 1 - rho**2)
    w = theta / 2 * (1 + rho * phi * k + root)
    w1 = theta / 2 * (rho * phi + phi * (phi * k + rho) / root)
    w2 = theta / 2 * phi**2 * (1 - rho**2) / root**3
    return (1 - k * w1 / (2 * w)) ** 2 - w1**2 / 4 * (1 / w + 0.25) + w2 / 2


@pytest.fixture(scope="module")
def quotes(tiny_market):
    return tiny_market.option_quotes(*WINDOW)


@pytest.fixture(scope="module")
def priced(tiny_market, quotes):
    """Quotes joined with the fair value recomputed from the option oracle and the rates feed."""
    oo = tiny_market.option_oracle(*WINDOW)
    rates = tiny_market.rates(*WINDOW).pivot(index="date", columns="tenor_days", values="rate")
    q = quotes.merge(oo, on=["date", "underlier"])
    days = (q["expiry"] - q["date"]).dt.days.to_numpy(float)
    tau = days / 365.0
    curve = rates.loc[q["date"]].to_numpy()
    r = np.array([np.interp(d, rates.columns.to_numpy(float), c) for d, c in zip(days, curve)])
    fwd = q["spot"] * np.exp((r - q["dividend_yield"]) * tau)
    theta = _theta(tau, q["atm_var_short"], q["atm_var_long"], q["term_decay"])
    k = np.log(q["strike"] / fwd)
    vol = np.sqrt(_ssvi_w(k, theta, q["ssvi_rho"], q["ssvi_phi_eta"], q["ssvi_phi_gamma"]) / tau)
    q["fair"] = _black_scholes(q["spot"], q["strike"], tau, r, q["dividend_yield"], vol, q["cp_flag"] == "C")
    q["k_sd"] = k / np.sqrt(theta)
    q["r"], q["vol"] = r, vol
    q["tau"] = tau
    return q


def test_quotes_bracket_the_ssvi_price(priced):
    clean = priced[priced["bid"] < priced["ask"]]
    assert len(clean) > 1000
    fair = clean["fair"].to_numpy()
    assert (clean["bid"].to_numpy() <= fair + 1e-9).all()
    assert (fair <= clean["ask"].to_numpy() + 1e-9).all()
    half = (clean["ask"] - clean["bid"]) / 2
    assert ((clean["nbbo_mid"] - clean["fair"]).abs() <= half + 1e-9).all()
    # the mid carries noise, but it is centred on the model
    rel = (clean["nbbo_mid"] - clean["fair"]) / half
    assert abs(rel.mean()) < 0.1 and 0.05 < rel.std() < 0.6


def test_implied_vol_of_mids_recovers_the_ssvi_vol(priced):
    """Invert liquid mids by bisection on the textbook formula: the implied vol is the SSVI vol
    up to the quote noise (at most half a spread, i.e. half_spread / vega in vol)."""
    liq = priced[
        (priced["k_sd"].abs() < 1.0)
        & (priced["tau"] > 20 / 365)
        & (priced["bid"] < priced["ask"])
        & (priced["bid"] > 0)
    ]
    assert len(liq) > 200
    args = [liq[c].to_numpy(float) for c in ("spot", "strike", "tau", "r", "dividend_yield")]
    call = (liq["cp_flag"] == "C").to_numpy()
    target = liq["nbbo_mid"].to_numpy()
    lo, hi = np.full(len(liq), 1e-3), np.full(len(liq), 3.0)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        below = _black_scholes(*args, mid, call) < target
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    iv = 0.5 * (lo + hi)
    vol = liq["vol"].to_numpy()
    s, k, t, r, q = args
    d1 = (np.log(s / k) + (r - q + 0.5 * vol**2) * t) / (vol * np.sqrt(t))
    vega = s * np.exp(-q * t) * norm.pdf(d1) * np.sqrt(t)
    half = (liq["ask"] - liq["bid"]).to_numpy() / 2
    assert (np.abs(iv - vol) <= 1.2 * half / vega + 1e-4).all()
    assert np.median(np.abs(iv - vol)) < 0.01


def test_crossed_and_locked_share_small_but_nonzero(quotes):
    crossed = (quotes["bid"] > quotes["ask"]).mean()
    locked = (quotes["bid"] == quotes["ask"]).mean()
    assert 0 < crossed < 0.01 and 0 < locked < 0.01
    assert 0.002 < crossed + locked < 0.01


def test_quote_hygiene(quotes):
    assert not quotes.isna().any().any()
    assert (quotes["bid"] >= 0).all() and (quotes["ask"] > 0).all()
    for side in ("bid", "ask"):
        x = quotes[side].to_numpy()
        tick = np.where(x < 3, 0.01, 0.05)
        assert (np.abs(x / tick - np.round(x / tick)) < 1e-6).all(), side
    assert ((quotes["bid"] == 0) == (quotes["bid_size"] == 0)).all()
    assert (quotes["ask_size"] > 0).all()
    assert ((quotes["exchs_bitmap"] > 0) & (quotes["exchs_bitmap"] < 2**17)).all()
    assert (quotes["volume"] >= 0).all() and (quotes["open_interest"] >= 0).all()
    assert quotes["volume"].sum() > 0 and quotes["open_interest"].sum() > 0
    assert set(quotes["cp_flag"]) == {"C", "P"}
    ts = pd.to_datetime(quotes["ts_ns"], utc=True).dt.tz_convert(NY)
    expected = session_closes_utc(quotes["date"]) - pd.Timedelta(minutes=1)
    assert (pd.DatetimeIndex(pd.to_datetime(quotes["ts_ns"], utc=True)) == expected).all()
    assert (ts.dt.tz_localize(None).dt.normalize() == quotes["date"]).all()
    assert not quotes.duplicated(["date", "underlier", "expiry", "strike", "cp_flag"]).any()


def test_spreads_wider_far_otm_and_short_dated(priced):
    p = priced[priced["bid"] < priced["ask"]]
    rel = (p["ask"] - p["bid"]) / p["fair"].clip(lower=0.05)
    near = p["k_sd"].abs() < 0.5
    far = p["k_sd"].abs() > 1.5
    assert rel[far].median() > rel[near].median()
    spread = p["ask"] - p["bid"]
    short, longer = p["tau"] < 7 / 365, p["tau"] > 60 / 365
    assert (spread[short & near] / p["fair"][short & near].clip(lower=0.05)).median() > (
        spread[longer & near] / p["fair"][longer & near].clip(lower=0.05)
    ).median()


def test_expiries_and_strikes(quotes, tiny_market):
    cal = _calendar()
    for day, grp in quotes.groupby("date"):
        exp = pd.DatetimeIndex(sorted(grp["expiry"].unique()))
        assert (exp > day).all()
        assert all(cal.is_session(e) for e in exp)
        assert 6 <= len(exp) <= 10
        assert exp[-1] - day > pd.Timedelta(days=150)
    assert pd.Timestamp("2024-03-29") not in set(quotes["expiry"])  # Good Friday
    assert pd.Timestamp("2024-03-28") in set(quotes["expiry"])  # moved to Thursday
    for month_end in ("2024-04-19", "2024-05-17", "2024-06-21", "2024-07-19", "2024-08-16"):
        assert pd.Timestamp(month_end) in set(quotes["expiry"])  # third Fridays
    oo = tiny_market.option_oracle(*WINDOW)
    for (day, und, exp), g in quotes.groupby(["date", "underlier", "expiry"]):
        spot = oo.loc[(oo["date"] == day) & (oo["underlier"] == und), "spot"].iloc[0]
        steps = np.diff(np.sort(g["strike"].unique()))
        inc = 0.5 if spot < 25 else 1.0 if spot < 100 else 2.5 if spot < 250 else 5.0
        assert np.allclose(steps, steps[0]) and steps[0] / inc in (1, 2, 4, 8)
        assert g["strike"].min() < spot < g["strike"].max()
        break


def test_surface_is_free_of_static_arbitrage(tiny_market):
    """Butterfly: Durrleman's g(k) >= 0 (Gatheral & Jacquier 2014, Lemma 2.2) with
    closed-form derivatives; calendar: w(k, T) non-decreasing in T for every k."""
    oo = tiny_market.option_oracle(tiny_market.config.start, tiny_market.config.end)
    k = np.linspace(-1.5, 1.5, 601)
    taus = np.array([1, 7, 30, 91, 182]) / 365
    for _, row in oo.sample(40, random_state=0).iterrows():
        theta = _theta(taus, row["atm_var_short"], row["atm_var_long"], row["term_decay"])
        w = np.array([_ssvi_w(k, th, row["ssvi_rho"], row["ssvi_phi_eta"], row["ssvi_phi_gamma"]) for th in theta])
        assert (np.diff(w, axis=0) >= -1e-14).all()
        for th in theta:
            g = _durrleman_g(k, th, row["ssvi_rho"], row["ssvi_phi_eta"], row["ssvi_phi_gamma"])
            assert g.min() >= 0


def test_variance_risk_premium_and_leverage(demo_market):
    cfg = demo_market.config
    oo = demo_market.option_oracle(cfg.start, cfg.end)
    bars = demo_market.bars(cfg.start, cfg.end)
    ca = demo_market.corporate_actions(cfg.start, cfg.end)
    close = bars.pivot(index="date", columns="symbol", values="close")
    ratio = pd.DataFrame(1.0, index=close.index, columns=close.columns)
    div = pd.DataFrame(0.0, index=close.index, columns=close.columns)
    for _, e in ca.iterrows():
        (ratio if e["event_type"] == "split" else div).loc[e["ex_date"], e["symbol"]] = (
            e["ratio"] if e["event_type"] == "split" else e["amount"]
        )
    ret = np.log((close * ratio + div) / close.shift())
    theta = oo.pivot(index="date", columns="underlier", values="ssvi_theta_30d")
    r = ret[theta.columns]
    # realised variance over the next 30 calendar days
    dates = r.index
    rv = pd.DataFrame(np.nan, index=dates, columns=r.columns)
    sq = (r**2).fillna(0).cumsum()
    end = dates.searchsorted(dates + pd.Timedelta(days=30), side="right") - 1
    ok = (dates + pd.Timedelta(days=30)) <= dates[-1]
    rv.loc[ok] = sq.iloc[end[ok]].to_numpy() - sq.loc[ok].to_numpy()
    ratio_vrp = theta[ok].to_numpy().mean() / rv[ok].to_numpy().mean()
    print(f"VRP ratio {ratio_vrp:.3f}")
    assert 1.0 < ratio_vrp < 1.5  # configured premium 1.2
    # implied variance rises when the underlier falls, and mean-reverts
    dlog = np.log(theta).diff()
    corr = np.corrcoef(dlog.to_numpy()[1:].ravel(), r.to_numpy()[1:].ravel())[0, 1]
    print(f"corr(dlog theta, r) {corr:.3f}")
    assert corr < -0.1
    x = np.log(theta)
    dev = (x - x.mean()).iloc[:-1].to_numpy().ravel()
    nxt = (x.diff().iloc[1:]).to_numpy().ravel()
    slope = np.polyfit(dev, nxt, 1)[0]
    print(f"mean-reversion slope {slope:.4f}")
    assert -0.5 < slope < 0


def test_expiries_past_the_end_of_the_range_are_sessions(tiny_market):
    last = tiny_market.config.end
    q = tiny_market.option_quotes(last, last)
    cal = _calendar()
    exp = pd.DatetimeIndex(sorted(q["expiry"].unique()))
    assert exp[-1] > pd.Timestamp(last) + pd.Timedelta(days=150)
    assert all(cal.is_session(e) for e in exp)


@settings(max_examples=60, deadline=None)
@given(
    rho=st.floats(-0.95, 0.95),
    eta_frac=st.floats(0.05, 1.0),
    gamma=st.floats(0.05, 0.5),
    v_short=st.floats(0.005, 1.5),
    v_long=st.floats(0.005, 1.5),
    lam=st.floats(0.1, 20.0),
)
def test_power_law_ssvi_parameter_space_is_arbitrage_free(rho, eta_frac, gamma, v_short, v_long, lam):
    """Any state the generator may emit (eta (1 + |rho|) <= 2, gamma <= 1/2, positive variance
    levels) gives theta_T increasing in T and Durrleman's g(k) >= 0 on every slice."""
    eta = eta_frac * 2.0 / (1.0 + abs(rho))
    taus = np.array([1, 5, 30, 120, 365, 730]) / 365
    theta = atm_total_variance(taus, v_short, v_long, lam)
    assert (np.diff(theta) > 0).all()
    np.testing.assert_allclose(theta, _theta(taus, v_short, v_long, lam), rtol=1e-10)
    k = np.linspace(-3.0, 3.0, 1201)
    for th in theta:
        np.testing.assert_allclose(
            phi_power_law(th, eta, gamma), eta / (th**gamma * (1 + th) ** (1 - gamma)), rtol=1e-12
        )
        assert _durrleman_g(k, th, rho, eta, gamma).min() >= -1e-12


def test_quote_snapshot_is_one_minute_before_an_early_close():
    """On the day after Thanksgiving (13:00 close) the snapshot is at 12:59 New York."""
    market = make_market(seed=3, n_symbols=12, start="2024-11-01", end="2024-12-06", n_option_underliers=1)
    quotes = market.option_quotes("2024-11-27", "2024-11-29")
    local = pd.to_datetime(quotes["ts_ns"], utc=True).dt.tz_convert(NY).dt.strftime("%Y-%m-%d %H:%M")
    assert set(local) == {"2024-11-27 15:59", "2024-11-29 12:59"}
