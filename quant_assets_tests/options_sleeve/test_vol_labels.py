"""Vol labels on hand-built flat surfaces and price paths: IV change, realized VRP, hedged straddle PnL."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quant_assets.calendars import sessions_in_range
from quant_assets.options import bs_greeks, bs_price
from quant_assets.options.vol_features import surface_summary
from quant_assets.options.vol_labels import VolLabelConfig, build_vol_labels

SESSIONS = sessions_in_range("2024-01-02", "2024-03-28")
MATURITIES = np.array([7, 14, 28, 35, 63, 91]) / 365.0


def flat_surfaces(vols: np.ndarray, spots: np.ndarray, rate: float = 0.0, div: float = 0.0) -> pd.DataFrame:
    """Raw SVI slices with ``b = 0`` (w = a = vol^2 T): a flat smile of vol ``vols[d]`` on session ``d``."""
    rows = []
    for d, date in enumerate(SESSIONS[: len(vols)]):
        for t in MATURITIES:
            rows.append(
                {
                    "date": date,
                    "underlier": "X",
                    "t_years": t,
                    "forward": spots[d] * np.exp((rate - div) * t),
                    "rate": rate,
                    "a": vols[d] ** 2 * t,
                    "b": 0.0,
                    "rho": 0.0,
                    "m": 0.0,
                    "sigma": 0.1,
                }
            )
    return pd.DataFrame(rows)


def prices(spots: np.ndarray) -> pd.DataFrame:
    dates = SESSIONS[: len(spots)]
    ret = np.r_[np.nan, spots[1:] / spots[:-1] - 1.0]
    return pd.DataFrame({"date": dates, "symbol": "X", "close": spots, "split_ratio": 1.0, "ret_price": ret})


def labels_of(vols, spots, cfg, **kw):
    surf = flat_surfaces(np.asarray(vols, float), np.asarray(spots, float), **kw)
    return build_vol_labels(surface_summary(surf), surf, prices(np.asarray(spots, float)), SESSIONS[:3], cfg)


def straddle(spot, strike, t, vol, r=0.0):
    price = sum(float(bs_price(spot, strike, t, r, r, vol, c)) for c in (True, False))
    delta = sum(float(bs_greeks(spot, strike, t, r, r, vol, c).delta) for c in (True, False))
    return price, delta


def test_straddle_pnl_is_the_discrete_delta_hedged_gain_priced_by_the_core():
    rng = np.random.default_rng(3)
    n = 12
    spots = 100.0 * np.exp(np.cumsum(np.r_[0.0, rng.normal(0, 0.02, n - 1)]))
    vols = 0.25 + 0.02 * rng.standard_normal(n)
    cfg = VolLabelConfig(horizons=(2, 5), tenor_days=30)
    got = labels_of(vols, spots, cfg).iloc[0]
    expiry = SESSIONS[0] + pd.Timedelta(days=30)
    tau = np.array([(expiry - d).days / 365.0 for d in SESSIONS[:6]])
    k = spots[0]  # forward = spot at r = q = 0
    v, dl = zip(*(straddle(spots[j], k, tau[j], vols[j]) for j in range(6)), strict=True)
    for h in (2, 5):
        hedge = -sum(dl[j] * (spots[j + 1] - spots[j]) for j in range(h))
        assert got[f"straddle_pnl_bps_{h}"] == pytest.approx(1e4 * (v[h] - v[0] + hedge) / v[0], rel=1e-9)
        assert got[f"iv_change_{h}"] == pytest.approx(100 * (vols[h] - vols[0]), abs=1e-9)
        realized = 252.0 / h * np.sum(np.log(spots[1 : h + 1] / spots[:h]) ** 2)
        assert got[f"rvrp_{h}"] == pytest.approx(vols[0] ** 2 - realized, rel=1e-9)
        assert got[f"exit_date_{h}"] == SESSIONS[h]
    assert got["known_date"] == SESSIONS[5]


def test_financing_enters_the_pnl_at_the_rate_of_the_surface():
    spots, vols = np.full(8, 100.0), np.full(8, 0.3)
    cfg = VolLabelConfig(horizons=(1,), tenor_days=30)
    zero = labels_of(vols, spots, cfg).iloc[0]["straddle_pnl_bps_1"]
    funded = labels_of(vols, spots, cfg, rate=0.05, div=0.05).iloc[0]["straddle_pnl_bps_1"]
    expiry = SESSIONS[0] + pd.Timedelta(days=30)
    t0, t1 = ((expiry - SESSIONS[j]).days / 365.0 for j in (0, 1))
    v0, d0 = straddle(100.0, 100.0, t0, 0.3, 0.05)
    v1, _ = straddle(100.0, 100.0, t1, 0.3, 0.05)
    dt = (SESSIONS[1] - SESSIONS[0]).days / 365.0
    assert funded == pytest.approx(1e4 * (v1 - v0 + 0.05 * (d0 * 100.0 - v0) * dt) / v0, rel=1e-9)
    assert zero < 0  # theta: a long straddle loses when nothing moves


def test_a_straddle_past_expiry_is_settled_at_its_payoff():
    spots = np.r_[np.full(6, 100.0), np.full(6, 110.0)]
    cfg = VolLabelConfig(horizons=(9,), tenor_days=7)
    got = labels_of(np.full(12, 0.2), spots, cfg).iloc[0]
    v0, _ = straddle(100.0, 100.0, 7 / 365.0, 0.2)
    # Expiry 2024-01-09 (session 5): settled at |100 - 100| = 0 then frozen; hedged only while alive.
    assert got["straddle_pnl_bps_9"] == pytest.approx(1e4 * (0.0 - v0) / v0, rel=1e-9)


def test_entries_whose_last_exit_is_beyond_the_data_are_not_labelled():
    spots, vols = np.full(10, 100.0), np.full(10, 0.3)
    surf = flat_surfaces(vols, spots)
    cfg = VolLabelConfig(horizons=(2, 4))
    out = build_vol_labels(surface_summary(surf), surf, prices(spots), SESSIONS[:10], cfg)
    assert list(out["entry_date"]) == list(SESSIONS[:6])
    assert (out["known_date"] == out["exit_date_4"]).all()
    # Data after the last known date changes nothing already labelled.
    cut = surf[surf["date"] <= SESSIONS[7]]
    again = build_vol_labels(surface_summary(cut), cut, prices(spots[:8]), SESSIONS[:10], cfg)
    pd.testing.assert_frame_equal(again, out.iloc[:4].reset_index(drop=True))
