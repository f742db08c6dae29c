"""The research timeline at score level (hypothesis): nothing after ``t - 1`` reaches session ``t``.

* Scores of session ``t`` come from the universe of ``t``, its features and a fixed fitted
  scorer; perturbing every datum after the close of ``t - 1`` (prices, volumes, corporate
  events, fundamentals, earnings calendar, share counts, rates) changes none of them.
* The training set as of ``d`` (features joined with labels whose every exit is before ``d``)
  is unchanged when every datum from ``d`` on is perturbed.

The perturbed market holds all the later data: the panels are built over it as a whole, so a
lag missing anywhere in the chain shows up here.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from quant_assets.features import FEATURE_COLUMNS, build_feature_panel
from quant_assets.labels import LabelConfig, build_label_panel
from quant_assets.models import CandidateSpec, ScoringModel, build_candidates, research_panel, score_frame
from quant_assets.research import build_universe
from quant_assets_tests.research.markets import perturb_after, small_market

TOP_N = 25
CUTS = st.integers(min_value=70, max_value=350)
SEEDS = st.integers(0, 2**16)
FAST = settings(max_examples=5, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate])
"""Few examples, no shrinking: each example builds whole panels (a failure prints its cut and seed)."""


def _panels(market, sessions):
    uni = build_universe(market, sessions, TOP_N)
    return uni, build_feature_panel(market, sessions, universe=uni)


@lru_cache(maxsize=2)
def _scorer(candidate: str) -> ScoringModel:
    """A scorer fitted once on the unperturbed market (what ``equity_scores`` loads)."""
    m = small_market()
    s = m.wide.sessions
    uni, feats = _panels(m, s)
    labels = build_label_panel(m, s, LabelConfig(), universe=uni)
    panel = research_panel(feats, labels)
    spec = CandidateSpec(ablation=False, lgbm_params={"n_estimators": 10, "num_leaves": 4, "min_child_samples": 20})
    model = build_candidates(list(FEATURE_COLUMNS), spec)[candidate].fit(panel, panel["xret_5"])
    return ScoringModel(model, model.features, 5, candidate).fit(panel, panel["xret_5"])


@pytest.mark.parametrize("candidate", ["ridge", "lightgbm"])
@FAST
@given(cut=CUTS, seed=SEEDS)
def test_data_after_t_minus_1_changes_no_universe_feature_or_score_at_t(candidate, cut, seed):
    m = small_market()
    s = m.wide.sessions
    t = s[cut]
    other = perturb_after(m, s[cut - 1], seed)
    scorer = _scorer(candidate)
    out = []
    for market in (m, other):
        uni, feats = _panels(market, s)  # all sessions: the later (perturbed) ones are built too
        at_t = feats[feats["asof"] == t].reset_index(drop=True)
        out.append((uni[uni["date"] == t].reset_index(drop=True), at_t, score_frame(scorer, at_t)))
    (uni_a, feat_a, score_a), (uni_b, feat_b, score_b) = out
    assert len(uni_a) == TOP_N and len(score_a) == len(feat_a) > 0
    pd.testing.assert_frame_equal(uni_a, uni_b)
    pd.testing.assert_frame_equal(feat_a, feat_b, check_exact=False, rtol=1e-9, atol=1e-12)
    pd.testing.assert_frame_equal(score_a, score_b, check_exact=False, rtol=1e-9, atol=1e-12)
    assert np.ptp(score_a["expected_excess_return"]) > 0  # a scorer that ignores its inputs proves nothing


@FAST
@given(cut=st.integers(min_value=120, max_value=360), seed=SEEDS)
def test_data_from_d_on_changes_no_training_set_as_of_d(cut, seed):
    m = small_market()
    s = m.wide.sessions
    d = s[cut]
    other = perturb_after(m, s[cut - 1], seed)  # the close of d and everything after
    sets = []
    for market in (m, other):
        uni, feats = _panels(market, s)
        labels = build_label_panel(market, s, LabelConfig(), universe=uni)
        sets.append(research_panel(feats, labels, as_of=d))
    a, b = sets
    assert len(a) > 0
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=1e-12)
    assert (a["label_end"] < d).all()
