"""Tests of the probability of backtest overfitting (CSCV)."""

from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from quant_assets.validation import cscv_combinations, probability_of_backtest_overfitting


def reference_pbo(mat: np.ndarray, n_blocks: int) -> dict[str, np.ndarray]:
    """Straightforward CSCV (Bailey, Borwein, López de Prado and Zhu 2017):
    loop over combinations, Sharpe by mean / std(ddof=1) on the stacked rows,
    average ranks by scipy.stats.rankdata."""
    blocks = np.array_split(np.arange(mat.shape[0]), n_blocks)
    n = mat.shape[1]
    out: dict[str, list] = {"logits": [], "is": [], "oos": [], "sel": []}
    for combo in combinations(range(n_blocks), n_blocks // 2):
        is_rows = np.concatenate([blocks[b] for b in combo])
        oos_rows = np.concatenate([blocks[b] for b in range(n_blocks) if b not in combo])
        sr_is = mat[is_rows].mean(0) / mat[is_rows].std(0, ddof=1)
        sr_oos = mat[oos_rows].mean(0) / mat[oos_rows].std(0, ddof=1)
        best = int(np.argmax(sr_is))
        omega = stats.rankdata(sr_oos, method="average")[best] / (n + 1)
        out["logits"].append(np.log(omega / (1 - omega)))
        out["is"].append(sr_is[best])
        out["oos"].append(sr_oos[best])
        out["sel"].append(best)
    return {k: np.asarray(v) for k, v in out.items()}


@pytest.mark.parametrize(("t", "n", "s"), [(120, 7, 6), (97, 5, 8), (40, 12, 2)])
def test_matches_reference_loop(t: int, n: int, s: int) -> None:
    rng = np.random.default_rng(t + n + s)
    mat = rng.normal(0.01, 1.0, size=(t, n)) * rng.uniform(0.5, 3.0, size=n)
    res = probability_of_backtest_overfitting(mat, n_blocks=s)
    ref = reference_pbo(mat, s)
    assert res.n_combinations == comb(s, s // 2) == ref["logits"].size
    np.testing.assert_array_equal(res.selected, ref["sel"])
    np.testing.assert_allclose(res.logits, ref["logits"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.is_performance, ref["is"], rtol=1e-10)
    np.testing.assert_allclose(res.oos_performance, ref["oos"], rtol=1e-10)
    assert res.pbo == np.mean(ref["logits"] <= 0)
    assert res.prob_oos_loss == np.mean(ref["oos"] < 0)


def test_ties_use_average_rank() -> None:
    """Identical trials share the average OOS rank; the in-sample winner among equal
    scores is the lowest column index."""
    rng = np.random.default_rng(3)
    base = rng.normal(size=(60, 3))
    mat = np.column_stack([base[:, 0], base[:, 0], base[:, 1], base[:, 2]])
    res = probability_of_backtest_overfitting(mat, n_blocks=4)
    ref = reference_pbo(mat, 4)
    np.testing.assert_allclose(res.logits, ref["logits"], atol=1e-12)
    assert not np.any(res.selected == 1)  # column 1 duplicates column 0


def test_pure_noise_pbo_near_half() -> None:
    """Without skill the in-sample winner's OOS rank is uniform: PBO ~ 0.5
    (average over independent panels to tame the dependence between combinations)."""
    pbos = [
        probability_of_backtest_overfitting(np.random.default_rng(s).normal(size=(600, 30)), 10).pbo for s in range(12)
    ]
    assert np.mean(pbos) == pytest.approx(0.5, abs=0.1)


def test_strong_edge_pbo_near_zero() -> None:
    rng = np.random.default_rng(5)
    mat = rng.normal(size=(1000, 30))
    mat[:, 17] += 0.3
    res = probability_of_backtest_overfitting(pd.DataFrame(mat, columns=[f"t{i}" for i in range(30)]))
    assert res.pbo < 0.01
    assert res.prob_oos_loss < 0.01
    assert np.all(res.selected == 17)
    assert res.trial_names[17] == "t17"


def test_default_block_count_and_plot(tmp_path) -> None:
    rng = np.random.default_rng(0)
    res = probability_of_backtest_overfitting(rng.normal(size=(320, 6)))
    assert res.n_blocks == 16 and res.n_combinations == 12870
    out = res.plot(tmp_path / "pbo.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_combination_matrix() -> None:
    a = cscv_combinations(6)
    assert a.shape == (20, 6)
    assert np.all(a.sum(axis=1) == 3)
    expected = np.zeros((20, 6), dtype=np.int8)
    for i, c in enumerate(combinations(range(6), 3)):
        expected[i, list(c)] = 1
    np.testing.assert_array_equal(a, expected)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(2, 8),
    s=st.sampled_from([2, 4, 6]),
    scale=st.floats(0.01, 100.0),
)
def test_invariant_to_positive_rescaling(seed, n, s, scale) -> None:
    """Sharpe ratios, hence every CSCV output, are invariant to scaling a trial's returns."""
    rng = np.random.default_rng(seed)
    mat = rng.normal(0.05, 1.0, size=(48, n))
    res = probability_of_backtest_overfitting(mat, s)
    scaled = mat * (scale * np.arange(1, n + 1))
    res2 = probability_of_backtest_overfitting(scaled, s)
    np.testing.assert_array_equal(res.selected, res2.selected)
    np.testing.assert_allclose(res.logits, res2.logits, atol=1e-9)
    assert 0.0 <= res.pbo <= 1.0 and np.all(np.isfinite(res.logits))


@pytest.mark.parametrize(
    ("mat", "kw", "err", "match"),
    [
        (np.zeros((100, 5)), {"n_blocks": 5}, ValueError, "n_blocks"),
        (np.zeros((100, 5)), {"n_blocks": 0}, ValueError, "n_blocks"),
        (np.zeros((100, 5)), {"n_blocks": 4.0}, TypeError, "n_blocks"),
        (np.zeros((10, 5)), {"n_blocks": 16}, ValueError, "rows"),
        (np.zeros((100, 1)), {}, ValueError, "at least 2 trials"),
        (np.zeros(100), {}, ValueError, "2-D"),
        (np.where(np.eye(100, 5) > 0, np.nan, 0.0), {}, ValueError, "NaN"),
    ],
)
def test_bad_input(mat, kw, err, match) -> None:
    with pytest.raises(err, match=match):
        probability_of_backtest_overfitting(mat, **kw)


def test_zero_variance_trial_is_handled() -> None:
    """A flat trial (no trades) scores Sharpe 0, like the reference convention."""
    rng = np.random.default_rng(1)
    mat = np.column_stack([np.zeros(80), rng.normal(size=(80, 3))])
    res = probability_of_backtest_overfitting(mat, n_blocks=4)
    assert np.all(np.isfinite(res.logits))
