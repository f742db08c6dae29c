"""Vol forecasters: the straddle book, the selection through CPCV/PBO/DSR with the trials log, the forecast rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quant_assets import schemas
from quant_assets.calendars import sessions_in_range
from quant_assets.models import TrialsLog
from quant_assets.options.forecast import (
    FORECAST_COLUMNS,
    StraddleBook,
    VolForecastConfig,
    forecast_frame,
    select_vol_model,
    vol_panel,
    walk_forward_forecasts,
)

SESSIONS = sessions_in_range("2023-01-03", "2023-12-29")
CFG = VolForecastConfig(
    horizon=5,
    n_folds=4,
    embargo_days=2,
    pbo_blocks=8,
    lgbm_params={"n_estimators": 20, "num_leaves": 4, "min_child_samples": 20},
)


def panel(seed: int = 0, n: int = 150, names: int = 5, edge: float = 1.0):
    """Features and labels where the straddle PnL falls with the VRP feature (``edge`` scales it)."""
    rng = np.random.default_rng(seed)
    asof = SESSIONS[:n]
    rows = n * names
    feats = pd.DataFrame(
        {
            "asof": np.repeat(asof, names),
            "underlier": np.tile([f"U{i}" for i in range(names)], n),
            "feature_vrp": rng.normal(0.02, 0.02, rows),
            "feature_atm_iv": rng.uniform(0.15, 0.5, rows),
            "feature_iv_rank": np.where(rng.random(rows) < 0.3, np.nan, rng.random(rows)),
        }
    )
    pos = np.repeat(np.arange(n), names)
    cal = sessions_in_range(asof[0], asof[-1] + pd.Timedelta(days=60))
    labels = pd.DataFrame(
        {
            "entry_date": feats["asof"],
            "underlier": feats["underlier"],
            "atm_iv": feats["feature_atm_iv"],
            "iv_change_5": -100 * edge * (feats["feature_atm_iv"] - 0.3) + rng.normal(0, 3, rows),
            "rvrp_5": rng.normal(0, 0.01, rows),
            "straddle_pnl_bps_5": -20_000 * edge * (feats["feature_vrp"] - 0.02) + rng.normal(0, 400, rows),
            "exit_date_5": cal[pos + 5],
            "iv_change_21": 0.0,
            "rvrp_21": 0.0,
            "straddle_pnl_bps_21": 0.0,
            "exit_date_21": cal[pos + 21],
            "known_date": cal[pos + 21],
        }
    )
    return feats, labels


def test_the_straddle_book_holds_sign_of_forecast_net_of_the_round_trip_cost():
    t = np.array(["2024-01-02", "2024-01-02", "2024-01-03"], dtype="datetime64[ns]")
    book = StraddleBook(t, [100.0, -200.0, 50.0], cost_bps=10.0)
    got = book(np.array([1.0, -1.0, -2.0]), np.zeros(3), t)
    np.testing.assert_allclose(got.to_numpy(), [(100 - 10 + 200 - 10) / 2 * 1e-4, (-50 - 10) * 1e-4])
    with pytest.raises(ValueError, match="panel order"):
        book(np.ones(1), np.zeros(1), t[:1])


def test_panel_keeps_only_labels_known_before_the_as_of_date():
    feats, labels = panel()
    as_of = SESSIONS[100]
    p = vol_panel(feats, labels, CFG, as_of)
    assert (pd.to_datetime(p["known_date"]) < as_of).all() and len(p)
    assert (p["label_end"] == p["exit_date_5"]).all()


def test_selection_finds_the_planted_edge_and_counts_every_trial(tmp_path):
    feats, labels = panel()
    log = TrialsLog(tmp_path / "vol_trials.jsonl")
    first = select_vol_model(feats, labels, CFG, forecast="straddle_pnl", trials_log=log, run_id="r1")
    assert first.candidates.loc["vrp_baseline", "rank_ic"] > 0.3  # -VRP ranks the planted PnL
    assert first.candidates["rank_ic"].max() > 0.3 and np.isfinite(first.pbo_value)
    assert first.dsr["n_trials"] == 3 and len(log) == 3
    second = select_vol_model(feats, labels, CFG, forecast="iv_change", trials_log=log, run_id="r1")
    assert second.dsr["n_trials"] == 6 and len(log) == 6  # the DSR deflates by every logged trial
    assert {r["candidate"] for r in log.records()} >= {"straddle_pnl:lightgbm", "iv_change:ridge"}
    late = feats[feats["asof"] >= SESSIONS[120]].reset_index(drop=True)
    out = forecast_frame(first.scorer, second.scorer, late)
    assert list(out.columns) == list(FORECAST_COLUMNS)
    assert out["conf"].between(0, 1).all() and (out["horizon"] == 5).all()
    rich = late["feature_vrp"] > 0.04
    assert rich.sum() > 10 and (out.loc[rich, "forecast_straddle_pnl_bps"] < 0).mean() > 0.9  # rich implied: short


def test_without_an_edge_the_gate_refuses():
    feats, labels = panel(seed=1, edge=0.0)
    res = select_vol_model(feats, labels, CFG, forecast="straddle_pnl")
    assert not res.gate.passed and res.gate.reasons


def test_settings_refuse_unknown_keys_and_a_horizon_without_labels():
    with pytest.raises(ValueError, match="unknown vol_forecast settings keys"):
        VolForecastConfig.from_dict({"horizn": 5})
    with pytest.raises(ValueError, match="not one of the label horizons"):
        VolForecastConfig.from_dict({"horizon": 10})
    cfg = VolForecastConfig.from_dict({"horizon": 10, "labels": {"horizons": [10, 21]}, "features": {"rank_window": 5}})
    assert cfg.targets == {"straddle_pnl": "straddle_pnl_bps_10", "iv_change": "iv_change_10"}
    assert cfg.features.min_obs == 5


def test_forecast_rows_fit_the_agreed_schema():
    feats, labels = panel()
    pnl = select_vol_model(feats, labels, CFG, forecast="straddle_pnl").scorer
    iv = select_vol_model(feats, labels, CFG, forecast="iv_change").scorer
    out = forecast_frame(pnl, iv, feats[feats["asof"] >= SESSIONS[140]])
    out = out.assign(model_version="1/1", model_as_of=SESSIONS[140])
    from quant_assets.market.ingest import stamp_lineage

    stamped = stamp_lineage(out, known_at="asof", source_uri="quant_assets://options/vol_forecasts", transform_id="t")
    schemas.VolForecastSchema.validate(stamped)


def test_walk_forward_forecasts_use_only_labels_known_before_each_refit():
    feats, labels = panel(n=140)
    cfg = VolForecastConfig(horizon=5)
    base = walk_forward_forecasts(feats, labels, cfg, candidate="ridge", refit_every=20, min_sessions=40)
    assert len(base) and (base["model_as_of"] <= base["asof"]).all()
    assert base["asof"].min() >= SESSIONS[40]
    cut = SESSIONS[100]
    moved = labels.copy()
    late = moved["known_date"] >= cut
    moved.loc[late, ["straddle_pnl_bps_5", "iv_change_5"]] *= -3.0
    again = walk_forward_forecasts(feats, moved, cfg, candidate="ridge", refit_every=20, min_sessions=40)
    early = base["model_as_of"] <= cut
    pd.testing.assert_frame_equal(base[early], again[early])
    col = "forecast_straddle_pnl_bps"
    assert not np.allclose(base.loc[~early, col], again.loc[~early, col])  # later refits do see them
