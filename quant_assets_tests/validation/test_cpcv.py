"""Tests of the combinatorial purged cross-validation splitter and its diagram."""

from __future__ import annotations

from bisect import bisect_right
from itertools import combinations
from math import comb

import numpy as np
import pandas as pd
import pytest
import sklearn
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, cross_val_score, cross_validate

from quant_assets.validation import (
    EMBARGOED,
    PURGED,
    TEST,
    TRAIN,
    CombinatorialPurgedCV,
    cpcv_session_status,
    plot_cpcv_folds,
)


def _reference_status(
    g: np.ndarray, end: np.ndarray, n_folds: int, test_folds: tuple[int, ...], embargo: int
) -> np.ndarray:
    """Brute-force AFML purge and embargo (López de Prado 2018, §7.4), row by row.

    Folds: the sorted distinct times cut into ``n_folds`` runs, the first
    ``n_times % n_folds`` one time longer. A non-test row i is purged when
    ``[g_i, end_i]`` meets ``[g_j, end_j]`` of some test row j, else embargoed
    when it is observed 1..embargo distinct times after such an ``end_j``.
    """
    times = sorted(set(g.tolist()))
    base, extra = divmod(len(times), n_folds)
    sizes = [base + (f < extra) for f in range(n_folds)]
    fold_of = {}
    start = 0
    for f, size in enumerate(sizes):
        for tau in times[start : start + size]:
            fold_of[tau] = f
        start += size
    rows = range(len(g))
    is_test = [fold_of[g[i]] in test_folds for i in rows]
    tests = [j for j in rows if is_test[j]]
    status = np.full(len(g), TRAIN, dtype=np.int8)
    for i in rows:
        if is_test[i]:
            status[i] = TEST
        elif any(g[i] <= end[j] and end[i] >= g[j] for j in tests):
            status[i] = PURGED
        elif any(g[i] > end[j] and bisect_right(times, g[i]) - bisect_right(times, end[j]) <= embargo for j in tests):
            status[i] = EMBARGOED
    return status


class _Recorder(BaseEstimator, RegressorMixin):
    """Predicts the training mean and records the row ids (column 0 of X) it was fitted on."""

    seen: list[frozenset[int]] = []

    def __init__(self, shift: float = 0.0) -> None:
        self.shift = shift

    def fit(self, X, y):
        _Recorder.seen.append(frozenset(np.asarray(X)[:, 0].astype(int).tolist()))
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_ + self.shift)


def _recorded_fits(run) -> list[frozenset[int]]:
    _Recorder.seen = []
    run()
    return _Recorder.seen


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
    # get_path_ids is the inverse view: split s, j-th test fold -> path
    ids = cv.get_path_ids()
    assert ids.shape == (15, 2)
    for s, folds in enumerate(combos):
        for j, f in enumerate(folds):
            assert paths[ids[s, j], f] == s


def test_default_layout_is_8_choose_2() -> None:
    cv = CombinatorialPurgedCV()
    assert (cv.n_folds, cv.n_test_folds, cv.embargo) == (8, 2, 10)
    assert cv.get_n_splits() == 28 and cv.n_test_paths == 7


def test_rows_observed_while_test_labels_run_are_purged() -> None:
    """20 sessions, 4 folds of 5, labels known 3 sessions after observation, no embargo.

    Testing fold 1 (sessions 5-9), whose labels run until session 12:
    sessions 2, 3, 4 are purged (their labels end at 5, 6, 7, inside the test)
    and so are sessions 10, 11, 12, observed while the labels of sessions 7, 8, 9
    are still running (AFML §7.4.1: ``[t_i, e_i]`` meets ``[t_j, e_j]``).
    Purging against the test *observation* span [5, 9] kept 10, 11, 12 in training.
    """
    t = np.arange(20)
    cv = CombinatorialPurgedCV(n_folds=4, n_test_folds=1, embargo=0)
    status = list(cv.split_masks(t, groups=t, label_end=t + 3))[1].status
    assert list(np.flatnonzero(status == TEST)) == [5, 6, 7, 8, 9]
    assert list(np.flatnonzero(status == PURGED)) == [2, 3, 4, 10, 11, 12]
    assert list(np.flatnonzero(status == TRAIN)) == [0, 1, 13, 14, 15, 16, 17, 18, 19]
    assert not (status == EMBARGOED).any()


def test_hand_checked_purge_and_embargo() -> None:
    """20 sessions, 4 folds of 5; labels span 2 sessions ahead; embargo 1 session.

    Split 0 tests folds 0 and 1 (sessions 0-9, labels until 11): sessions 10, 11
    purged, 12 embargoed (the session after the test labels' span), nothing before.
    Split 1 tests folds 0 and 2 (sessions 0-4 with labels until 6, 10-14 with labels
    until 16): 5, 6 purged and 7 embargoed after fold 0; 8, 9 purged before fold 2
    (labels reach 10, 11); 15, 16 purged and 17 embargoed after fold 2; 18, 19 train.
    With the embargo (1) shorter than the label horizon (2), purging against the
    observation span only kept 6 and 16 in training.
    """
    t = np.arange(20)
    cv = CombinatorialPurgedCV(n_folds=4, n_test_folds=2, embargo=1)
    masks = list(cv.split_masks(t, groups=t, label_end=t + 2))
    s0, s1 = masks[0].status, masks[1].status
    assert list(np.flatnonzero(s0 == TEST)) == list(range(10))
    assert list(np.flatnonzero(s0 == PURGED)) == [10, 11]
    assert list(np.flatnonzero(s0 == EMBARGOED)) == [12]
    assert list(np.flatnonzero(s1 == PURGED)) == [5, 6, 8, 9, 15, 16]
    assert list(np.flatnonzero(s1 == EMBARGOED)) == [7, 17]
    assert list(np.flatnonzero(s1 == TRAIN)) == [18, 19]


def test_labels_known_at_observation_purge_nothing() -> None:
    """Without label_end only the embargo after each test fold's last session applies."""
    t = np.arange(20)
    cv = CombinatorialPurgedCV(n_folds=4, n_test_folds=2, embargo=2)
    status = list(cv.split_masks(t, groups=t))[1].status
    assert not (status == PURGED).any()
    assert list(np.flatnonzero(status == EMBARGOED)) == [5, 6, 15, 16]


@st.composite
def _panels(draw):
    n_folds = draw(st.integers(2, 6))
    k = draw(st.integers(1, n_folds - 1))
    n_times = draw(st.integers(n_folds, 40))
    max_horizon = draw(st.integers(0, 8))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    per_time = rng.integers(1, 4, size=n_times)
    pos = np.repeat(np.arange(n_times), per_time)
    times = np.cumsum(rng.integers(1, 4, size=n_times))  # irregular spacing
    # label ends: some on observation times (possibly beyond the last one), some between
    ext = np.concatenate([times, times[-1] + np.arange(1, max_horizon + 1)])
    end = ext[pos + rng.integers(0, max_horizon + 1, size=pos.size)]
    end = end + (rng.random(pos.size) < 0.3) * 0.5 * (end > times[pos])
    perm = rng.permutation(pos.size)  # rows need not be sorted by time
    embargo = draw(st.integers(0, n_times // n_folds))
    return n_folds, k, embargo, times[pos][perm].astype(float), end[perm].astype(float), pos[perm]


@settings(max_examples=80, deadline=None)
@given(_panels())
def test_matches_brute_force_afml_reference(panel) -> None:
    """Every row's status equals the row-by-row AFML reference; every row is tested
    in C(N-1, k-1) splits; each path covers every row exactly once; sessions never
    straddle folds."""
    n_folds, k, embargo, g, end, pos = panel
    cv = CombinatorialPurgedCV(n_folds=n_folds, n_test_folds=k, embargo=embargo)
    n_test = np.zeros(g.size, dtype=int)
    split_tests = []
    for masks, (train, test) in zip(cv.split_masks(g, g, end), cv.split(g, groups=g, label_end=end)):
        expected = _reference_status(g, end, n_folds, masks.test_folds, embargo)
        np.testing.assert_array_equal(masks.status, expected)
        np.testing.assert_array_equal(train, np.flatnonzero(expected == TRAIN))
        np.testing.assert_array_equal(test, np.flatnonzero(expected == TEST))
        test_sessions = np.unique(pos[test])
        assert np.isin(pos, test_sessions).sum() == test.size
        n_test[test] += 1
        split_tests.append(set(test.tolist()))
    assert np.all(n_test == comb(n_folds - 1, k - 1))
    _, fold_of_time = cv.fold_bounds(g)
    row_fold = fold_of_time[pos]
    paths = cv.test_fold_paths()
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
    # folds 0, 1 end on Friday 2024-01-26, whose labels end on Monday 01-29: that session
    # (rows 100-104) is purged, the next two embargoed
    assert list(np.flatnonzero(masks[0].status == PURGED)) == list(range(100, 105))
    assert list(np.flatnonzero(masks[0].status == EMBARGOED)) == list(range(105, 115))
    assert (masks[1].status == PURGED).any()  # folds 0, 2: labels of fold 1 reach fold 2
    scores = cross_val_score(Ridge(), X, y, groups=g, cv=cv)
    assert scores.shape == (6,) and np.all(scores > 0.3)


def _leaky_panel(n_times: int = 60, per_time: int = 2, horizon: int = 4):
    t = np.repeat(np.arange(n_times), per_time)
    rng = np.random.default_rng(1)
    X = np.column_stack([np.arange(t.size), rng.normal(size=t.size)])
    return X, rng.normal(size=t.size), t, t + horizon


def _expected_train_sets(cv, t, end) -> set[frozenset[int]]:
    return {frozenset(m.train_index.tolist()) for m in cv.split_masks(t, groups=t, label_end=end)}


def test_bound_label_end_purges_inside_cross_val_score() -> None:
    """``cross_val_score`` only passes ``groups``: the bound label ends still purge."""
    X, y, t, end = _leaky_panel()
    cv = CombinatorialPurgedCV(n_folds=5, n_test_folds=2, embargo=1, label_end=end)
    fits = _recorded_fits(lambda: cross_val_score(_Recorder(), X, y, groups=t, cv=cv))
    assert len(fits) == 10 and set(fits) == _expected_train_sets(cv, t, end)
    unpurged = {frozenset(m.train_index.tolist()) for m in cv.split_masks(t, groups=t, label_end=t)}
    assert not set(fits) & unpurged  # purging removed rows in every split


def test_bound_times_and_label_end_purge_inside_grid_search() -> None:
    X, y, t, end = _leaky_panel()
    cv = CombinatorialPurgedCV(n_folds=4, n_test_folds=1, embargo=2, times=t, label_end=end)
    search = GridSearchCV(_Recorder(), {"shift": [0.0, 1.0]}, cv=cv, refit=False)
    fits = _recorded_fits(lambda: search.fit(X, y))
    assert len(fits) == 8 and set(fits) == _expected_train_sets(cv, t, end)


def test_label_end_routed_as_metadata() -> None:
    """With metadata routing on, ``groups`` and ``label_end`` reach ``split`` via ``params``."""
    X, y, t, end = _leaky_panel()
    cv = CombinatorialPurgedCV(n_folds=4, n_test_folds=2, embargo=1)
    with sklearn.config_context(enable_metadata_routing=True):
        fits = _recorded_fits(lambda: cross_validate(_Recorder(), X, y, cv=cv, params={"groups": t, "label_end": end}))
        assert set(fits) == _expected_train_sets(cv, t, end)
        cv.set_split_request(label_end=False)
        with pytest.raises(TypeError, match="label_end"):
            cross_validate(_Recorder(), X, y, cv=cv, params={"groups": t, "label_end": end})


def test_bound_series_follow_the_rows_of_a_pandas_subset() -> None:
    """A splitter bound to a panel's Series splits any row subset by index label, as a
    nested search does, exactly like passing the subset's own times and label ends."""
    t = np.repeat(np.arange(40), 3)
    idx = pd.MultiIndex.from_arrays([t, np.tile([0, 1, 2], 40)], names=["t", "name"])
    X = pd.DataFrame({"x": np.arange(t.size)}, index=idx)
    times, end = pd.Series(t, index=idx), pd.Series(t + 3, index=idx)
    cv = CombinatorialPurgedCV(n_folds=4, n_test_folds=2, embargo=1, times=times, label_end=end)
    sub = np.random.default_rng(2).permutation(t.size)[:80]
    got = list(cv.split(X.iloc[sub]))
    want = list(cv.split(np.zeros(80), groups=t[sub], label_end=t[sub] + 3))
    for (tr_a, te_a), (tr_b, te_b) in zip(got, want, strict=True):
        np.testing.assert_array_equal(tr_a, tr_b)
        np.testing.assert_array_equal(te_a, te_b)
    other = pd.DataFrame({"x": [0.0]}, index=pd.MultiIndex.from_tuples([(99, 0)]))
    with pytest.raises(ValueError, match="label_end"):
        list(CombinatorialPurgedCV(2, 1, 0, label_end=end).split(pd.concat([X, other])))


def test_nested_grid_search_purges_inner_splits_by_index() -> None:
    """A GridSearchCV inside cross_val_score: the inner splitter, bound to the whole panel's
    Series, purges each outer training subset as if given that subset's own label ends."""
    t = np.repeat(np.arange(60), 2)
    idx = pd.MultiIndex.from_arrays([t, np.tile([0, 1], 60)])
    X = pd.DataFrame({"id": np.arange(t.size), "x": 0.0}, index=idx)
    y = pd.Series(np.random.default_rng(0).normal(size=t.size), index=idx)
    times, end = pd.Series(t, index=idx), pd.Series(t + 4, index=idx)
    inner = CombinatorialPurgedCV(3, 1, 1, times=times, label_end=end)
    outer = CombinatorialPurgedCV(4, 2, 1, times=times, label_end=end)
    search = GridSearchCV(_Recorder(), {"shift": [0.0, 1.0]}, cv=inner)
    fits = _recorded_fits(lambda: cross_val_score(search, X, y, cv=outer))
    expected = set()
    for train, _ in outer.split(X):
        expected.add(frozenset(train.tolist()))  # the refit on the whole outer training set
        sub = t[train]
        for inner_train, _ in CombinatorialPurgedCV(3, 1, 1).split(sub, groups=sub, label_end=sub + 4):
            expected.add(frozenset(train[inner_train].tolist()))
    assert len(fits) == 6 * (3 * 2 + 1) and set(fits) == expected


def test_split_arguments_override_bound_values() -> None:
    X, _, t, end = _leaky_panel()
    cv = CombinatorialPurgedCV(n_folds=4, n_test_folds=1, embargo=0, times=t, label_end=end)
    bound = list(cv.split(X))
    passed = list(cv.split(X, groups=t, label_end=t))
    assert all(len(a[0]) < len(b[0]) for a, b in zip(bound, passed))


def test_combination_cap_is_checked_before_allocation() -> None:
    with pytest.raises(ValueError, match=r"126,410,606,437,752 splits.*max_combinations=100,000"):
        CombinatorialPurgedCV(n_folds=50, n_test_folds=25)
    with pytest.raises(ValueError, match="max_combinations"):
        CombinatorialPurgedCV(n_folds=10, n_test_folds=5, max_combinations=251)
    assert CombinatorialPurgedCV(10, 5, max_combinations=252).get_n_splits() == 252


def test_summary_matches_the_splits() -> None:
    X, _, t, end = _leaky_panel()
    cv = CombinatorialPurgedCV(n_folds=5, n_test_folds=2, embargo=1, times=t, label_end=end)
    status = np.array([m.status for m in cv.split_masks(X)])
    out = cv.summary(X)
    assert out["n_splits"] == 10 and out["n_test_paths"] == 4
    assert out["n_rows"] == 120 and out["n_times"] == 60
    assert out["mean_purged_rows"] == (status == PURGED).sum() / 10
    assert out["mean_train_rows"] == (status == TRAIN).sum() / 10
    assert list(cv.summary().index) == ["n_folds", "n_test_folds", "embargo", "n_splits", "n_test_paths"]


def test_repr_names_bound_values() -> None:
    assert repr(CombinatorialPurgedCV(4, 2, 1)) == "CombinatorialPurgedCV(n_folds=4, n_test_folds=2, embargo=1)"
    assert "label_end=<20 rows>" in repr(CombinatorialPurgedCV(4, 2, 1, label_end=np.arange(20)))


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
        ({"max_combinations": 0}, ValueError, "max_combinations"),
        ({"max_combinations": 1e6}, TypeError, "max_combinations"),
        ({"label_end": [0.0, np.nan]}, ValueError, "label_end contains NaN"),
        ({"times": np.array(["a", "b"])}, TypeError, "times"),
        ({"label_end": np.zeros((2, 2))}, ValueError, "label_end must be 1-D"),
        ({"times": 3.0}, ValueError, "times must be 1-D"),
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
        (CombinatorialPurgedCV(4, 2, 0, label_end=np.arange(21)), 20, {}, ValueError, "label_end"),
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
    local = pd.Series(pd.date_range("2024-03-01 16:00", periods=30, freq="D", tz="America/New_York"))
    utc = local.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    cv = CombinatorialPurgedCV(n_folds=3, n_test_folds=1, embargo=1)
    a = list(cv.split(np.zeros((30, 1)), groups=local, label_end=local + pd.Timedelta(days=2)))
    b = list(cv.split(np.zeros((30, 1)), groups=utc, label_end=utc + np.timedelta64(2, "D")))
    for (tr_a, te_a), (tr_b, te_b) in zip(a, b):
        np.testing.assert_array_equal(tr_a, tr_b)
        np.testing.assert_array_equal(te_a, te_b)
    # fold 1 tested: 2 purged before, 2 purged after (test labels run 2 days on), 1 embargoed
    assert len(a[1][0]) == 30 - 10 - 2 - 2 - 1
