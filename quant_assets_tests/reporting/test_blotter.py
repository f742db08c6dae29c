"""Daily blotter: §10.1 JSON validated against the repository's schema, Markdown page and plots."""

from __future__ import annotations

import copy
import json

import jsonschema
import numpy as np
import pandas as pd
import pytest

from quant_assets.backtest import run_backtest
from quant_assets.portfolio import build
from quant_assets.reporting import blotter_positions, emit_daily, validate_blotter
from quant_assets_tests.backtest.test_engine import random_market

SECTORS = ["TECH", "FIN", "HEALTH", "ENERGY"]


def session_scores(n: int = 60, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "asof": pd.Timestamp("2024-03-01"),
            "symbol": [f"N{i:03d}" for i in range(n)],
            "expected_excess_return": rng.normal(0, 0.01, n),
            "confidence": rng.uniform(0, 1, n),
            "sector": rng.choice(SECTORS, n),
            "htb": rng.uniform(size=n) < 0.1,
            "borrow_fee_bps": 30.0,
            "adv_dollar": 1e9,
            "daily_vol": rng.uniform(0.01, 0.03, n),
            "factor_momentum": rng.normal(size=n),
            "rationale": json.dumps(
                [{"feature": "mom_20", "contribution": 0.4}, {"feature": "vol_60", "contribution": -0.1}]
            ),
        }
    )


@pytest.fixture(scope="module")
def emitted(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("blotter")
    scores = session_scores()
    built = build(scores, {"name_cap": 0.04})
    pos = blotter_positions(built["target_weights"], scores, horizon_days=5)
    px, tg = random_market()
    bt = run_backtest(tg, px, None, {"initial_capital": 1e7})
    metrics = {
        **bt.metrics,
        "book_size": 1e7,
        "equity": bt.equity.set_index("date")["nav"],
        "psr_trend": pd.Series([0.4, 0.5, 0.6]),
    }
    risk = {"target_vol_ann": 0.10, "gross_cap": 1.5, "sector_caps": {"TECH": 0.25}}
    out = tmp_path / "reports" / "2024-03-01"
    md, payload = emit_daily("2024-03-01", pos, [], metrics, risk=risk, universe=scores["symbol"], out_dir=out)
    return out, md, payload, pos


def test_every_emitted_json_file_validates_against_the_schema(emitted):
    out, _, payload, pos = emitted
    files = sorted(out.glob("*.json"))
    assert [f.name for f in files] == ["blotter.json"]
    for f in files:
        validate_blotter(json.loads(f.read_text()))
    assert json.loads(files[0].read_text()) == payload
    assert list(payload) == ["asof", "universe", "positions", "risk", "strategies"]
    assert payload["strategies"] == [] and payload["asof"] == "2024-03-01"
    assert len(payload["positions"]) == len(pos) > 20
    assert set(payload["positions"][0]) == {
        "symbol",
        "target_w",
        "horizon_days",
        "expected_alpha_bps",
        "conf",
        "tp_bps",
        "sl_bps",
    }


def test_markdown_has_top_twenty_each_side_scorecard_and_plots(emitted):
    out, md, _, _ = emitted
    assert (out / "blotter.md").read_text() == md
    longs = md.split("## Top 20 longs")[1].split("## Top 20 shorts")[0]
    assert sum(line.startswith("| N") for line in longs.splitlines()) == 20
    assert "mom_20 +0.4" in longs
    for label in (
        "Net PnL",
        "Net Sharpe",
        "Max drawdown",
        "Turnover",
        "Capacity",
        "Modeled impact",
        "Realized impact",
        "PSR",
    ):
        assert label in md
    assert "| momentum |" in md
    assert (out / "equity_drawdown.png").stat().st_size > 0 and (out / "costs_psr.png").exists()
    assert "none formed at the previous close" in md


@pytest.mark.parametrize(
    "breakage",
    [
        lambda p: p.pop("risk"),
        lambda p: p["positions"][0].update(sl_bps=60.0),
        lambda p: p["positions"][0].pop("conf"),
        lambda p: p.update(asof="01/03/2024"),
        lambda p: p["positions"][0].update(extra=1),
    ],
)
def test_schema_rejects_payloads_off_the_contract(emitted, breakage):
    payload = copy.deepcopy(emitted[2])
    breakage(payload)
    with pytest.raises(jsonschema.ValidationError):
        validate_blotter(payload)


def test_emit_refuses_rows_the_schema_rejects():
    pos = pd.DataFrame(
        {
            "symbol": ["A"],
            "target_w": [0.01],
            "horizon_days": [5],
            "expected_alpha_bps": [20.0],
            "conf": [1.5],
            "tp_bps": [100.0],
            "sl_bps": [-50.0],
        }
    )
    with pytest.raises(jsonschema.ValidationError):
        emit_daily("2024-03-01", pos, [], {})
