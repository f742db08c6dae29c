"""Tests of the combinatorial purged cross-validation splitter and its diagram."""

from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Ridge
from sklearn.model_selection import cross_val_score

from quant_assets.validation import (
    EMBARGOED,
    PURGED,
    TEST,
    TRAIN,
    CombinatorialPurgedCV,
    cpcv_session_status,
    plot_cpcv_folds,
)


def test_counts_and_paths_layout() -> None:
    cv = CombinatorialPurgedCV(n_folds=6, n_test_folds=2, embargo=0)
    assert cv.get_n_splits() == 15 and cv.n_test_paths == 5
    assert cv.test_fold_combinations() == list(combinations(range(6), 2))
    paths = cv.test_fold_paths()
    assert paths.shape == (5, 6)
    combos = cv.test_fold_combinations()
    for p in range(5):
        for f in range(6):
            assert f in combos[paths[p, f]]
    # every (split, test fold) pair feeds exactly one path
    pairs = {(int(paths[p, f]), f) for p in range(5) for f in range(6)}
    assert pairs == {(s, f) for s, c in enumerate(combos) for f in c}


def test_default_layout_is_8_choose_2() -> None:
    cv = CombinatorialPurgedCV()
    assert (cv.n_folds, cv.n_test_folds, cv.embargo) == (8, 2, 10)
    assert cv.get_n_splits() == 28 and cv.n_test_paths == 7


def test_hand_checked_purge_and_embargo() -> None:
    """20 sessions, 4 folds of 5; labels span 2 sessions ahead; embargo 1.
    Split 0 tests folds 0 and 1 (sessions 0-9): sessions 10 embargoed; nothing before.
    Split 1 tests folds 0 and 2 (sessions 0-4, 10-14): sessions 8, 9 purged (labels
    reach 10, 11), session 5 embargoed after fold 0, session 15 after fold 2."""
    t = np.arange(20)
    cv = CombinatorialPurgedCV(n_folds=4, n_test_folds=2, embargo=1)
    masks = list(cv.split_masks(t, groups=t, label_end=t + 2))
    s0, s1 = masks[0].status, masks[1].status
    assert list(np.flatnonzero(s0 == TEST)) == list(range(10))
    assert list(np.flatnonzero(s0 == EMBARGOED)) == [10]
    assert list(np.flatnonzero(s0 == PURGED)) == []
    assert list(np.flatnonzero(s1 == PURGED)) == [8, 9]
    assert list(np.flatnonzero(s1 == EMBARGOED)) == [5, 15]
    assert list(np.flatnonzero(s1 == TRAIN)) == [6, 7, 16, 17, 18, 19]


@st.composite
def _panels(draw):
    n_folds = draw(st.integers(2, 6))
    k = draw(st.integers(1, n_folds - 1))
    n_times = draw(st.integers(n_folds, 40))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    per_time = rng.integers(1, 4, size=n_times)
    pos = np.repeat(np.arange(n_times), per_time)
    times = np.cumsum(rng.integers(1, 4, size=n_times))  # irregular spacing
    horizon = rng.integers(0, 6, size=pos.size)
    end_pos = pos + horizon
    # label end times, possibly beyond the last observation
    ext = np.concatenate([times, times[-1] + np.arange(1, 7)])
    perm = rng.permutation(pos.size)  # rows need not be sorted by time
    min_fold = n_times // n_folds
    embargo = draw(st.integers(0, min_fold))
    return n_folds, k, embargo, times[pos][perm], ext[end_pos][perm], pos[perm], times


@settings(max_examples=60, deadline=None)
@given(_panels())
def test_properties(panel) -> None:
    """No training label interval overlaps a test fold or its embargo window; every
    row is tested in C(N-1, k-1) splits; each path covers every row exactly once;
    sessions never straddle folds; rows removed from training really overlap."""
    n_folds, k, embargo, g, end, pos, times = panel
    cv = CombinatorialPurgedCV(n_folds=n_folds, n_test_folds=k, embargo=embargo)
    _, fold_of_time = cv.fold_bounds(g)
    fold_first = np.array([times[fold_of_time == f][0] for f in range(n_folds)])
    last_pos = np.array([np.flatnonzero(fold_of_time == f)[-1] for f in range(n_folds)])
    window_end = times[np.minimum(last_pos + embargo, times.size - 1)]
    n_test = np.zeros(g.size, dtype=int)
    split_tests = []
    for masks, (train, test) in zip(
        cv.split_masks(g, g, end), cv.split(g, groups=g, label_end=end)
    ):
        assert np.intersect1d(train, test).size == 0
        for f in masks.test_folds:
            overlap = (g[train] <= window_end[f]) & (end[train] >= fold_first[f])
            assert not overlap.any()
        # sessions never straddle: a session is all test or no test
        test_sessions = np.unique(pos[test])
        assert np.isin(pos, test_sessions).sum() == test.size
        # removed rows (purged/embargoed) each overlap some test window
        removed = np.flatnonzero((masks.status == PURGED) | (masks.status == EMBARGOED))
        if removed.size:
            hit = np.zeros(removed.size, dtype=bool)
            for f in masks.test_folds:
                hit |= (g[removed] <= window_end[f]) & (end[removed] >= fold_first[f])
            assert hit.all()
        n_test[test] += 1
        split_tests.append(set(test.tolist()))
    assert np.all(n_test == comb(n_folds - 1, k - 1))
    paths = cv.test_fold_paths()
    row_fold = fold_of_time[pos]
    for p in range(paths.shape[0]):
        covered = np.zeros(g.size, dtype=int)
        for f in range(n_folds):
            rows = [r for r in split_tests[paths[p, f]] if row_fold[r] == f]
            covered[rows] += 1
        assert np.all(covered == 1)


def test_datetime_groups_and_sklearn_compatibility() -> None:
    dates = pd.bdate_range("2024-01-01", periods=40)
    g = np.repeat(dates.values, 5)
    end = g + np.timedelta64(3, "D")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(g.size, 3))
    y = X @ [1.0, 0.0, -1.0] + rng.normal(size=g.size)
    cv = CombinatorialPurgedCV(n_folds=4, n_test_folds=2, embargo=2)
    masks = list(cv.split_masks(X, groups=pd.Series(g), label_end=end))
    assert not (masks[0].status == PURGED).any()  # folds 0, 1: nothing precedes the test
    assert (masks[1].status == PURGED).any()  # folds 0, 2: labels of fold 1 reach fold 2
    scores = cross_val_score(Ridge(), X, y, groups=g, cv=cv)
    assert scores.shape == (6,) and np.all(scores > 0.3)


def test_default_groups_are_row_positions() -> None:
    cv = CombinatorialPurgedCV(n_folds=5, n_test_folds=1, embargo=0)
    tests = [test for _, test in cv.split(np.zeros((25, 2)))]
    assert [list(t) for t in tests] == [list(range(5 * i, 5 * i + 5)) for i in range(5)]


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"n_folds": 4, "n_test_folds": 4}, ValueError, "n_test_folds"),
        ({"n_folds": 4, "n_test_folds": 5}, ValueError, "n_test_folds"),
        ({"n_folds": 1}, ValueError, "n_folds"),
        ({"n_test_folds": 0}, ValueError, "n_test_folds"),
        ({"embargo": -1}, ValueError, "embargo"),
        ({"embargo": 1.5}, TypeError, "embargo"),
        ({"n_folds": "8"}, TypeError, "n_folds"),
    ],
)
def test_bad_parameters(kwargs, err, match) -> None:
    with pytest.raises(err, match=match):
        CombinatorialPurgedCV(**kwargs)


@pytest.mark.parametrize(
    ("cv", "n", "kw", "err", "match"),
    [
        (CombinatorialPurgedCV(8, 2, 0), 5, {}, ValueError, "fewer than n_folds"),
        (CombinatorialPurgedCV(4, 2, 6), 20, {}, ValueError, "embargo"),
        (
            CombinatorialPurgedCV(4, 2, 0),
            20,
            {"label_end": np.arange(20) - 1},
            ValueError,
            "label_end",
        ),
        (CombinatorialPurgedCV(4, 2, 0), 20, {"groups": np.arange(19)}, ValueError, "groups"),
        (CombinatorialPurgedCV(4, 2, 0), 20, {"label_end": np.arange(21)}, ValueError, "label_end"),
        (
            CombinatorialPurgedCV(4, 2, 0),
            20,
            {"groups": np.r_[np.nan, np.arange(19.0)]},
            ValueError,
            "NaN",
        ),
        (CombinatorialPurgedCV(4, 2, 0), 20, {"groups": np.array(["a"] * 20)}, TypeError, "groups"),
    ],
)
def test_bad_split_input(cv, n, kw, err, match) -> None:
    with pytest.raises(err, match=match):
        list(cv.split(np.zeros((n, 1)), **kw))


def test_fold_diagram(tmp_path) -> None:
    t = np.repeat(np.arange(30), 3)
    cv = CombinatorialPurgedCV(n_folds=5, n_test_folds=2, embargo=2)
    times, status = cpcv_session_status(cv, t, t + 2)
    assert status.shape == (10, 30) and times.size == 30
    assert np.all((status == TEST).sum(axis=1) == 12)
    assert np.all((status == EMBARGOED).sum(axis=1) <= 4)
    assert (status == PURGED).any()
    out = tmp_path / "folds.png"
    fig = plot_cpcv_folds(cv, t, t + 2, path=out)
    assert out.read_bytes()[:4] == b"\x89PNG" and fig.axes


def test_timezone_aware_groups_compare_as_instants() -> None:
    """Timezone-aware timestamps purge exactly like their UTC instants."""
    local = pd.Series(
        pd.date_range("2024-03-01 16:00", periods=30, freq="D", tz="America/New_York")
    )
    utc = local.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    cv = CombinatorialPurgedCV(n_folds=3, n_test_folds=1, embargo=1)
    a = list(cv.split(np.zeros((30, 1)), groups=local, label_end=local + pd.Timedelta(days=2)))
    b = list(cv.split(np.zeros((30, 1)), groups=utc, label_end=utc + np.timedelta64(2, "D")))
    for (tr_a, te_a), (tr_b, te_b) in zip(a, b):
        np.testing.assert_array_equal(tr_a, tr_b)
        np.testing.assert_array_equal(te_a, te_b)
    assert len(a[1][0]) == 30 - 10 - 2 - 1  # fold 1 tested: 2 purged before, 1 embargoed after
