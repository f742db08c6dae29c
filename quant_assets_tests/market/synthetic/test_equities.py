"""Equity feeds: bar invariants, listings and delistings, corporate actions, fundamentals,
reference data and rates."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from quant_assets_tests.market.synthetic.conftest import make_market, sessions_for


def _all(mkt, feed):
    return getattr(mkt, feed)(mkt.config.start, mkt.config.end)


def _on_grid(x, tick):
    return np.abs(x / tick - np.round(x / tick)) < 1e-6


def _check_bars(bars, symbols):
    assert not bars.isna().any().any()
    assert not bars.duplicated(["date", "symbol"]).any()
    o, h, l, c, v = (bars[k].to_numpy() for k in ("open", "high", "low", "close", "vwap"))
    assert (l > 0).all()
    assert (l <= np.minimum(o, c)).all() and (np.maximum(o, c) <= h).all()
    assert ((l <= v) & (v <= h)).all()
    assert (bars["volume"] >= 0).all() and (bars["trades"] >= 1).all()
    assert (bars["trades"] <= bars["volume"]).all()
    ref = symbols.set_index(["date", "symbol"]).loc[list(zip(bars["date"], bars["symbol"]))]
    tick = ref["tick_size"].to_numpy()
    for k in ("open", "high", "low", "close"):
        assert _on_grid(bars[k].to_numpy(), tick).all(), k
    spread = bars["nbbo_spread"].to_numpy()
    assert (spread >= tick - 1e-12).all() and _on_grid(spread, tick).all()


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_bar_invariants_over_seeds(seed):
    mkt = make_market(
        seed=seed,
        n_symbols=20,
        start="2024-01-02",
        end="2024-04-30",
        n_option_underliers=0,
        annual_delisting_rate=0.3,
        annual_ipo_rate=0.6,
    )
    bars = _all(mkt, "bars")
    _check_bars(bars, _all(mkt, "symbols"))
    # session_id is the running session number
    s = sessions_for(mkt.config)
    assert (s[bars["session_id"].to_numpy()] == bars["date"]).all()


def test_demo_bar_invariants_and_liquidity(demo_market):
    bars = _all(demo_market, "bars")
    _check_bars(bars, _all(demo_market, "symbols"))
    dollar = (bars["volume"] * bars["vwap"]).groupby(bars["symbol"]).median()
    assert np.log10(dollar.max() / dollar.min()) >= 3.0
    rel = (bars["nbbo_spread"] / bars["close"]).groupby(bars["symbol"]).median()
    rho = stats.spearmanr(dollar, rel.loc[dollar.index]).statistic
    assert rho < -0.5  # illiquid names quote wider
    r = np.log(bars["close"]).groupby(bars["symbol"]).diff()
    vol = r.groupby(bars["symbol"]).std()
    assert 0.01 <= vol.median() <= 0.04
    assert stats.kurtosis(r.dropna().clip(-0.5, 0.5)) > 1.0  # fat tails


def test_volatility_clusters(demo_market):
    """Squared market returns are autocorrelated (GARCH), unlike an i.i.d. sample."""
    bars = _all(demo_market, "bars")
    r = np.log(bars.pivot(index="date", columns="symbol", values="close")).diff()
    mkt = r.clip(-0.2, 0.2).mean(axis=1).dropna()
    sq = (mkt - mkt.mean()) ** 2
    acf = [sq.autocorr(k) for k in range(1, 11)]
    assert np.mean(acf) > 0.05


def test_listings_and_survivorship(tiny_market):
    bars = _all(tiny_market, "bars")
    sm = tiny_market.symbol_master().set_index("symbol")
    first = bars.groupby("symbol")["date"].min()
    last = bars.groupby("symbol")["date"].max()
    start = sessions_for(tiny_market.config)[0]
    ipos = sm.index[sm["list_date"] > start]
    assert len(ipos) >= 1
    assert (first.loc[ipos] == sm.loc[ipos, "list_date"]).all()
    dl = _all(tiny_market, "delistings").set_index("symbol")
    assert len(dl) >= 3
    # delisted names: full history up to the delist date, nothing after
    assert (last.loc[dl.index] == dl["delist_date"]).all()
    assert (first.loc[dl.index] < dl["delist_date"]).all()
    alive = sm.index[sm["delist_date"].isna()]
    assert (last.loc[alive] == sessions_for(tiny_market.config)[-1]).all()


def test_delisting_reasons_and_paths(demo_market):
    dl = _all(demo_market, "delistings")
    counts = dl["reason"].value_counts()
    assert counts.get("bankruptcy", 0) >= 2 and counts.get("merger", 0) >= 2
    bars = _all(demo_market, "bars")
    close = bars.pivot(index="date", columns="symbol", values="close")
    ret = np.log(close).diff()
    for _, row in dl.iterrows():
        if row["reason"] == "bankruptcy":
            assert -1.0 <= row["delisting_return"] <= -0.3
        elif row["reason"] == "merger":
            assert 0.0 <= row["delisting_return"] <= 0.05
            # a premium jump of at least +10% in the last 61 sessions
            assert ret[row["symbol"]].dropna().iloc[-61:].max() > np.log(1.10)
    bank = dl.loc[dl["reason"] == "bankruptcy", "symbol"]
    drops = [close[s].dropna().iloc[-1] / close[s].dropna().iloc[-61] for s in bank if close[s].notna().sum() > 61]
    assert np.median(drops) < 0.6  # the price drifts down before a bankruptcy


def _prev_close(bars, ca):
    prev = bars.sort_values(["symbol", "date"]).assign(prev=lambda d: d.groupby("symbol")["close"].shift())
    return ca.merge(
        prev[["symbol", "date", "close", "prev"]], left_on=["symbol", "ex_date"], right_on=["symbol", "date"]
    )


def test_splits_show_the_raw_jump(demo_market):
    ca = _all(demo_market, "corporate_actions")
    sp = ca[ca["event_type"] == "split"]
    assert len(sp) >= 2  # splits are rare: a few per hundred name-years
    assert (sp["ratio"] == 0.1).sum() >= 1
    assert set(sp["ratio"]) <= {1.5, 2.0, 3.0, 0.1} and (sp["amount"] == 0).all()
    m = _prev_close(_all(demo_market, "bars"), sp)
    assert len(m) == len(sp)
    raw = np.log(m["close"] / m["prev"])
    adjusted = np.log(m["close"] * m["ratio"] / m["prev"])
    assert (np.abs(adjusted) < 0.2).all()  # close ~ previous close / ratio
    assert (np.sign(raw) == -np.sign(np.log(m["ratio"]))).all()
    # shares outstanding scale by the ratio on the ex-date
    sym = _all(demo_market, "symbols").sort_values(["symbol", "date"])
    sym["prev_sh"] = sym.groupby("symbol")["shares_outstanding"].shift()
    s = sp.merge(sym, left_on=["symbol", "ex_date"], right_on=["symbol", "date"])
    np.testing.assert_allclose(s["shares_outstanding"], s["prev_sh"] * s["ratio"], rtol=1e-12)


def test_dividends_drop_the_price(demo_market):
    ca = _all(demo_market, "corporate_actions")
    dv = ca[ca["event_type"] == "dividend"]
    assert len(dv) > 50 and (dv["amount"] > 0).all() and (dv["ratio"] == 1.0).all()
    m = _prev_close(_all(demo_market, "bars"), dv)
    raw = np.log(m["close"] / m["prev"])
    total = np.log((m["close"] + m["amount"]) / m["prev"])
    expected_drop = np.log1p(-m["amount"] / m["prev"])
    se = raw.std() / np.sqrt(len(raw))
    assert abs(total.mean()) < 3 * se  # the total return is continuous
    assert abs(raw.mean() - expected_drop.mean()) < 3 * se  # the raw price drops by the amount
    assert expected_drop.mean() < -3 * se  # ... which is detectable
    # annual yields of payers within 1-4% (amount x 4 / price)
    assert (4 * m["amount"] / m["prev"]).median() > 0.008


def test_corporate_action_dates(demo_market):
    ca = _all(demo_market, "corporate_actions")
    s = demo_market.sessions
    assert (ca["announce_date"] <= ca["ex_date"]).all()
    inside = ca["ex_date"] < s[-1]
    nxt = s[np.searchsorted(s, ca.loc[inside, "ex_date"], side="right")]
    assert (ca.loc[inside, "record_date"].to_numpy() == nxt.to_numpy()).all()
    assert (ca["pay_date"] > ca["record_date"]).all()
    assert ((ca["pay_date"] - ca["ex_date"]).dt.days.between(14, 45)).all()
    sp = ca[ca["event_type"] == "split"]
    lead = np.searchsorted(s, sp["ex_date"]) - np.searchsorted(s, sp["announce_date"])
    assert ((lead >= 10) & (lead <= 35)).all()


def test_fundamentals_arrival_lag_and_shares(demo_market):
    f = _all(demo_market, "fundamentals")
    s = demo_market.sessions
    first = f.groupby("symbol")["report_date"].transform("min") == f["report_date"]
    regular = f[(f["period_end"] >= s[0]) & ~first]  # the first row is the back-fill snapshot
    lag = np.searchsorted(s, regular["report_date"], side="right") - np.searchsorted(
        s, regular["period_end"], side="right"
    )
    assert lag.min() >= 20 and lag.max() <= 60
    assert (f["book_equity"] > 0).all() and (f["report_date"] > f["period_end"]).all()
    sym = _all(demo_market, "symbols").set_index(["date", "symbol"])
    sh = sym.loc[list(zip(f["report_date"], f["symbol"])), "shares_outstanding"].to_numpy()
    np.testing.assert_array_equal(f["shares_outstanding"].to_numpy(), sh)
    # book equity evolves slowly: quarter-on-quarter log change is small
    g = np.log(
        f.sort_values(["symbol", "period_end"]).groupby("symbol")["book_equity"].apply(lambda x: x / x.shift()).dropna()
    )
    assert g.abs().quantile(0.95) < 0.15
    ec = _all(demo_market, "earnings_calendar")
    assert (ec["announce_date"] < ec["earnings_date"]).all()
    reports = set(zip(f["symbol"], f["report_date"]))
    assert all(k in reports for k in zip(ec["symbol"], ec["earnings_date"]))


def test_symbols_reference(demo_market):
    sym = _all(demo_market, "symbols")
    bars = _all(demo_market, "bars")
    pd.testing.assert_frame_equal(sym[["date", "symbol"]], bars[["date", "symbol"]])
    assert (sym["list_date"] <= sym["date"]).all()
    assert sym["sector"].nunique() == 11
    assert set(np.round(sym["tick_size"], 6)) <= {0.01, 0.005, 0.0001}
    half = sym[np.isclose(sym["tick_size"], 0.005)]
    assert len(half) > 0 and half["date"].min() == pd.Timestamp("2024-11-04")
    spreads = bars.merge(half[["date", "symbol"]], on=["date", "symbol"])["nbbo_spread"]
    assert spreads.median() <= 0.015  # only tight-spread names get the half-penny tick
    last = sym[sym["date"] == sym["date"].max()]
    assert not last["htb"].all()
    easy = sym[~sym["htb"]]
    assert easy["borrow_fee_bps"].between(25, 50).all()
    assert sym.loc[sym["htb"], "borrow_fee_bps"].between(300, 3000).all()
    share = sym.groupby("symbol")["htb"].first().mean()
    assert 0.0 < share < 0.15


def test_rates_curve(demo_market):
    r = _all(demo_market, "rates")
    assert (r.groupby("date").size() == 6).all()
    assert sorted(r["tenor_days"].unique()) == [1, 30, 91, 182, 365, 730]
    wide = r.pivot(index="date", columns="tenor_days", values="rate")
    assert (wide[730] - wide[1]).mean() > 0  # small term premium
    assert wide.abs().max().max() < 0.2
    short = wide[1]
    # mean reversion: the short rate stays within a few points of its start
    assert (short - short.iloc[0]).abs().max() < 0.05
