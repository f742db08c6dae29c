"""Selection under CPCV on small synthetic panels of the feature/label contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quant_assets.models import (
    CostInputs,
    DarkHoldout,
    DecileLongShort,
    GateConfig,
    SelectionConfig,
    TrialsLog,
    research_panel,
    score_frame,
    select_model,
)
from quant_assets_tests.models.panels import synthetic_panels

FAST = SelectionConfig(
    embargo_days=2,
    n_folds=5,
    pbo_blocks=8,
    book_size=1e5,
    walk_forward_steps=2,
    gate=GateConfig(min_sharpe=1.0, max_pbo=0.5),
)


def test_training_set_as_of_d_holds_only_labels_exited_before_d():
    f, lab = synthetic_panels(n_names=10, n_sessions=40)
    d = pd.Timestamp(sorted(lab["entry_date"].unique())[20])
    panel = research_panel(f, lab, as_of=d)
    assert (panel["label_end"] < d).all() and len(panel) > 0
    # Perturbing anything that exits on or after d changes nothing in the training set.
    late = lab["exit_date_5"] >= d
    lab2 = lab.copy()
    lab2.loc[late, "xret_5"] += 1.0
    pd.testing.assert_frame_equal(panel, research_panel(f, lab2, as_of=d))


def test_costs_reduce_path_returns_and_scale_with_book():
    n, T = 20, 10
    times = np.repeat(np.arange(T), n)
    syms = np.tile(np.arange(n), T)
    costs = CostInputs(np.full(n * T, 10.0), np.full(n * T, 0.01), np.full(n * T, 1e6), np.full(n * T, 0.02))
    pred = np.random.default_rng(0).normal(size=n * T)
    y = np.zeros(n * T)
    small = DecileLongShort(times, syms, costs, horizon=1, book_size=1e4)(pred, y, times)
    big = DecileLongShort(times, syms, costs, horizon=1, book_size=1e7)(pred, y, times)
    assert (small <= 0).all() and (big < small).all()
    # A constant score trades only once: later tranches repeat the same book.
    flat = DecileLongShort(times, syms, costs, horizon=1, book_size=1e4)(np.tile(np.arange(n), T) * 1.0, y, times)
    assert flat.iloc[0] < 0 and (flat.iloc[1:] == 0).all()


@pytest.fixture(scope="module")
def planted():
    return synthetic_panels(edge=0.01, seed=1)


def test_selection_records_trials_metrics_and_verdict(planted, tmp_path):
    f, lab = planted
    log = TrialsLog(tmp_path / "trials.jsonl")
    res = select_model(f, lab, FAST, trials_log=log, diagram_path=tmp_path / "folds.png")
    assert (tmp_path / "folds.png").stat().st_size > 0
    assert res.selected in {
        "baseline_momentum",
        "ridge",
        "logistic",
        "lightgbm",
        "ridge_minus_value",
        "ridge_minus_volatility",
        "baseline_blend",
    }
    assert {
        "baseline_momentum",
        "baseline_value",
        "baseline_blend",
        "ridge",
        "logistic",
        "lightgbm",
        "ridge_minus_momentum",
    } <= set(res.candidates.index)
    assert len(log) == len(res.candidates)
    head = res.headline()
    assert head["n_trials"] == len(res.candidates) and 0 <= head["pbo"] <= 1
    assert isinstance(head["gate_passed"], bool) and head["gate_reasons"]
    # A second run counts the first one's trials.
    again = select_model(f, lab, FAST, trials_log=log, walk_forward=False)
    assert again.dsr["n_trials"] == 2 * len(res.candidates)
    scores = score_frame(res.scorer, f[f["asof"] == f["asof"].max()])
    assert scores["confidence"].between(0, 1).all() and scores["rationale"].str.startswith("[").all()
    assert scores["symbol"].is_unique


def test_dark_holdout_rows_never_reach_selection(planted):
    f, lab = planted
    cut = pd.Timestamp(sorted(f["asof"].unique())[120])
    cfg = SelectionConfig(**{**FAST.__dict__, "holdout": DarkHoldout(cut)})
    res = select_model(f, lab, cfg, walk_forward=False)
    assert res.cpcv["path_returns"][res.selected].index.max() < cut
    assert res.holdout is not None and len(res.holdout) > 0


def test_dsr_deflates_by_the_sampling_variance_of_zero_skill_sharpes_not_the_candidates_spread(planted):
    """A poor candidate widens the spread of the trials' Sharpe ratios; luck is measured by 1 / (T - 1)."""
    from quant_assets.validation import expected_max_sharpe

    f, lab = planted
    res = select_model(f, lab, FAST, walk_forward=False)
    d = res.dsr
    assert d["var_trials"] == pytest.approx(1.0 / (d["n_obs_effective"] - 1.0))
    assert d["expected_max_sharpe_obs"] == pytest.approx(expected_max_sharpe(d["n_trials"], d["var_trials"]))
    # On this panel the candidates differ for real (value and volatility predict nothing): their spread is
    # larger than the sampling variance and would have set the bar at the spread of skill, not of luck.
    assert d["var_trials_observed"] > d["var_trials"]
