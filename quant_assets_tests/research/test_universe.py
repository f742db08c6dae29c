"""Universe: top-N by ADV as of t-1, later-delisted names in before their delisting and never after."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_assets.features import build_feature_panel
from quant_assets.labels import build_label_panel
from quant_assets.research import build_universe
from quant_assets_tests.research.markets import perturb_after, small_market

TOP_N = 25


def test_delisted_names_are_in_before_their_delisting_and_never_after():
    m = small_market()
    sessions = m.wide.sessions
    uni = build_universe(m, sessions, TOP_N)
    delist = m.prices.loc[m.prices["is_delisting"], ["symbol", "date"]]
    assert len(delist) >= 2
    checked = 0
    for sym, d in delist.itertuples(index=False):
        member = uni.loc[uni["symbol"] == sym, "date"]
        assert (member <= d).all(), f"{sym} in the universe after delisting on {d}"
        if len(member):
            checked += 1
            # in on its delisting session (ranked on t-1, entered at the open) when liquid enough
            prev = sessions[sessions.get_loc(d) - 1]
            assert (member == prev).any() or (member < prev).any()
    assert checked >= 1


def test_universe_ranks_by_adv_of_the_sessions_before():
    m = small_market()
    s = m.wide.sessions
    t = s[100]
    uni = build_universe(m, [t], 5, window=60)
    p = m.prices[(m.prices["date"] < t) & (m.prices["date"] >= s[40])]
    adv = (p["close"] * p["volume"]).groupby(p["symbol"]).mean()
    traded = set(m.prices.loc[(m.prices["date"] == s[99]) & ~m.prices["is_delisting"], "symbol"])
    expected = adv[adv.index.isin(traded)].sort_values(ascending=False).head(5)
    assert uni["symbol"].tolist() == expected.index.tolist()
    np.testing.assert_allclose(uni["adv_60"].to_numpy(), expected.to_numpy(), rtol=1e-12)
    assert uni["rank"].tolist() == [1, 2, 3, 4, 5]


def test_universe_is_empty_without_history_and_capped_at_top_n():
    m = small_market()
    uni = build_universe(m, m.wide.sessions, TOP_N)
    assert m.wide.sessions[0] not in set(uni["date"])
    assert uni.groupby("date").size().max() == TOP_N


@settings(max_examples=8, deadline=None)
@given(cut=st.integers(min_value=70, max_value=350), seed=st.integers(0, 2**16))
def test_data_after_t_minus_1_changes_no_membership_at_t(cut, seed):
    m = small_market()
    sessions = m.wide.sessions
    t = sessions[cut]
    other = perturb_after(m, sessions[cut - 1], seed)
    a = build_universe(m, sessions[: cut + 1], TOP_N)
    b = build_universe(other, sessions[: cut + 1], TOP_N)
    pd.testing.assert_frame_equal(a, b)
    assert t in set(a["date"])


@pytest.mark.parametrize("build", [build_universe, build_feature_panel, build_label_panel])
def test_panels_refuse_sessions_outside_the_market(build):
    m = small_market()
    outside = [m.wide.sessions[-1] + pd.Timedelta(days=30)]
    args = (TOP_N,) if build is build_universe else ()
    with pytest.raises(ValueError, match="sessions outside the market's sessions"):
        build(m, outside, *args)
    assert (m.session_index(outside) == -1).all()
