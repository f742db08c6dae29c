"""The options strategies assets, invoked on hand-made upstream frames: §10.2 rows and document, backtest metadata."""

from __future__ import annotations

import json

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from quant_assets import schemas
from quant_assets.calendars import sessions_in_range
from quant_assets.config import load_profile
from quant_assets.defs.options.strategy_assets import build_strategy_assets, strategy_policy
from quant_assets.options.strategies import document_from_rows
from quant_assets.options.strategies_json import validate_strategies_document
from quant_assets_tests.options_sleeve.test_forecast import panel
from quant_assets_tests.options_sleeve.test_options_backtest import SESSIONS, always, market

PROFILE = load_profile("tiny")


@pytest.fixture()
def assets(tmp_path, monkeypatch):
    monkeypatch.setenv("QUANT_ASSETS_DATA", str(tmp_path))
    keys = [d.strftime("%Y-%m-%d") for d in sessions_in_range(PROFILE.start, PROFILE.end)]
    defs = build_strategy_assets(PROFILE, dg.StaticPartitionsDefinition(keys))
    return {a.key.to_user_string(): a for a in defs}


def _outputs(gen):
    return [e for e in gen if isinstance(e, dg.Output)]


def test_options_strategies_rows_validate_and_the_document_is_written(assets):
    session = pd.Timestamp("2024-02-01")
    surfaces, _ = market(names=("AAA", "BBB", "CCC"))
    surfaces = surfaces[surfaces["date"] == SESSIONS[20]].assign(date=session)
    fc = always(-1200, names=("AAA", "BBB")).assign(asof=session).drop_duplicates("underlier")
    sc = pd.DataFrame(
        {"asof": session, "symbol": ["CCC"], "expected_excess_return": [0.04], "horizon_sessions": 5, "confidence": 0.6}
    )
    ca = pd.DataFrame(
        {
            "symbol": ["AAA"],
            "event_type": ["dividend"],
            "announce_date": pd.to_datetime(["2023-12-01"]),
            "ex_date": pd.to_datetime(["2023-12-20"]),
            "amount": [0.5],
        }
    )
    quotes = pd.DataFrame(columns=["date", "underlier", "expiry", "strike", "cp_flag", "bid", "ask", "volume"])
    ctx = dg.build_asset_context(partition_key="2024-02-01")
    [out] = _outputs(
        assets["options_strategies"](
            ctx,
            vol_forecasts=fc,
            equity_scores=sc,
            vol_surfaces=surfaces,
            option_quotes=quotes,
            raw_corporate_actions=ca,
        )
    )
    rows = out.value
    schemas.OptionsStrategies.validate(rows)
    assert set(rows["sleeve"]) == {"vol", "spread"} and (rows.loc[rows["sleeve"] == "vol", "qty"] < 0).all()
    path = PROFILE.data_dir / "reports" / "2024-02-01" / "options_strategies.json"
    doc = validate_strategies_document(json.loads(path.read_text()))
    assert doc == document_from_rows(rows, session, strategy_policy(PROFILE))
    assert out.metadata["strategies"].value == len(rows) == len(doc["strategies"])


def test_options_backtest_reports_go_no_go_per_sleeve(assets):
    surfaces, _ = market(names=("AAA", "BBB"))
    sc = pd.DataFrame(
        [
            {"asof": d, "symbol": "AAA", "expected_excess_return": 0.03, "horizon_sessions": 5, "confidence": 0.5}
            for d in SESSIONS
        ]
    )
    none = pd.DataFrame()
    [out] = _outputs(
        assets["options_backtest"](
            vol_surfaces=surfaces, vol_forecasts=always(-1500), equity_scores=sc, vol_features=none, vol_labels=none
        )
    )
    daily = out.value
    schemas.OptionsBacktest.validate(daily)
    figures = out.metadata["figures"].value
    assert set(figures) == {"vol", "spread"}
    for g in figures.values():
        assert {"sharpe", "max_drawdown", "dsr", "pbo", "vega_within_policy", "passed"} <= set(g)
    assert "| vol |" in out.metadata["go_no_go"].value and "data:image/png" in out.metadata["attribution"].value
    assert out.metadata["vol_signal"].value == "vol_forecasts (stored)"
    np.testing.assert_allclose(daily[["delta", "gamma", "theta", "vega", "residual"]].sum(axis=1), daily["total"])


def test_options_backtest_trades_on_walk_forward_forecasts_over_history(assets):
    """With labelled history the vol sleeve's signal is walk-forward (out of sample), not the stored forecasts."""
    surfaces, _ = market(names=("AAA", "BBB"))
    feats, labels = panel(n=150, names=2)
    rename = {"U0": "AAA", "U1": "BBB"}
    feats, labels = feats.replace({"underlier": rename}), labels.replace({"underlier": rename})
    none = pd.DataFrame(columns=["asof", "symbol", "expected_excess_return", "horizon_sessions", "confidence"])
    [out] = _outputs(
        assets["options_backtest"](
            vol_surfaces=surfaces,
            vol_forecasts=always(-1500),
            equity_scores=none,
            vol_features=feats,
            vol_labels=labels,
        )
    )
    assert out.metadata["vol_signal"].value.startswith("walk-forward ridge")
