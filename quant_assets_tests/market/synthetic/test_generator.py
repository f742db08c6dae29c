"""SyntheticMarket: determinism, window slicing, feed shapes and input validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quant_assets.market.synthetic import MarketConfig, SyntheticMarket
from quant_assets_tests.market.synthetic.conftest import TINY, make_market, sessions_for

FEEDS = {
    "bars": (
        "date",
        ["date", "symbol", "open", "high", "low", "close", "vwap", "volume", "nbbo_spread", "trades", "session_id"],
    ),
    "corporate_actions": (
        "ex_date",
        ["symbol", "event_type", "announce_date", "ex_date", "record_date", "pay_date", "ratio", "amount"],
    ),
    "delistings": ("delist_date", ["symbol", "delist_date", "reason", "delisting_return"]),
    "fundamentals": (
        "report_date",
        ["symbol", "period_end", "report_date", "book_equity", "shares_outstanding", "eps"],
    ),
    "earnings_calendar": ("announce_date", ["symbol", "announce_date", "earnings_date"]),
    "symbols": (
        "date",
        ["date", "symbol", "sector", "list_date", "tick_size", "borrow_fee_bps", "htb", "shares_outstanding"],
    ),
    "rates": ("date", ["date", "tenor_days", "rate"]),
    "option_quotes": (
        "date",
        [
            "date",
            "ts_ns",
            "underlier",
            "expiry",
            "strike",
            "cp_flag",
            "bid",
            "ask",
            "bid_size",
            "ask_size",
            "nbbo_mid",
            "exchs_bitmap",
            "volume",
            "open_interest",
        ],
    ),
    "oracle": (
        "date",
        ["date", "symbol", "expected_return", "true_vol", "momentum_signal", "value_signal", "reversal_signal"],
    ),
    "option_oracle": ("date", ["date", "underlier", "ssvi_theta_30d", "ssvi_rho", "ssvi_phi_eta"]),
}
INT_COLUMNS = {
    "volume",
    "trades",
    "session_id",
    "tenor_days",
    "ts_ns",
    "bid_size",
    "ask_size",
    "exchs_bitmap",
    "open_interest",
}
DATE_COLUMNS = {
    "date",
    "announce_date",
    "ex_date",
    "record_date",
    "pay_date",
    "delist_date",
    "period_end",
    "report_date",
    "earnings_date",
    "list_date",
    "expiry",
}
# option quotes for a handful of sessions keep the test fast
OPT_WINDOW = ("2024-03-20", "2024-03-27")


def _call(mkt, feed, a, b):
    return getattr(mkt, feed)(a, b)


def _full(mkt, feed):
    cfg = mkt.config
    if feed == "option_quotes":
        return mkt.option_quotes(*OPT_WINDOW)
    return _call(mkt, feed, cfg.start, cfg.end)


@pytest.mark.parametrize("feed", sorted(FEEDS))
def test_columns_order_and_dtypes(tiny_market, feed):
    col, cols = FEEDS[feed]
    df = _full(tiny_market, feed)
    assert len(df) > 0
    if feed == "option_oracle":
        assert list(df.columns[: len(cols)]) == cols
    else:
        assert list(df.columns) == cols
    for c in df.columns:
        if c in INT_COLUMNS:
            assert df[c].dtype == np.int64, c
        elif c in DATE_COLUMNS:
            assert df[c].dtype == "datetime64[ns]", c
            assert (df[c] == df[c].dt.normalize()).all(), c
    assert df[col].is_monotonic_increasing


@pytest.mark.parametrize("feed", sorted(FEEDS))
def test_same_seed_identical_frames(tiny_market, feed):
    other = make_market(**TINY)  # a fresh instance: nothing cached
    pd.testing.assert_frame_equal(_full(tiny_market, feed), _full(other, feed))


def test_different_seed_different_data(tiny_market):
    other = make_market(**{**TINY, "seed": TINY["seed"] + 1})
    a, b = _full(tiny_market, "bars"), _full(other, "bars")
    assert not a["close"].head(100).equals(b["close"].head(100))
    qa, qb = _full(tiny_market, "option_quotes"), _full(other, "option_quotes")
    assert not qa.equals(qb)


@pytest.mark.parametrize("feed", sorted(FEEDS))
def test_window_slicing_never_changes_values(tiny_market, feed):
    col, _ = FEEDS[feed]
    full = _full(tiny_market, feed)
    fresh = make_market(**TINY)
    windows = (
        [("2024-03-21", "2024-03-21"), ("2024-03-23", "2024-03-26")]
        if feed == "option_quotes"
        else [("2024-02-05", "2024-03-15"), ("2024-06-01", "2024-12-31"), ("2024-01-06", "2024-01-07")]
    )
    for a, b in windows:
        got = _call(fresh, feed, a, b)
        ref = full[(full[col] >= pd.Timestamp(a)) & (full[col] <= pd.Timestamp(b))]
        pd.testing.assert_frame_equal(got, ref.reset_index(drop=True))


def test_symbol_master(tiny_market):
    sm = tiny_market.symbol_master()
    assert list(sm.columns) == ["symbol", "sector", "list_date", "delist_date", "delist_reason"]
    assert len(sm) == tiny_market.config.n_symbols and sm["symbol"].is_unique
    dl = tiny_market.delistings(tiny_market.config.start, tiny_market.config.end)
    gone = sm.dropna(subset=["delist_date"]).set_index("symbol")
    assert set(gone.index) == set(dl["symbol"])
    assert (gone.loc[dl["symbol"], "delist_reason"].values == dl["reason"].values).all()
    assert sm.loc[sm["delist_date"].isna(), "delist_reason"].isna().all()


def test_bad_sessions_and_windows_are_rejected():
    cfg = MarketConfig(**TINY)
    s = sessions_for(cfg)
    with pytest.raises(ValueError, match="sessions"):
        SyntheticMarket(cfg, s.tz_localize("UTC"))
    with pytest.raises(ValueError, match="sessions"):
        SyntheticMarket(cfg, s[::-1])
    with pytest.raises(ValueError, match="sessions"):
        SyntheticMarket(cfg, s.append(pd.DatetimeIndex(["2030-01-02"])))
    with pytest.raises(TypeError, match="sessions"):
        SyntheticMarket(cfg, list(s))
    with pytest.raises(TypeError, match="config"):
        SyntheticMarket(TINY, s)
    mkt = SyntheticMarket(cfg, s)
    with pytest.raises(ValueError, match="start"):
        mkt.bars("2024-03-01", "2024-02-01")
    with pytest.raises(ValueError, match="dates"):
        mkt.bars("yesterday-ish", "2024-02-01")
