"""Labels: hand-checked barrier outcomes, delisting returns, and no use of data after the exit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_assets.calendars import sessions_in_range
from quant_assets.labels import LabelConfig, build_label_panel, triple_barrier
from quant_assets.research import MarketFrames
from quant_assets_tests.research.markets import perturb_after, small_market

WARM = 20
DAYS = sessions_in_range("2024-01-02", "2024-03-28")[: WARM + 6]


def _name(symbol: str, entry_close: float, later: list[float], delist: float | None = None) -> pd.DataFrame:
    """20 sessions of +/-1% returns, then the entry session (open 100) and the later returns."""
    rets = [0.01 if i % 2 else -0.01 for i in range(WARM)]
    closes = list(100 * np.cumprod([1.0, *[1 + r for r in rets[1:]]]))
    opens = closes.copy()
    closes.append(entry_close)
    opens.append(100.0)
    for r in later:
        closes.append(closes[-1] * (1 + r))
        opens.append(closes[-2])
    n = len(closes)
    close = np.array(closes)
    ret = np.r_[np.nan, close[1:] / close[:-1] - 1]
    df = pd.DataFrame(
        {
            "date": DAYS[:n],
            "symbol": symbol,
            "open": opens,
            "close": close,
            "volume": 1000,
            "split_ratio": 1.0,
            "dividend": 0.0,
            "ret_price": ret,
            "ret_total": ret,
            "is_delisting": False,
        }
    )
    if delist is not None:
        df.loc[n - 1, "is_delisting"] = True
        df.loc[n - 1, "ret_total"] = (1 + ret[-1]) * (1 + delist) - 1
    return df


@pytest.fixture(scope="module")
def hand():
    prices = pd.concat(
        [
            _name("A", 101.0, [0.02, 0.0, 0.0, 0.0, 0.0]),  # +1% then +2%: take profit at t+1
            _name("B", 97.0, [0.0] * 5),  # -3% on the entry day: stop at t
            _name("C", 100.1, [0.001, -0.001, 0.001, 0.0, 0.0]),  # inside: vertical at t+3
            _name("D", 100.0, [0.0], delist=-0.5),  # delists at t+1 with -50%
        ],
        ignore_index=True,
    )

    def empty(*cols):
        return pd.DataFrame({c: pd.to_datetime([]) if "date" in c else [] for c in cols})

    return MarketFrames(
        prices=prices,
        fundamentals=empty("symbol", "report_date"),
        earnings=empty("symbol", "announce_date", "earnings_date"),
        symbols=empty("date", "symbol", "shares_outstanding"),
        rates=empty("date", "tenor_days", "rate"),
    )


def test_hand_checked_barriers(hand):
    entry = DAYS[WARM]
    cfg = LabelConfig(tp_sigma=1.0, sl_sigma=1.0, max_h=4, vol_window=20, horizons=(2,))
    uni = pd.DataFrame({"date": entry, "symbol": ["A", "B", "C", "D"]})
    lab = build_label_panel(hand, [entry], cfg, universe=uni).set_index("symbol")
    assert lab["outcome"].to_dict() == {"A": "tp", "B": "sl", "C": "vertical", "D": "delisted"}
    assert lab["label"].to_dict() == {"A": 1, "B": -1, "C": 0, "D": -1}
    assert lab["exit_date"].to_dict() == {
        "A": DAYS[WARM + 1],
        "B": DAYS[WARM],
        "C": DAYS[WARM + 3],
        "D": DAYS[WARM + 1],
    }
    assert lab.loc["A", "ret_fwd_2"] == pytest.approx(1.01 * 1.02 - 1)
    assert lab.loc["D", "ret_fwd_2"] == pytest.approx(-0.5)  # the delisting return, from the open
    assert lab["xret_2"].sum() == pytest.approx(0.0, abs=1e-12)
    assert lab["known_date"].to_dict() == {
        "A": DAYS[WARM + 1],
        "B": DAYS[WARM + 1],
        "C": DAYS[WARM + 3],
        "D": DAYS[WARM + 1],
    }  # max(exit, t+1)
    tb = triple_barrier(entry, ["A", "B", "C", "D"], 1.0, 1.0, 4, panel=hand)
    assert list(tb.columns) == ["symbol", "entry_date", "exit_date", "label", "outcome", "meta"]
    assert tb.set_index("symbol")["outcome"].to_dict() == lab["outcome"].to_dict()
    a = tb.set_index("symbol").loc["A", "meta"]
    assert a["tp"] == pytest.approx(-a["sl"]) and a["tp"] == pytest.approx(2 * a["sigma"])  # sqrt(max_h) = 2
    assert a["sigma"] == pytest.approx(
        np.std(np.diff(hand.prices.loc[hand.prices["symbol"] == "A", "close"].to_numpy()[:WARM]) / 100, ddof=1),
        rel=0.02,
    )


def test_a_label_whose_exit_is_past_the_data_is_not_emitted(hand):
    cut = hand.restrict(DAYS[0], DAYS[WARM + 2])
    cfg = LabelConfig(max_h=4, horizons=(2,))
    lab = build_label_panel(cut, [DAYS[WARM]], cfg, universe=pd.DataFrame({"date": DAYS[WARM], "symbol": ["C"]}))
    assert lab.empty


def test_delistings_in_a_synthetic_market_end_labels_with_their_return():
    m = small_market()
    lab = build_label_panel(m, m.wide.sessions, LabelConfig(), top_n=40)
    d = lab[lab["outcome"] == "delisted"]
    assert len(d) >= 1
    delist = m.prices.loc[m.prices["is_delisting"], ["symbol", "date"]]
    assert set(zip(d["symbol"], d["exit_date"], strict=True)) <= set(zip(delist["symbol"], delist["date"], strict=True))


@settings(max_examples=6, deadline=None)
@given(cut=st.integers(min_value=80, max_value=360), seed=st.integers(0, 2**16))
def test_data_after_d_changes_no_label_known_before_d(cut, seed):
    m = small_market()
    s = m.wide.sessions
    d = s[cut]
    other = perturb_after(m, d, seed)
    a = build_label_panel(m, s, LabelConfig(), top_n=25)
    b = build_label_panel(other, s, LabelConfig(), top_n=25)
    a, b = (x[x["known_date"] < d].reset_index(drop=True) for x in (a, b))
    assert len(a) > 0
    pd.testing.assert_frame_equal(a, b)


def test_data_shorter_than_the_horizon_gives_no_label(hand):
    short = hand.restrict(DAYS[0], DAYS[4])
    assert build_label_panel(short, short.wide.sessions, LabelConfig(), top_n=4).empty
