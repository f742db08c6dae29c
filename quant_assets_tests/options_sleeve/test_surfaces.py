"""Vol surfaces: acceptance against the planted SSVI truth, QC reasons, SSVI fallback, the dict API."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from quant_assets import options
from quant_assets.market import flag_option_quotes, usable_option_quotes
from quant_assets.market.store import ParquetStore
from quant_assets.market.synthetic.option_surface import atm_total_variance
from quant_assets.options import ssvi_total_variance, svi_calendar_arbitrage, svi_total_variance
from quant_assets.options.surfaces import REASONS, fit_slices, fit_svi_surfaces, ssvi_as_raw_svi, surface_points
from quant_assets_tests.options_sleeve.markets import option_market

LIQUID_QUOTES = 12
"""A liquid expiry: at least this many usable out-of-the-money quotes."""
ATM_TOLERANCE_VOL_PTS = 0.5


def _truth_atm(oracle: pd.DataFrame, slices: pd.DataFrame) -> np.ndarray:
    o = oracle.set_index("underlier").loc[slices["underlier"]]
    t = slices["t_years"].to_numpy()
    theta = atm_total_variance(
        t, o["atm_var_short"].to_numpy(), o["atm_var_long"].to_numpy(), o["term_decay"].to_numpy()
    )
    return np.sqrt(theta / t)


@pytest.mark.parametrize("day", [5, 30, 55])
def test_atm_vols_match_the_planted_surface_and_no_false_arbitrage(day):
    m = option_market()
    d = m.sessions[day]
    points, slices = fit_svi_surfaces(d, quotes=m.option_quotes(d, d), rates=m.rates(d, d))
    assert slices["underlier"].nunique() == 12
    err = 100.0 * np.abs(slices["atm_vol"].to_numpy() - _truth_atm(m.option_oracle(d, d), slices))
    liquid = slices["quotes_used"].to_numpy() >= LIQUID_QUOTES
    assert liquid.sum() >= 5 * 12
    assert err[liquid].max() < ATM_TOLERANCE_VOL_PTS, slices.assign(err=err)[liquid].nlargest(3, "err")
    # the truth (SSVI within Gatheral-Jacquier's conditions) is free of static arbitrage
    flags = slices[["butterfly_arbitrage", "calendar_arbitrage", "vertical_arbitrage"]].to_numpy()
    assert not flags.any()
    assert len(points) == len(m.option_quotes(d, d))  # every quote accounted for
    assert set(points["reason"]) <= set(REASONS)


def _quote(expiry, strike, cp, bid, ask, ts="2024-02-01 20:59"):
    return dict(
        date=pd.Timestamp("2024-02-01"),
        ts_ns=pd.Timestamp(ts, tz="UTC").value,
        underlier="X",
        expiry=pd.Timestamp(expiry),
        strike=strike,
        cp_flag=cp,
        bid=bid,
        ask=ask,
    )


def _rates():
    return pd.DataFrame({"date": pd.Timestamp("2024-02-01"), "tenor_days": [1, 365], "rate": [0.0, 0.0]})


def test_every_qc_rule_drops_with_its_reason():
    rows = [
        _quote("2024-03-15", 100, "C", 2.0, 1.9),  # crossed
        _quote("2024-03-15", 100, "P", 2.0, 2.0),  # locked
        _quote("2024-03-15", 150, "C", 0.0, 0.05),  # zero bid
        _quote("2024-03-15", 105, "C", 1.0, 1.1, ts="2024-02-01 15:00"),  # stale (close 21:00 UTC)
        _quote("2024-02-02", 100, "C", 1.0, 1.1),  # one day to expiry
        _quote("2024-03-15", 110, "C", 0.1, 0.5),  # spread 4x... of mid 0.3
        _quote("2024-04-19", 100, "C", 3.0, 3.1),  # no put at any strike
        _quote("2024-03-15", 95, "C", 5.5, 5.6),
        _quote("2024-03-15", 95, "P", 0.6, 0.7),
    ]
    pts = surface_points(pd.DataFrame(rows), _rates(), "2024-02-01")
    assert pts["reason"].tolist() == [
        "crossed",
        "locked",
        "zero_bid",
        "stale",
        "short_expiry",
        "wide_spread",
        "no_forward",
        "in_the_money",
        "thin_expiry",
    ]
    # the forward of 2024-03-15 comes from the 95 pair: F = 95 + (5.55 - 0.65)
    assert pts["forward"].iat[7] == pytest.approx(99.9)
    assert (pts["weight"] == 0).all()


def test_a_mid_without_implied_vol_is_dropped_with_the_iv_reason():
    k = np.arange(80.0, 121.0, 5.0)
    rows = []
    for s in k:
        c = max(100.0 - s, 0.0) + 2.0 * np.exp(-(((s - 100) / 12) ** 2))
        p = c - (100.0 - s)
        rows += [
            _quote("2024-03-15", s, "C", round(c - 0.05, 2), round(c + 0.05, 2)),
            _quote("2024-03-15", s, "P", round(p - 0.05, 2), round(p + 0.05, 2)),
        ]
    q = pd.DataFrame(rows)
    q.loc[(q["strike"] == 80) & (q["cp_flag"] == "P"), ["bid", "ask"]] = [85.0, 86.0]  # above the bound K
    pts = surface_points(q, _rates(), "2024-02-01")
    assert pts.loc[(q["strike"] == 80) & (q["cp_flag"] == "P"), "reason"].tolist() == ["iv_above_upper_bound"]
    assert (pts["reason"] == "used").sum() == 8
    assert np.isfinite(pts.loc[pts["reason"] == "used", "iv"]).all()


def _points_from_slices(params, ts):
    rows = []
    for j, (p, t) in enumerate(zip(params, ts)):
        k = np.linspace(-0.4, 0.4, 15)
        iv = np.sqrt(np.asarray(svi_total_variance(k, *p)) / t)
        rows.append(
            pd.DataFrame(
                {
                    "date": pd.Timestamp("2024-02-01"),
                    "underlier": "X",
                    "expiry": pd.Timestamp("2024-02-01") + pd.Timedelta(days=int(t * 365)),
                    "strike": 100 * np.exp(k),
                    "cp_flag": "C",
                    "bid": 1.0,
                    "ask": 1.1,
                    "mid": 1.05,
                    "t_years": t,
                    "rate": 0.0,
                    "forward": 100.0,
                    "k": k,
                    "iv": iv,
                    "weight": 1.0,
                    "reason": "used",
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_conflicting_slices_fall_back_to_an_arbitrage_free_ssvi_surface():
    ts = [30 / 365, 60 / 365, 91 / 365]
    ok = [(0.004, 0.05, -0.5, 0.0, 0.1), (0.008, 0.06, -0.5, 0.0, 0.1), (0.012, 0.07, -0.5, 0.0, 0.1)]
    good = fit_slices(_points_from_slices(ok, ts))
    assert (good["source"] == "svi").all() and not good["calendar_conflict"].any()
    bad = list(ok)
    bad[1] = (0.001, 0.02, -0.5, 0.0, 0.1)  # the middle expiry below the first
    assert svi_calendar_arbitrage(bad, ts).arbitrage
    out = fit_slices(_points_from_slices(bad, ts))
    assert (out["source"] == "ssvi").all() and out["calendar_conflict"].any()
    assert not out[["butterfly_arbitrage", "calendar_arbitrage", "vertical_arbitrage"]].to_numpy().any()
    params = out[["a", "b", "rho", "m", "sigma"]].to_numpy()
    assert not svi_calendar_arbitrage(list(params), ts).arbitrage


def test_ssvi_slices_written_as_raw_svi_are_the_same_smiles():
    theta, phi = np.array([0.01, 0.05]), np.array([3.0, 1.5])
    p = ssvi_as_raw_svi(theta, -0.6, phi)
    k = np.linspace(-2, 2, 41)
    for j in range(2):
        np.testing.assert_allclose(
            svi_total_variance(k, *p[j]), ssvi_total_variance(k, theta[j], -0.6, phi[j]), rtol=1e-12
        )


def test_fit_svi_surface_dict_from_frames_and_from_a_store(tmp_path):
    m = option_market()
    d = m.sessions[20]
    q, r = usable_option_quotes(flag_option_quotes(m.option_quotes(d, d))), m.rates(d, d)
    name = sorted(q["underlier"].unique())[0]
    got = options.fit_svi_surface(d, name, quotes=q, rates=r)
    assert got["underlier"] == name and got["date"] == d.strftime("%Y-%m-%d")
    assert set(got["no_arb_flags"]) == {"butterfly", "calendar", "vertical"}
    assert {"rmse_vol_pts", "max_error_vol_pts", "quotes_used", "quotes_dropped"} <= set(got["qc"])
    first = next(iter(got["slices"].values()))
    assert {"a", "b", "rho", "m", "sigma"} <= set(first)
    assert got["qc"]["quotes_used"] + got["qc"]["quotes_dropped"] == int((q["underlier"] == name).sum())
    json.dumps(got)  # JSON-ready
    store = ParquetStore(tmp_path)
    store.write_partition("curated", "option_quotes", d, q, immutable=False)
    store.write_partition("reference", "rates", d, r, immutable=False)
    assert options.fit_svi_surface(d, name, store=store) == got
