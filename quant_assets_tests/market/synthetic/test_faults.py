"""Injected feed faults: seeded, internally valid, listed, and never touching the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_assets.market import quality
from quant_assets.market.synthetic.faults import FAULT_COLUMNS, FAULT_KINDS
from quant_assets_tests.market.synthetic.conftest import make_market

BASE = {"seed": 5, "n_symbols": 60, "start": "2023-01-03", "end": "2023-12-29", "n_option_underliers": 2}
DIRTY = {
    **BASE,
    "fault_missing_bar_rate": 0.003,
    "fault_halt_rate": 2.0,
    "fault_zero_volume_rate": 0.003,
    "fault_bad_print_rate": 0.002,
    "fault_late_action_share": 0.3,
}


def _all(mkt, feed):
    return getattr(mkt, feed)(mkt.config.start, mkt.config.end)


@pytest.fixture(scope="module")
def clean():
    return make_market(**BASE)


@pytest.fixture(scope="module")
def dirty():
    return make_market(**DIRTY)


def _cells(f: pd.DataFrame, sessions: pd.DatetimeIndex) -> set:
    out = set()
    for _, row in f.iterrows():
        for d in sessions[(sessions >= row["start_date"]) & (sessions <= row["end_date"])]:
            out.add((d, row["symbol"]))
    return out


def test_clean_config_injects_nothing(clean):
    assert not clean.config.injects_faults
    f = clean.injected_faults()
    assert list(f.columns) == list(FAULT_COLUMNS) and f.empty
    pd.testing.assert_frame_equal(_all(clean, "bars")[["date", "symbol"]], _all(clean, "symbols")[["date", "symbol"]])


def test_every_kind_is_injected_and_deterministic(dirty):
    f = dirty.injected_faults()
    assert set(f["kind"]) == set(FAULT_KINDS)
    again = make_market(**DIRTY)
    pd.testing.assert_frame_equal(f, again.injected_faults())
    pd.testing.assert_frame_equal(_all(dirty, "bars"), _all(again, "bars"))


def test_dirt_passes_boundary_validation(dirty):
    known = set(dirty.symbol_master()["symbol"])
    bars = _all(dirty, "bars")
    for dataset in ("bars", "corporate_actions", "symbols"):
        quality.validate_feed(
            dataset,
            _all(dirty, dataset),
            sessions=dirty.sessions,
            known_symbols=known,
            closes=bars[["date", "symbol", "close"]],
        )
    assert ((bars["low"] <= bars["vwap"]) & (bars["vwap"] <= bars["high"])).all()
    assert (bars["close"] <= 1e6).all() and (bars["trades"] <= bars["volume"]).all()


def test_faults_change_only_the_listed_bars_and_never_the_truth(clean, dirty):
    f = dirty.injected_faults()
    bar_faults = f[f["kind"] != "late_action"]
    touched = _cells(bar_faults, dirty.sessions)
    a = _all(clean, "bars").set_index(["date", "symbol"])
    b = _all(dirty, "bars").set_index(["date", "symbol"])
    untouched = a.index.difference(pd.MultiIndex.from_tuples(sorted(touched)))
    pd.testing.assert_frame_equal(a.loc[untouched], b.loc[untouched])
    pd.testing.assert_frame_equal(_all(clean, "oracle"), _all(dirty, "oracle"))
    pd.testing.assert_frame_equal(_all(clean, "symbols"), _all(dirty, "symbols"))


def test_each_fault_looks_like_its_kind(clean, dirty):
    f = dirty.injected_faults()
    a = _all(clean, "bars").set_index(["date", "symbol"])
    b = _all(dirty, "bars").set_index(["date", "symbol"])
    s = dirty.sessions
    for _, row in f.iterrows():
        cells = sorted(_cells(pd.DataFrame([row]), s))
        if row["kind"] == "missing_bar" or row["detail"] == "bars not delivered":
            assert not any(c in b.index for c in cells)
        elif row["kind"] in ("zero_volume", "halt"):
            prev = a.loc[(s[s.get_loc(row["start_date"]) - 1], row["symbol"]), "close"]
            got = b.loc[cells]
            assert (got["volume"] == 0).all() and (got["trades"] == 0).all()
            for k in ("open", "high", "low", "close", "vwap"):
                np.testing.assert_allclose(got[k], prev)
        elif row["kind"] == "bad_print":
            ratio = b.loc[cells[0], "close"] / a.loc[cells[0], "close"]
            assert ratio > 2.5 or ratio < 0.4
    late = f[f["kind"] == "late_action"]
    ca = _all(dirty, "corporate_actions").set_index(["symbol", "ex_date"])
    assert len(late) > 0
    assert (
        ca.loc[list(zip(late["symbol"], late["start_date"])), "announce_date"].to_numpy()
        == late["start_date"].to_numpy()
    ).all()


@settings(max_examples=25, deadline=None)
@given(a=st.integers(0, 240), span=st.integers(0, 60))
def test_corporate_action_windows_deliver_only_what_was_known(dirty, a, span):
    s = dirty.sessions
    start, end = s[a], s[min(a + span, len(s) - 1)]
    ca = dirty.corporate_actions(start, end)
    assert (ca["announce_date"] <= end).all()
