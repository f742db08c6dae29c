"""Planted edges: IC calibration, noise-only mode, and the oracle reproduced from the feeds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from quant_assets.market.synthetic.signals import cross_sectional_zscore


def _all(mkt, feed):
    return getattr(mkt, feed)(mkt.config.start, mkt.config.end)


def _total_returns(mkt) -> pd.DataFrame:
    """Observed total log returns from raw bars + corporate actions (what research sees)."""
    bars = _all(mkt, "bars")
    close = bars.pivot(index="date", columns="symbol", values="close")
    ca = _all(mkt, "corporate_actions")
    ratio = pd.DataFrame(1.0, index=close.index, columns=close.columns)
    div = pd.DataFrame(0.0, index=close.index, columns=close.columns)
    for _, e in ca.iterrows():
        if e["event_type"] == "split":
            ratio.loc[e["ex_date"], e["symbol"]] = e["ratio"]
        else:
            div.loc[e["ex_date"], e["symbol"]] = e["amount"]
    return np.log((close * ratio + div) / close.shift())


def _daily_rank_ic(signal: pd.DataFrame, fwd: pd.DataFrame) -> pd.Series:
    s, f = signal.align(fwd, join="inner")
    ok = s.notna() & f.notna()
    return s.where(ok).rank(axis=1).corrwith(f.where(ok).rank(axis=1), axis=1).dropna()


def _oracle_wide(mkt, col):
    o = _all(mkt, "oracle")
    return o.pivot(index="date", columns="symbol", values=col)


def test_planted_rank_ic_is_realistic(demo_market):
    fwd = _total_returns(demo_market).shift(-1)
    ic = _daily_rank_ic(_oracle_wide(demo_market, "expected_return"), fwd)
    assert len(ic) > 400
    assert 0.01 <= ic.mean() <= 0.08
    assert ic.mean() / ic.std() * np.sqrt(len(ic)) > 3  # detectable


def _block_t(ic: pd.Series, block: int = 21) -> float:
    means = ic.groupby(np.arange(len(ic)) // block).mean()
    return float(means.mean() / means.std() * np.sqrt(len(means)))


def test_noise_only_predicts_nothing(noise_market):
    o = _all(noise_market, "oracle")
    assert (o["expected_return"] == 0.0).all()
    fwd = _total_returns(noise_market).shift(-1)
    for col in ("momentum_signal", "value_signal", "reversal_signal"):
        ic = _daily_rank_ic(_oracle_wide(noise_market, col), fwd)
        assert len(ic) > 100
        assert abs(_block_t(ic)) < 3.0, col


def test_oracle_expected_return_is_the_planted_combination(demo_market):
    o = _all(demo_market, "oracle")
    cfg = demo_market.config
    mu = (
        cfg.momentum_strength * o["momentum_signal"]
        + cfg.value_strength * o["value_signal"]
        + cfg.reversal_strength * o["reversal_signal"]
    )
    np.testing.assert_allclose(o["expected_return"], mu, atol=1e-15)
    assert (o["true_vol"] > 0.0005).all() and (o["true_vol"] < 0.5).all()
    bars = _all(demo_market, "bars")
    pd.testing.assert_frame_equal(o[["date", "symbol"]], bars[["date", "symbol"]])


def test_oracle_signals_reproduce_from_vendor_feeds(demo_market):
    """Reversal, momentum and value computed from raw bars, corporate actions, fundamentals
    and reference snapshots (as known at each date) equal the oracle's planted signals."""
    r = _total_returns(demo_market)
    close = _all(demo_market, "bars").pivot(index="date", columns="symbol", values="close")
    listed = close.notna()
    log_tri = r.fillna(0.0).cumsum().where(listed)
    rev = -(log_tri - log_tri.shift(5))
    mom = (log_tri.shift(21) - log_tri.shift(252)).where(listed)
    f = _all(demo_market, "fundamentals").sort_values("report_date")
    book = (
        f.pivot_table(index="report_date", columns="symbol", values="book_equity", aggfunc="last")
        .reindex(close.index)
        .ffill()
    )
    shares = _all(demo_market, "symbols").pivot(index="date", columns="symbol", values="shares_outstanding")
    val = np.log(book / (shares * close))  # NaN where not listed
    for raw, col in ((rev, "reversal_signal"), (mom, "momentum_signal"), (val, "value_signal")):
        oracle = _oracle_wide(demo_market, col)
        for day in close.index[[3, 10, 100, 300, 480]]:
            z = cross_sectional_zscore(raw.loc[day].reindex(oracle.columns).to_numpy())
            expect = oracle.loc[day].to_numpy()
            listed = ~np.isnan(expect)
            np.testing.assert_allclose(z[listed], expect[listed], atol=1e-9, err_msg=f"{col} {day}")
