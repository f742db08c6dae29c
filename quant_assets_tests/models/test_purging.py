"""Purging and embargo follow the exit of the targets a selection fits, not the longest horizon.

On the ``tiny`` profile's market the label panel carries 5- and 20-session targets (its
``known_date`` is entry + 19 sessions). A 5-session selection must purge by the 5-session and
triple-barrier exits only, and still never train on a row whose label window reaches a test fold.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import pytest

from quant_assets.calendars import sessions_in_range
from quant_assets.config import load_profile
from quant_assets.features import build_feature_panel
from quant_assets.labels import build_label_panel
from quant_assets.market.synthetic import MarketConfig, SyntheticMarket
from quant_assets.models import SelectionConfig, cost_inputs_from_wide, research_panel, select_model
from quant_assets.models.candidates import CandidateSpec
from quant_assets.research import MarketFrames, build_universe
from quant_assets.validation.cpcv import CombinatorialPurgedCV

CHEAP = CandidateSpec(ablation=False, lgbm_params={"n_estimators": 5, "num_leaves": 4, "min_child_samples": 20})


@lru_cache(maxsize=1)
def _tiny():
    profile = load_profile("tiny")
    mc = MarketConfig.from_dict(profile.market)
    market = MarketFrames.from_synthetic(SyntheticMarket(mc, sessions_in_range(mc.start, mc.end)))
    sessions = market.sessions()
    uni = profile.research["universe"]
    universe = build_universe(market, sessions, int(uni["top_n"]), int(uni["window"]), int(uni["min_obs"]))
    features = build_feature_panel(market, sessions, universe=universe)
    return profile, market, sessions, universe, features


def _labels(**overrides) -> pd.DataFrame:
    profile, market, sessions, universe, _ = _tiny()
    return build_label_panel(market, sessions, {**profile.research["labels"], **overrides}, universe=universe)


def _span(panel: pd.DataFrame) -> np.ndarray:
    """Sessions from entry to ``label_end`` per row."""
    cal = _tiny()[2]
    return cal.get_indexer(panel["label_end"]) - cal.get_indexer(panel["asof"])


def test_label_end_is_the_exit_of_the_targets_fitted_not_the_known_date():
    features, labels = _tiny()[4], _labels()
    assert (labels["known_date"] > labels["exit_date_5"]).all()  # the 20-session target is known later
    p5, p20 = research_panel(features, labels, horizon=5), research_panel(features, labels, horizon=20)
    expected = np.maximum(pd.to_datetime(p5["exit_date"]), pd.to_datetime(p5["exit_date_5"]))
    pd.testing.assert_series_equal(p5["label_end"], expected, check_names=False)
    max_h = int(load_profile("tiny").research["labels"]["max_h"])
    assert _span(p5).max() <= max_h - 1 < 19 == _span(p20).max()
    # As of a date, the 5-session panel holds every row whose fitted targets are known by then.
    as_of = _tiny()[2][-10]
    cut5 = research_panel(features, labels, as_of=as_of, horizon=5)
    assert (cut5["label_end"] < as_of).all()
    assert len(cut5) > len(research_panel(features, labels, as_of=as_of, horizon=20))


def test_cpcv_purges_fewer_rows_for_the_5_session_target_and_none_that_overlap_a_test_fold():
    features, labels = _tiny()[4], _labels()
    kept = {}
    for h in (5, 20):
        panel = research_panel(features, labels, horizon=h)
        asof, end = panel["asof"].to_numpy(), panel["label_end"].to_numpy()
        cv = CombinatorialPurgedCV(n_folds=4, n_test_folds=1, embargo=2, times=asof, label_end=end)
        times, fold_of = cv.fold_bounds(asof)
        kept[h] = 0
        for m in cv.split_masks(panel):
            kept[h] += m.train_index.size
            for f in m.test_folds:  # no leakage: a kept row's [asof, label_end] misses every test block
                block = np.isin(asof, times[fold_of == f])
                lo, hi = asof[block].min(), end[block].max()
                assert not ((asof[m.train_index] <= hi) & (end[m.train_index] >= lo)).any()
    assert kept[5] > 1.5 * kept[20]


def test_a_5_session_selection_runs_on_the_tiny_quarter():
    """With 5-session labels the quarter holds a CPCV layout; purged by entry + 19 it held none."""
    _, market, _, _, features = _tiny()
    labels = _labels(max_h=5)
    cfg = SelectionConfig(
        n_folds=5, embargo_days=2, pbo_blocks=4, book_size=1e6, walk_forward_steps=0, candidates=CHEAP
    )
    res = select_model(features, labels, cfg, costs=cost_inputs_from_wide(market.wide), walk_forward=False)
    assert res.n_sessions > 20 and (res.cpcv["splits"]["n_train"] > 0).all()
    assert isinstance(res.gate.passed, bool)


def test_ablations_are_logged_but_neither_selected_nor_in_the_pbo():
    """Near-copies of ridge are diagnostics: PBO and the choice run over the distinct models."""
    from quant_assets_tests.models.panels import synthetic_panels

    f, lab = synthetic_panels(edge=0.01, seed=1, n_sessions=120)
    cfg = SelectionConfig(embargo_days=2, n_folds=5, pbo_blocks=8, book_size=1e5, walk_forward_steps=0)
    res = select_model(f, lab, cfg, walk_forward=False)
    table = res.candidates
    ablations = table.index.str.startswith("ridge_minus_")
    assert ablations.any() and not table.loc[ablations, "contender"].any()
    assert not res.selected.startswith("ridge_minus_")
    assert res.pbo.trial_names == list(table.index[~ablations])
    assert res.dsr["n_trials"] == len(table)  # every evaluated variant still counts as a trial


@pytest.mark.parametrize("horizon", [5])
def test_the_as_of_cut_never_admits_a_label_whose_fitted_exit_is_late(horizon):
    features, labels = _tiny()[4], _labels()
    as_of = _tiny()[2][40]
    panel = research_panel(features, labels, as_of=as_of, horizon=horizon)
    late = (pd.to_datetime(labels["exit_date"]) >= as_of) | (pd.to_datetime(labels[f"exit_date_{horizon}"]) >= as_of)
    changed = labels.copy()
    changed.loc[late, f"xret_{horizon}"] += 1.0
    changed.loc[late, "label"] = -changed.loc[late, "label"]
    pd.testing.assert_frame_equal(panel, research_panel(features, changed, as_of=as_of, horizon=horizon))
