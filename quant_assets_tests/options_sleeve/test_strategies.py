"""Options strategies: structures, costs, the vol and spread sleeves, Greeks caps and the §10.2 document."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_assets.options.strategies import (
    StrategyPolicy,
    SurfacePanel,
    build_strategies,
    document_from_rows,
    option_fill_costs,
    projected_ex_dividends,
)
from quant_assets.options.strategies.evaluate import evaluate
from quant_assets.options.strategies.legs import Legs, calendar, diagonal, leg_values, straddle, strangle, vertical
from quant_assets.options.strategies_json import MAX_STRATEGIES
from quant_assets_tests.options_sleeve.markets import flat_smile_row

ASOF = pd.Timestamp("2024-02-01")


def flat_surfaces(
    vols: dict[str, float], spots: dict[str, float], date=ASOF, days=(8, 29, 57, 92), rate=0.03, term_slope: float = 0.0
) -> pd.DataFrame:
    """Flat smiles (b = 0) per underlier; ``term_slope`` adds vol per year of expiry."""
    rows = []
    for name, vol in vols.items():
        for d in days:
            t = d / 365.0
            v = vol + term_slope * t
            rows.append(flat_smile_row(date, name, date + pd.Timedelta(days=d), t, spots[name], rate, v))
    return pd.DataFrame(rows)


def forecasts(bps: dict[str, float], conf: float = 0.6, date=ASOF) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "underlier": list(bps),
            "asof": date,
            "horizon": 10,
            "forecast_iv_change": 0.0,
            "forecast_straddle_pnl_bps": list(bps.values()),
            "conf": conf,
        }
    )


def scores(mu: dict[str, float], date=ASOF) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "asof": date,
            "symbol": list(mu),
            "expected_excess_return": list(mu.values()),
            "horizon_sessions": 5,
            "confidence": 0.5,
        }
    )


def one_day(name="AAA", vol=0.3, spot=100.0, **kw):
    s = flat_surfaces({name: vol}, {name: spot}, **kw)
    panel = SurfacePanel(s)
    return panel.day(ASOF, name), panel.spot_at(ASOF, name)


def test_structures_have_listed_strikes_and_the_intended_shape():
    sl, spot = one_day()
    s = straddle(sl, spot, 30)
    assert s.strike[0] == s.strike[1] and s.is_call.tolist() == [True, False]
    assert pd.Timestamp(s.expiry[0]) == ASOF + pd.Timedelta(days=29)
    g = strangle(sl, spot, 30, 0.5)
    assert g.strike[0] > spot > g.strike[1]
    v = vertical(sl, spot, 30, direction=-1)
    assert not v.is_call.any() and v.strike[1] < v.strike[0] and v.ratio.tolist() == [1.0, -1.0]
    c = calendar(sl, spot, 30, 90)
    assert c.expiry[0] < c.expiry[1] and c.ratio.tolist() == [-1.0, 1.0] and c.strike[0] == c.strike[1]
    d = diagonal(sl, spot, 30, 90, direction=1)
    assert d.strike[0] > d.strike[1] and d.is_call.all()
    assert straddle(sl, spot, 30, min_days=100) is None


def test_leg_values_reprice_the_flat_smile():
    sl, spot = one_day(vol=0.25)
    v = leg_values(straddle(sl, spot, 30), sl, spot)
    np.testing.assert_allclose(v["vol"], 0.25)
    assert v["q"] == pytest.approx(0.0, abs=1e-12)


def test_fills_pay_the_half_spread_or_worse_and_impact_grows_as_volume_shrinks():
    pol = StrategyPolicy(fee_per_contract=0.0, impact_y=0.0)
    assert option_fill_costs(2.0, 0.05, 10, 100, 0.05, pol) == pytest.approx(10 * 100 * 0.05)
    worse = StrategyPolicy(fee_per_contract=0.0, impact_y=0.0, spread_worse=1.5)
    assert option_fill_costs(2.0, 0.05, -10, 100, 0.05, worse) == pytest.approx(1.5 * 10 * 100 * 0.05)
    base = StrategyPolicy()
    thin, deep = (float(option_fill_costs(2.0, 0.05, 10, v, 0.05, base)) for v in (20, 2000))
    assert thin > deep > 10 * 100 * 0.05
    with pytest.raises(ValueError, match="spread_worse"):
        StrategyPolicy(spread_worse=0.9)


def test_rich_implied_is_sold_cheap_implied_bought():
    s = flat_surfaces({"AAA": 0.3, "BBB": 0.3}, {"AAA": 100.0, "BBB": 50.0})
    rows = build_strategies(ASOF, forecasts({"AAA": -900.0, "BBB": 900.0}), None, s, StrategyPolicy())
    side = rows.set_index("underlier")["qty"]
    assert side["AAA"] < 0 < side["BBB"]
    assert set(rows["type"]) <= {"delta_hedged_straddle", "delta_hedged_strangle"}
    assert (rows["expected_pnl_bps"] > 0).all() and (rows["worst_case_slippage_bps"] > 0).all()
    assert (rows["hedge_rebalance"] == "daily").all()


def test_an_edge_smaller_than_the_costs_is_not_traded():
    s = flat_surfaces({"AAA": 0.3}, {"AAA": 100.0})
    assert build_strategies(ASOF, forecasts({"AAA": -5.0}), None, s, StrategyPolicy()).empty
    low_conf = build_strategies(ASOF, forecasts({"AAA": -900.0}, conf=0.1), None, s, StrategyPolicy(min_conf=0.5))
    assert low_conf.empty


def test_spread_sleeve_follows_the_score_and_the_term_structure():
    s = flat_surfaces({"AAA": 0.3}, {"AAA": 100.0})
    up = build_strategies(ASOF, None, scores({"AAA": 0.05}), s, StrategyPolicy()).iloc[0]
    assert up["sleeve"] == "spread" and up["type"] in ("vertical", "diagonal") and up["net_delta"] > 0
    down = build_strategies(ASOF, None, scores({"AAA": -0.05}), s, StrategyPolicy()).iloc[0]
    assert down["net_delta"] < 0
    inverted = flat_surfaces({"AAA": 0.3}, {"AAA": 100.0}, term_slope=-0.6)  # near expiry rich
    cal = build_strategies(ASOF, None, scores({"AAA": 0.0}), inverted, StrategyPolicy()).iloc[0]
    legs = json.loads(cal["legs"])
    assert cal["type"] == "calendar" and cal["qty"] > 0 and legs[0]["ratio"] < 0  # the rich near month is sold


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.floats(-3000, 3000).filter(lambda x: abs(x) > 50), min_size=1, max_size=14),
    st.floats(0.01, 0.2),
    st.floats(0.005, 0.1),
)
def test_net_vega_and_gamma_stay_within_the_caps(bps, vega_cap, gamma_cap):
    names = [f"S{i:02d}" for i in range(len(bps))]
    s = flat_surfaces(dict.fromkeys(names, 0.3), {n: 40.0 + 10 * i for i, n in enumerate(names)})
    pol = StrategyPolicy(vega_cap=vega_cap, gamma_cap=gamma_cap)
    rows = build_strategies(ASOF, forecasts(dict(zip(names, bps, strict=True))), None, s, pol)
    assert len(rows) <= MAX_STRATEGIES
    assert abs(rows["net_vega"].sum()) <= pol.vega_limit + 1e-6
    spots = rows["underlier"].map(lambda n: 40.0 + 10 * names.index(n))
    assert abs((rows["net_gamma"] * spots**2).sum()) <= pol.gamma_limit + 1e-6
    assert rows["expected_pnl_usd"].is_monotonic_decreasing or len(rows) < 2


def test_the_document_is_the_blueprint_shape_and_keeps_the_top_ten():
    names = [f"S{i:02d}" for i in range(13)]
    s = flat_surfaces(dict.fromkeys(names, 0.3), dict.fromkeys(names, 100.0))
    fc = forecasts({n: -400.0 - 50 * i for i, n in enumerate(names)})
    pol = StrategyPolicy(vega_cap=1.0)
    rows = build_strategies(ASOF, fc, scores({"S00": 0.03}), s, pol)
    assert len(rows) == MAX_STRATEGIES
    doc = document_from_rows(rows, ASOF, pol)
    assert [x["underlier"] for x in doc["strategies"]] == rows["underlier"].tolist()
    top = doc["strategies"][0]
    assert set(top) == {
        "underlier",
        "type",
        "expiry",
        "qty",
        "target_vega",
        "expected_pnl_bps",
        "conf",
        "hedge_rules",
        "net_greeks",
        "worst_case_slippage_bps",
    }
    assert doc["risk"] == {
        "net_vega": pytest.approx(rows["net_vega"].sum() / pol.book_size),
        "vega_cap": 1.0,
        "gamma_cap": pol.gamma_cap,
    }
    empty = document_from_rows(rows.iloc[:0], ASOF, pol)
    assert empty["strategies"] == [] and empty["risk"]["net_vega"] == 0.0
    assert document_from_rows(pd.DataFrame(), ASOF, pol)["strategies"] == []


def test_short_calls_before_an_ex_dividend_are_flagged():
    s = flat_surfaces({"AAA": 0.15}, {"AAA": 100.0})
    ca = pd.DataFrame(
        {
            "symbol": "AAA",
            "event_type": "dividend",
            "announce_date": pd.to_datetime(["2023-10-20"]),
            "ex_date": pd.to_datetime(["2023-11-10"]),
            "amount": [3.0],
        }
    )
    divs = projected_ex_dividends(ca, ASOF)
    assert pd.Timestamp("2024-02-09") in set(divs["ex_date"])
    short = build_strategies(ASOF, forecasts({"AAA": -2000.0}), None, s, StrategyPolicy(), dividends=divs)
    assert bool(short["assignment_risk"].iloc[0])
    long = build_strategies(ASOF, forecasts({"AAA": 2000.0}), None, s, StrategyPolicy(), dividends=divs)
    assert not bool(long["assignment_risk"].iloc[0])
    none = build_strategies(ASOF, forecasts({"AAA": -2000.0}), None, s, StrategyPolicy(), dividends=divs.iloc[:0])
    assert not bool(none["assignment_risk"].iloc[0])


def test_quoted_half_spreads_replace_the_fallback():
    sl, spot = one_day()
    legs = straddle(sl, spot, 30)
    quotes = pd.DataFrame(
        {
            "expiry": legs.expiry,
            "strike": legs.strike,
            "cp_flag": ["C", "P"],
            "bid": [3.0, 2.9],
            "ask": [3.4, 3.3],
            "volume": [500, 400],
        }
    )
    pol = StrategyPolicy()
    quoted = evaluate(legs, sl, spot, quotes, pol)
    np.testing.assert_allclose(quoted.half_spread, [0.2, 0.2])
    np.testing.assert_allclose(quoted.volume, [500, 400])
    fallback = evaluate(legs, sl, spot, None, pol)
    np.testing.assert_allclose(fallback.half_spread, pol.fallback_half_spread * fallback.values["price"])
    assert isinstance(Legs.of([(ASOF, 100.0, True, 1.0)]).records()[0]["expiry"], str)
