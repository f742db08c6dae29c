"""Curated returns and point-in-time adjusted histories."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_assets.market import (
    ADJUSTED_COLUMNS,
    CURATED_COLUMNS,
    BadVendorData,
    curate_prices,
    pit_adjusted_history,
)
from quant_assets_tests.market import frames

S = frames.SESSIONS
NO_PREV = pd.DataFrame({"symbol": pd.Series([], dtype=object), "close": pd.Series([], dtype=float)})
NO_DELIST = pd.DataFrame(
    {
        "symbol": pd.Series([], dtype=object),
        "delist_date": pd.Series([], dtype="datetime64[ns]"),
        "delisting_return": pd.Series([], dtype=float),
    }
)
NO_CA = pd.DataFrame(
    {
        "symbol": pd.Series([], dtype=object),
        "event_type": pd.Series([], dtype=object),
        "ex_date": pd.Series([], dtype="datetime64[ns]"),
        "ratio": pd.Series([], dtype=float),
        "amount": pd.Series([], dtype=float),
    }
)


def _bars(symbol: str, dates, closes, volumes=None) -> pd.DataFrame:
    closes = np.asarray(closes, dtype=float)
    return pd.DataFrame(
        {
            "date": pd.DatetimeIndex(dates),
            "symbol": symbol,
            "open": closes,
            "high": closes + 1.0,
            "low": closes - 1.0,
            "close": closes,
            "volume": np.asarray(volumes if volumes is not None else [1000] * len(closes), dtype="int64"),
            "vwap": closes,
        }
    )


def _events(rows) -> pd.DataFrame:
    """rows: (symbol, type, ex_date, ratio, amount)."""
    if not rows:
        return NO_CA
    df = pd.DataFrame(rows, columns=["symbol", "event_type", "ex_date", "ratio", "amount"])
    df["ex_date"] = pd.to_datetime(df["ex_date"])
    return df


def _hand_example():
    """Symbol A: closes 100, 102, 51 (2-for-1 split ex S[2]), 50 ($1 dividend ex S[3]), 52.
    Symbol B: closes 10, 11, 12, delisted on S[2] with a -60% delisting return."""
    a = _bars("A", S, [100, 102, 51, 50, 52], [1000, 1000, 2000, 2000, 2000])
    b = _bars("B", S[:3], [10, 11, 12])
    ca = _events([("A", "split", S[2], 2.0, 0.0), ("A", "dividend", S[3], 1.0, 1.0)])
    dl = pd.DataFrame({"symbol": ["B"], "delist_date": [S[2]], "delisting_return": [-0.6]})
    return pd.concat([a, b], ignore_index=True), ca, dl


def test_hand_computed_split_dividend_and_delisting():
    """Worked by hand (exact fractions):
    A: r_price = [nan, 102/100-1, 51*2/102-1, 50/51-1, 52/50-1] = [nan, .02, 0, -1/51, .04];
       r_total adds 1/51 on the dividend day -> 0.
    B: r_total on the delisting day = (12/11)(1-0.6)-1 = -31/55.
    """
    bars, ca, dl = _hand_example()
    out = curate_prices(bars, NO_PREV, ca, dl)
    assert list(out.columns) == list(CURATED_COLUMNS)
    assert len(out) == len(bars)
    a = out[out["symbol"] == "A"].reset_index(drop=True)
    b = out[out["symbol"] == "B"].reset_index(drop=True)
    np.testing.assert_allclose(a["ret_price"], [np.nan, 0.02, 0.0, -1 / 51, 0.04], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(a["ret_total"], [np.nan, 0.02, 0.0, 0.0, 0.04], rtol=1e-13, atol=1e-15)
    assert a["split_ratio"].tolist() == [1.0, 1.0, 2.0, 1.0, 1.0]
    assert a["dividend"].tolist() == [0.0, 0.0, 0.0, 1.0, 0.0]
    assert b["is_delisting"].tolist() == [False, False, True]
    assert not a["is_delisting"].any()
    np.testing.assert_allclose(b["ret_price"], [np.nan, 0.1, 1 / 11], rtol=1e-13)
    np.testing.assert_allclose(b["ret_total"], [np.nan, 0.1, float(Fraction(-31, 55))], rtol=1e-13)
    # sorted by (date, symbol)
    assert out[["date", "symbol"]].apply(tuple, axis=1).is_monotonic_increasing


def test_hand_computed_adjusted_histories():
    """Worked by hand. As of S[4]: price-adjusted A closes = [100/2, 102/2, 51, 50, 52];
    total-return: pre-dividend closes also divided by (1 + 1/50): [2500/51, 50, 50, 50, 52].
    Volumes before the split double. B (delisted) is anchored at its last close 12.
    As of S[2] the later dividend is unknown: A = [50, 51, 51]."""
    bars, ca, dl = _hand_example()
    cur = curate_prices(bars, NO_PREV, ca, dl)
    price = pit_adjusted_history(cur, S[4])
    assert list(price.columns) == list(ADJUSTED_COLUMNS)
    a = price[price["symbol"] == "A"]
    np.testing.assert_allclose(a["adj_close"], [50, 51, 51, 50, 52], rtol=1e-15)
    np.testing.assert_allclose(a["adj_high"], [50.5, 51.5, 52, 51, 53], rtol=1e-15)
    np.testing.assert_allclose(a["adj_volume"], [2000] * 5, rtol=1e-15)
    np.testing.assert_allclose(a["adj_factor"], [0.5, 0.5, 1, 1, 1], rtol=1e-15)
    b = price[price["symbol"] == "B"]
    np.testing.assert_allclose(b["adj_close"], [10, 11, 12], rtol=1e-15)

    total = pit_adjusted_history(cur, S[4], total_return=True)
    a = total[total["symbol"] == "A"]
    np.testing.assert_allclose(a["adj_close"], [2500 / 51, 50, 50, 50, 52], rtol=1e-14)
    np.testing.assert_allclose(a["adj_volume"], [2000] * 5, rtol=1e-15)
    np.testing.assert_allclose(total[total["symbol"] == "B"]["adj_close"], [10, 11, 12])

    early = pit_adjusted_history(cur, S[2], total_return=True)
    np.testing.assert_allclose(early[early["symbol"] == "A"]["adj_close"], [50, 51, 51], rtol=1e-15)
    assert early["date"].max() == S[2]


def test_prev_close_links_the_window_to_the_previous_session():
    bars, ca, dl = _hand_example()
    later = bars[bars["date"] >= S[1]]
    prev = pd.DataFrame({"symbol": ["A", "B"], "close": [100.0, 10.0]})
    out = curate_prices(later, prev, ca, dl)
    full = curate_prices(bars, NO_PREV, ca, dl)
    pd.testing.assert_frame_equal(out, full[full["date"] >= S[1]].reset_index(drop=True), check_exact=True)


def test_event_without_a_bar_is_rejected():
    bars, _, _ = _hand_example()
    orphan = _events([("B", "split", S[4], 3.0, 0.0)])
    with pytest.raises(BadVendorData) as info:
        curate_prices(bars, NO_PREV, orphan, NO_DELIST)
    assert (info.value.dataset, info.value.field, info.value.rows) == ("corporate_actions", "ex_date", [0])


def test_bars_after_a_delisting_are_rejected():
    bars, ca, _ = _hand_example()
    early = pd.DataFrame({"symbol": ["A"], "delist_date": [S[1]], "delisting_return": [0.0]})
    with pytest.raises(BadVendorData, match="after_delisting"):
        curate_prices(bars, NO_PREV, ca, early)


def test_events_outside_the_window_are_rejected():
    bars, ca, dl = _hand_example()
    with pytest.raises(ValueError, match="outside the bars window"):
        curate_prices(bars[bars["date"] <= S[2]], NO_PREV, ca, dl)


# ----------------------------------------------------------------- property-based tests
@st.composite
def histories(draw):
    """Random raw histories for up to 3 symbols with splits (incl. reverse), dividends and
    at most one delisting; symbols may list late."""
    n = draw(st.integers(2, 14))
    days = pd.bdate_range("2023-01-02", periods=n)
    bars, events, delist = [], [], []
    for i in range(draw(st.integers(1, 3))):
        sym = f"S{i:04d}"
        start = draw(st.integers(0, n - 2))
        end = draw(st.integers(start + 1, n - 1))
        dates = days[start : end + 1]
        closes = draw(st.lists(st.floats(0.5, 500.0), min_size=len(dates), max_size=len(dates)))
        bars.append(_bars(sym, dates, np.round(closes, 2)))
        for j, day in enumerate(dates):  # an event may fall on a name's first bar too
            kind = draw(st.sampled_from(["none", "none", "split", "dividend", "both"]))
            if kind in ("split", "both"):
                ratio = draw(st.sampled_from([0.1, 0.5, 1.5, 2.0, 3.0]))
                events.append((sym, "split", day, ratio, 0.0))
            if kind in ("dividend", "both"):
                amount = draw(st.floats(0.01, 0.2)) * closes[max(j - 1, 0)]
                events.append((sym, "dividend", day, 1.0, round(amount, 4)))
        if end < n - 1 and not delist:
            delist.append((sym, dates[-1], draw(st.floats(-1.0, 0.05))))
    raw = pd.concat(bars, ignore_index=True)
    dl = pd.DataFrame(delist, columns=["symbol", "delist_date", "delisting_return"])
    dl["delist_date"] = pd.to_datetime(dl["delist_date"])
    return raw, _events(events), dl if len(dl) else NO_DELIST


def _reference_adjusted(raw, ca, asof, total):
    """Plain loop over the literal definition: adj(t) = P(T) / prod_{s in (t, T]} (1 + r_s)
    with r_s = (k_s P_s + D_s) / P_{s-1} - 1 (D_s = 0 for the price series)."""
    out = {}
    for sym, g in raw[raw["date"] <= asof].groupby("symbol"):
        g = g.sort_values("date")
        closes = g["close"].tolist()
        dates = g["date"].tolist()
        rets = [None]
        for j in range(1, len(closes)):
            ev = ca[(ca["symbol"] == sym) & (ca["ex_date"] == dates[j])]
            k = float(np.prod(ev.loc[ev["event_type"] == "split", "ratio"])) if len(ev) else 1.0
            d = float(ev.loc[ev["event_type"] == "dividend", "amount"].sum()) if total else 0.0
            rets.append((k * closes[j] + d) / closes[j - 1] - 1.0)
        adj = [0.0] * len(closes)
        growth = 1.0
        for j in range(len(closes) - 1, -1, -1):
            adj[j] = closes[-1] / growth
            if j > 0:
                growth *= 1.0 + rets[j]
        for day, value in zip(dates, adj, strict=True):
            out[(day, sym)] = value
    return out


@settings(max_examples=60, deadline=None)
@given(histories(), st.booleans(), st.data())
def test_adjusted_history_matches_the_literal_definition(hist, total, data):
    raw, ca, dl = hist
    cur = curate_prices(raw, NO_PREV, ca, dl)
    asof = data.draw(st.sampled_from(sorted(raw["date"].unique())))
    got = pit_adjusted_history(cur, asof, total_return=total)
    ref = _reference_adjusted(raw, ca, asof, total)
    assert len(got) == len(ref)
    expect = [ref[(d, s)] for d, s in zip(got["date"], got["symbol"], strict=True)]
    np.testing.assert_allclose(got["adj_close"], expect, rtol=1e-9)


@settings(max_examples=60, deadline=None)
@given(histories(), st.booleans())
def test_no_jump_on_ex_dates(hist, total):
    """The adjusted close-to-close return equals the curated return (excluding the delisting
    return, which is not a price) on every session, in particular on split and dividend days."""
    raw, ca, dl = hist
    cur = curate_prices(raw, NO_PREV, ca, dl)
    adj = pit_adjusted_history(cur, raw["date"].max(), total_return=total)
    merged = cur.merge(adj, on=["date", "symbol"]).sort_values(["symbol", "date"])
    adj_ret = merged.groupby("symbol")["adj_close"].pct_change()
    prev = merged.groupby("symbol")["close"].shift(1)
    expected = merged["ret_price"] + (merged["dividend"] / prev if total else 0.0)
    ok = prev.notna()
    np.testing.assert_allclose(adj_ret[ok], expected[ok], rtol=1e-9, atol=1e-12)
    if total:
        dl_rows = merged[merged["is_delisting"] & ok]
        for _, row in dl_rows.iterrows():
            sym_dl = dl.loc[dl["symbol"] == row["symbol"], "delisting_return"].iloc[0]
            assert row["ret_total"] == pytest.approx(
                (1 + row["ret_price"] + row["dividend"] / prev[row.name]) * (1 + sym_dl) - 1, rel=1e-12, abs=1e-12
            )


@settings(max_examples=60, deadline=None)
@given(histories(), st.data())
def test_nothing_after_asof_changes_the_pit_view(hist, data):
    """Perturbing later prices, adding a later split and appending later sessions never
    changes the view as of an earlier date."""
    raw, ca, dl = hist
    days = sorted(raw["date"].unique())
    asof = data.draw(st.sampled_from(days[:-1]))
    later = raw["date"] > asof
    changed = raw.copy()
    factor = data.draw(st.floats(0.2, 5.0))
    changed.loc[later, ["open", "high", "low", "close", "vwap"]] *= factor
    extra_day = days[-1] + pd.offsets.BDay(1)
    tail = changed.sort_values("date").groupby("symbol").tail(1)
    appended = tail[tail["date"] == days[-1]].assign(date=extra_day)
    changed = pd.concat([changed, appended], ignore_index=True)
    later_split = changed[changed["date"] > asof].iloc[[0]]
    ca2 = pd.concat(
        [ca, _events([(later_split["symbol"].iloc[0], "split", later_split["date"].iloc[0], 4.0, 0.0)])],
        ignore_index=True,
    )
    ca2 = ca2.drop_duplicates(["symbol", "event_type", "ex_date"], keep="last")
    dl2 = dl[~dl["symbol"].isin(appended["symbol"])]
    base = curate_prices(raw, NO_PREV, ca, dl)
    moved = curate_prices(changed, NO_PREV, ca2, dl2)
    for total in (False, True):
        pd.testing.assert_frame_equal(
            pit_adjusted_history(base, asof, total_return=total),
            pit_adjusted_history(moved, asof, total_return=total),
            check_exact=True,
        )


@settings(max_examples=40, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_session_by_session_curation_equals_window_curation(hist, rnd):
    raw, ca, dl = hist
    window = curate_prices(raw.sample(frac=1.0, random_state=rnd.randint(0, 2**31)), NO_PREV, ca, dl)
    parts, prev = [], NO_PREV
    for day in sorted(raw["date"].unique()):
        today = raw[raw["date"] == day]
        parts.append(curate_prices(today, prev, ca[ca["ex_date"] == day], dl[dl["delist_date"] == day]))
        prev = today[["symbol", "close"]]
    daily = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(window, daily, check_exact=True)
