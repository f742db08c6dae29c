"""The research self-test runs end to end on small in-memory markets and reports its figures."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from quant_assets.research.power import bar_table, power_table
from quant_assets.research.selftest import main, plot_power_curve, run_selftest, small_config, summarize

BARS = {"sharpe", "max_drawdown", "pbo", "beats_expected_max", "dsr"}


@pytest.fixture(scope="module")
def rows():
    """2 planted and 3 noise-only CI-sized markets."""
    planted = run_selftest(2, "planted", small_config(), first_seed=1000)
    noise = run_selftest(3, "none", small_config(), first_seed=2000)
    return pd.concat([planted, noise], ignore_index=True)


def test_planted_edges_are_found_out_of_sample_and_noise_is_never_promoted(rows):
    summary = summarize(rows)
    assert summary["planted_seeds"] == 2 and summary["noise_seeds"] == 3
    # The oracle is aligned with the entry session: the planted expectation ranks the target well.
    assert summary["oracle_ic"] > 0
    assert summary["oos_rank_ic"] > 0
    assert summary["false_promotion_rate"] == 0.0
    assert 0 <= summary["mean_pbo_noise"] <= 1


def test_every_gate_bar_is_reported_per_market(rows):
    assert {f"pass_{b}" for b in BARS} <= set(rows.columns)
    table = bar_table(rows)
    assert set(table.index) == BARS
    assert table["pass_rate"].between(0, 1).all()
    # A promoted market passed every bar; a refused one failed at least one.
    flags = rows[[f"pass_{b}" for b in BARS]].all(axis=1)
    assert (flags == rows["promoted"]).all()


def test_bar_table_names_the_binding_bar():
    rows = pd.DataFrame(
        {
            "promoted": [False, False, False, True],
            "pass_pbo": [True, True, False, True],
            "pass_dsr": [False, False, False, True],
        }
    )
    table = bar_table(rows)
    assert table.loc["dsr", "failed_when_refused"] == 1.0 and table.loc["dsr", "failed_alone"] == pytest.approx(2 / 3)
    assert table.loc["pbo", "failed_alone"] == 0.0


def test_power_curve_png_has_promotion_and_ic_share_by_strength(tmp_path):
    rows = pd.DataFrame(
        {
            "edge": ["none", "planted", "planted", "planted"],
            "strength": [0.0, 1.0, 2.0, 2.0],
            "promoted": [False, False, True, False],
            "pbo": [0.5, 0.3, 0.1, 0.2],
            "oos_rank_ic": [0.0, 0.02, 0.05, 0.03],
            "oracle_ic": [np.nan, 0.04, 0.08, 0.08],
        }
    )
    table = power_table(rows)
    assert table.loc[2.0, "promotion_rate"] == 0.5 and table.loc[2.0, "ic_share_of_oracle"] == 0.5
    assert np.isnan(table.loc[0.0, "ic_share_of_oracle"])
    png = plot_power_curve(rows, tmp_path / "power.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_selftest_command_writes_rows_summary_and_power_curve(tmp_path, capsys):
    out = tmp_path / "selftest"
    args = ["--seeds", "1", "--edge", "none", "--small", "--first-seed", "7", "--out", str(out), "--strengths", "2"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "false_promotion_rate" in text and "gate bars, none" in text and "power curve" in text
    lines = (out / "selftest_none_rows.jsonl").read_text().splitlines()
    assert [json.loads(x)["strength"] for x in lines] == [0.0, 2.0]
    assert (out / "selftest_none_power.png").read_bytes()[:4] == b"\x89PNG"
    # Stored rows are summarized again without running anything.
    assert main(["--from-rows", str(out / "selftest_none_rows.jsonl"), "--out", str(out), "--tag", "again"]) == 0
    assert json.loads((out / "again_summary.json").read_text())["noise_seeds"] == 1
