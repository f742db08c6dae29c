"""Tests of run_cpcv: fitting candidates over CPCV splits and assessing the selection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lightgbm import LGBMRegressor
from scipy import stats
from sklearn.linear_model import Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from quant_assets.validation import (
    PURGED,
    CombinatorialPurgedCV,
    default_candidates,
    rank_long_short_returns,
    run_cpcv,
)


def _small_candidates() -> dict:
    return {
        "ridge": make_pipeline(StandardScaler(), Ridge()),
        "lightgbm": LGBMRegressor(
            n_estimators=20,
            num_leaves=7,
            min_child_samples=20,
            n_jobs=1,
            deterministic=True,
            force_col_wise=True,
            verbose=-1,
            random_state=0,
        ),
    }


def _panel(n_dates: int, n_names: int, n_feat: int, beta: float, seed: int):
    rng = np.random.default_rng(seed)
    t = np.repeat(np.arange(n_dates), n_names)
    X = rng.normal(size=(t.size, n_feat))
    y = beta * X[:, 0] + rng.normal(size=t.size)
    return X, y, t


@pytest.fixture(scope="module")
def signal_run():
    X, y, t = _panel(120, 40, 5, 0.2, 0)
    return X, y, t, run_cpcv(X, y, t, 2, label_end=t + 1, candidates=_small_candidates(), n_folds=6)


def test_planted_signal_is_found(signal_run) -> None:
    """A linear signal with IC ~ 0.2 shows up out of sample: ridge cross-sectional rank
    IC clearly > 0 in every fold, positive path Sharpe, a significant DSR."""
    _, _, _, out = signal_run
    m = out["metrics"]
    ridge = m[m["candidate"] == "ridge"]
    assert ridge["rank_ic"].mean() > 0.12
    assert (ridge["rank_ic"] > 0).all()
    assert (out["path_sharpe"].loc["ridge"] > 0).all()
    assert out["selected"] in {"ridge", "lightgbm"}
    assert out["dsr"] > 0.95 and out["dsr_reason"] is None
    assert out["pbo"] is not None and 0.0 <= out["pbo_value"] <= 1.0


def test_output_structure(signal_run) -> None:
    out = signal_run[3]
    cv = out["cv"]
    n_splits, n_paths = cv.get_n_splits(), cv.n_test_paths
    assert (n_splits, n_paths) == (15, 5)
    assert len(out["splits"]) == n_splits
    assert len(out["metrics"]) == n_splits * 2 * 2  # splits x test folds x candidates
    for name in ("ridge", "lightgbm"):
        assert len(out["models"][name]) == n_splits
        frame = out["path_returns"][name]
        assert frame.shape == (120, n_paths)
        assert frame.notna().all().all()
        assert list(frame.index) == list(range(120))
    assert out["dsr_inputs"]["n_trials"] == 2 and out["dsr_inputs"]["n_obs"] == 120
    assert out["diagram"].axes and out["diagram_path"] is None
    assert out["timing"]["fit_seconds"] <= out["timing"]["wall_seconds"]
    # the returned splitter carries the run's times and label ends
    bound = [(len(tr), len(te)) for tr, te in cv.split(signal_run[0])]
    assert bound == list(zip(out["splits"]["n_train"], out["splits"]["n_test"]))
    assert (out["splits"]["n_purged"] > 0).any()


def test_path_returns_match_split_predictions(signal_run) -> None:
    """Each path's returns on fold f are the strategy returns of the split that the
    path map assigns to f, recomputed here from that split's stored predictions."""
    X, y, t, out = signal_run
    cv = out["cv"]
    splits = list(cv.split(X, groups=t, label_end=t + 1))
    paths = cv.test_fold_paths()
    _, fold_of_time = cv.fold_bounds(t)
    for p in (0, paths.shape[0] - 1):
        for f in range(cv.n_folds):
            s = paths[p, f]
            test = splits[s][1]
            pred = out["predictions"]["ridge"][s]
            rets = rank_long_short_returns(pred, y[test], t[test])
            days = np.flatnonzero(fold_of_time == f)
            np.testing.assert_allclose(out["path_returns"]["ridge"].loc[days, p].to_numpy(), rets.loc[days].to_numpy())


def test_rank_long_short_returns_by_hand() -> None:
    """Session 0: predictions (1, 3, 2) -> centred ranks (-1, 1, 0) / 2 -> 0.5*(y2 - y1);
    session 1 (single row): sign(pred) * y; session 2: all tied -> 0."""
    pred = np.array([1.0, 3.0, 2.0, -0.5, 4.0, 4.0])
    y = np.array([0.01, 0.05, -0.02, 0.03, 0.1, -0.1])
    g = np.array([0, 0, 0, 1, 2, 2])
    out = rank_long_short_returns(pred, y, g)
    np.testing.assert_allclose(out.to_numpy(), [0.5 * (0.05 - 0.01), -0.03, 0.0])


def test_pure_noise_is_not_significant() -> None:
    """With no signal the selected candidate's DSR, using the logged trial count, is
    not significant."""
    X, y, t = _panel(120, 40, 5, 0.0, 1)
    cands = {f"ridge{a}": make_pipeline(StandardScaler(), Ridge(alpha=a)) for a in (0.1, 10.0, 1000.0)}
    out = run_cpcv(X, y, t, 2, label_end=t + 1, candidates=cands | _small_candidates(), n_folds=6, n_trials=50)
    assert out["dsr"] < 0.95
    assert out["dsr_inputs"]["n_trials"] == 50


def _leak_panel(seed: int, n_names: int = 80, n: int = 200, h: int = 20):
    """Labels are h-session forward sums of each name's shocks, so labels of
    consecutive sessions overlap; the features (time, name) let 1-NN copy the label
    of the nearest training session of the same name."""
    rng = np.random.default_rng(seed)
    e = rng.normal(size=(n_names, n + h + 1))
    cs = np.concatenate([np.zeros((n_names, 1)), np.cumsum(e, axis=1)], axis=1)
    days = np.arange(n)
    y = (cs[:, days + h + 1] - cs[:, days + 1]).ravel()
    t = np.tile(days, n_names)
    X = np.column_stack([t, np.repeat(np.arange(n_names), n) * 1e6]).astype(float)
    return X, y, t, h


def test_purging_removes_label_leakage() -> None:
    """Without purge/embargo the nearest training rows share label shocks with the test
    rows and the OOS IC is spuriously high; with purge and embargo it vanishes. The
    rows purged are exactly the training rows whose label interval overlapped the test
    fold's labels' span [first session, last session + h]."""
    X, y, t, h = _leak_panel(0)
    knn = {"knn": KNeighborsRegressor(n_neighbors=1)}
    leaky = run_cpcv(X, y, t, 0, candidates=knn, n_folds=5)
    clean = run_cpcv(X, y, t, h, label_end=t + h, candidates=knn, n_folds=5)
    assert leaky["metrics"]["ic"].mean() > 0.2
    assert abs(clean["metrics"]["ic"].mean()) < 0.1
    assert leaky["splits"]["n_purged"].sum() == 0
    cv_leaky, cv_clean = CombinatorialPurgedCV(5, 2, 0), CombinatorialPurgedCV(5, 2, h)
    _, fold_of_time = cv_clean.fold_bounds(t)
    first = np.array([np.flatnonzero(fold_of_time == f)[0] for f in range(5)])
    last = np.array([np.flatnonzero(fold_of_time == f)[-1] for f in range(5)])
    n_leaked = 0
    for (train, _), masks in zip(cv_leaky.split(X, groups=t), cv_clean.split_masks(X, t, t + h)):
        overlap = np.zeros(t.size, dtype=bool)
        for f in masks.test_folds:
            overlap[train] |= (t[train] <= last[f] + h) & (t[train] + h >= first[f])
        n_leaked += int(overlap.sum())
        np.testing.assert_array_equal(np.flatnonzero(overlap), np.flatnonzero(masks.status == PURGED))
    assert n_leaked > 0


def test_deterministic_and_parallel_identical(tmp_path) -> None:
    X, y, t = _panel(60, 20, 4, 0.2, 2)
    a = run_cpcv(X, y, t, 1, candidates=_small_candidates(), n_folds=4, pbo_blocks=8)
    b = run_cpcv(
        X,
        y,
        t,
        1,
        candidates=_small_candidates(),
        n_folds=4,
        pbo_blocks=8,
        n_jobs=2,
        diagram_path=tmp_path / "folds.png",
    )
    for name in ("ridge", "lightgbm"):
        pd.testing.assert_frame_equal(a["path_returns"][name], b["path_returns"][name])
    pd.testing.assert_frame_equal(a["metrics"], b["metrics"])
    assert a["pbo_value"] == b["pbo_value"] and a["dsr"] == b["dsr"]
    assert (tmp_path / "folds.png").read_bytes()[:4] == b"\x89PNG"


def test_datetime_groups_and_dataframe_features() -> None:
    X, y, t = _panel(60, 10, 3, 0.3, 3)
    dates = pd.bdate_range("2023-01-02", periods=60).values[t]
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    out = run_cpcv(
        frame,
        y,
        dates,
        1,
        label_end=dates + np.timedelta64(1, "D"),
        candidates={"ridge": Ridge()},
        n_folds=4,
    )
    assert isinstance(out["path_returns"]["ridge"].index, pd.DatetimeIndex)
    assert np.isnan(out["pbo_value"]) and "2 candidates" in out["pbo_reason"]
    assert np.isfinite(out["dsr"])  # one trial: DSR = PSR against 0


def test_default_candidates_and_custom_returns_fn() -> None:
    cands = default_candidates()
    assert set(cands) == {"ridge", "lightgbm"}
    assert cands["lightgbm"].get_params()["n_jobs"] == 1
    X, y, t = _panel(40, 5, 2, 0.3, 4)

    def sign_mean(pred, yy, g):
        return pd.Series(np.sign(pred) * yy).groupby(g).mean()

    out = run_cpcv(X, y, t, 0, candidates={"r": Ridge()}, n_folds=4, returns_fn=sign_mean)
    assert out["path_returns"]["r"].shape == (40, 3)


def test_single_candidate_with_many_trials_needs_var_trials() -> None:
    X, y, t = _panel(40, 5, 2, 0.3, 5)
    out = run_cpcv(X, y, t, 0, candidates={"r": Ridge()}, n_folds=4, n_trials=20)
    assert np.isnan(out["dsr"]) and "var_trials" in out["dsr_reason"]
    out = run_cpcv(X, y, t, 0, candidates={"r": Ridge()}, n_folds=4, n_trials=20, var_trials=0.01)
    assert np.isfinite(out["dsr"])


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"embargo_days": 2.5}, TypeError, "embargo_days"),
        ({"y": np.zeros(10)}, ValueError, "y has"),
        ({"y": np.full(200, np.nan)}, ValueError, "NaN"),
        ({"candidates": {}}, ValueError, "candidates"),
        ({"n_trials": 0}, ValueError, "n_trials"),
        ({"n_folds": 4, "n_test_folds": 4}, ValueError, "n_test_folds"),
        ({"embargo_days": 50}, ValueError, "embargo"),
    ],
)
def test_bad_input(kwargs, err, match) -> None:
    X, y, t = _panel(40, 5, 2, 0.3, 6)
    args = {
        "X": X,
        "y": y,
        "groups": t,
        "embargo_days": 0,
        "candidates": {"r": Ridge()},
        "n_folds": 4,
    }
    args.update(kwargs)
    with pytest.raises(err, match=match):
        run_cpcv(**args)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 60), st.integers(1, 6))
def test_rank_long_short_returns_against_loop(seed, n_rows, n_sessions) -> None:
    """Vectorized within-session ranking (ties averaged) equals a per-session loop
    with scipy.stats.rankdata."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, n_sessions, size=n_rows)
    pred = rng.integers(-3, 4, size=n_rows).astype(float)  # many ties
    y = rng.normal(size=n_rows)
    got = rank_long_short_returns(pred, y, g)
    for s in np.unique(g):
        m = g == s
        if m.sum() == 1:
            expected = np.sign(pred[m][0]) * y[m][0]
        else:
            w = stats.rankdata(pred[m]) - (m.sum() + 1) / 2
            expected = 0.0 if np.abs(w).sum() == 0 else float(w @ y[m] / np.abs(w).sum())
        assert got.loc[s] == pytest.approx(expected, abs=1e-12)
