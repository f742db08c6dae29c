"""The research self-test runs end to end on small in-memory markets and reports its figures."""

from __future__ import annotations

import numpy as np

from quant_assets.research.selftest import main, plot_power_curve, run_selftest, small_config, summarize


def test_selftest_small_markets_report_promotion_pbo_and_ic(tmp_path):
    rows = run_selftest(1, "both", small_config(), first_seed=1000)
    assert set(rows["edge"]) == {"planted", "none"}
    summary = summarize(rows)
    assert 0 <= summary["false_promotion_rate"] <= 1 and 0 <= summary["mean_pbo_noise"] <= 1
    # The oracle is aligned with the entry session: the planted expectation ranks the target well.
    assert summary["oracle_ic"] > 0
    assert np.isfinite(summary["oos_rank_ic"])
    png = plot_power_curve(summary, tmp_path / "power.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_selftest_command_prints_summary(capsys):
    assert main(["--seeds", "1", "--edge", "none", "--small", "--first-seed", "7"]) == 0
    out = capsys.readouterr().out
    assert "false_promotion_rate" in out and "mean_pbo_noise" in out
