"""The Go/No-Go scorecard rows: honest about missing figures, options figures carried as computed, the trend."""

import numpy as np
import pandas as pd

from quant_assets.models import GateConfig
from quant_assets.monitoring.go_no_go import (
    equities_row,
    options_rows,
    scorecard_markdown,
    scorecard_trend,
)

ASOF = pd.Timestamp("2024-03-28")


def test_sleeves_without_figures_are_no_go_and_say_why():
    rows = options_rows(ASOF, None)
    assert [r["sleeve"] for r in rows] == ["options_vol", "options_spread"]
    assert all(not r["passed"] and r["reasons"].startswith("not evaluated") for r in rows)
    eq = equities_row(ASOF, pd.DataFrame(columns=["date", "nav"]), pd.DataFrame(), pd.DataFrame(), GateConfig(), 1e6)
    assert not eq["passed"] and "0 backtest session" in eq["reasons"] and np.isnan(eq["sharpe"])


def test_options_figures_are_carried_with_their_trial_count_and_vega_verdict():
    figures = pd.DataFrame(
        [
            {
                "sleeve": "vol",
                "sharpe": 1.4,
                "max_drawdown": 0.05,
                "dsr": 0.97,
                "pbo": 0.02,
                "n_trials": 6,
                "max_net_vega": 0.004,
                "vega_cap": 0.002,
                "vega_within_policy": False,
                "passed": False,
                "reasons": "net vega 0.004 > cap",
            },
            {
                "sleeve": "spread",
                "sharpe": 1.2,
                "max_drawdown": 0.08,
                "dsr": 0.96,
                "pbo": 0.03,
                "n_trials": 6,
                "max_net_vega": 0.001,
                "vega_cap": 0.002,
                "vega_within_policy": True,
                "passed": True,
                "reasons": "",
            },
        ]
    )
    vol, spread = options_rows(ASOF, figures)
    assert (vol["sleeve"], vol["passed"], vol["vega_within_policy"], vol["n_trials"]) == ("options_vol", False, "no", 6)
    assert (spread["passed"], spread["vega_within_policy"], spread["reasons"]) == (True, "yes", "")
    md = scorecard_markdown(pd.DataFrame([vol, spread]))
    assert "| options_vol | **NO-GO** | 1.40 | 5.0% | 0.970 (6) | 0.020 | 0.004 / 0.002 | net vega 0.004 > cap |" in md
    assert "| options_spread | **GO** |" in md


def test_trend_is_the_change_per_sleeve_since_the_previous_session():
    h = pd.DataFrame(
        {
            "asof": pd.to_datetime(["2024-01-02", "2024-01-02", "2024-01-03", "2024-01-03"]),
            "sleeve": ["equities", "options_vol", "equities", "options_vol"],
            "sharpe": [0.5, 1.0, 0.7, 0.9],
            "dsr": [0.4, 0.9, 0.5, 0.8],
        }
    )
    t = scorecard_trend(h).set_index(["sleeve", "asof"])
    assert np.isclose(t.loc[("equities", pd.Timestamp("2024-01-03")), "sharpe_change"], 0.2)
    assert np.isclose(t.loc[("options_vol", pd.Timestamp("2024-01-03")), "dsr_change"], -0.1)
    assert np.isnan(t.loc[("equities", pd.Timestamp("2024-01-02")), "sharpe_change"])
