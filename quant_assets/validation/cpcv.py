"""Combinatorial purged cross-validation (CPCV) splitter for panels.

Training rows whose label interval overlaps the label interval of any test row
are purged, and an embargo follows the test labels' span (López de Prado, M.
(2018). *Advances in Financial Machine Learning*, Wiley, ch. 7 (purging and
embargo) and ch. 12 (combinatorial purged cross-validation)). The splitter
follows scikit-learn's cross-validator contract, with label end times bound at
construction or routed as metadata.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import combinations
from math import comb
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from sklearn.model_selection import BaseCrossValidator

__all__ = [
    "EMBARGOED",
    "MAX_COMBINATIONS",
    "PURGED",
    "TEST",
    "TRAIN",
    "CombinatorialPurgedCV",
    "SplitMasks",
    "as_observation_times",
]

#: Row / session status codes used by :meth:`CombinatorialPurgedCV.split_masks`
#: and the fold diagram.
TRAIN, TEST, PURGED, EMBARGOED = 0, 1, 2, 3

#: Default cap on the number of splits C(N, k) (as in skfolio).
MAX_COMBINATIONS = 100_000


@dataclass(frozen=True)
class SplitMasks:
    """Row-level outcome of one CPCV split.

    Attributes
    ----------
    test_folds : tuple of int
        Indices of the folds used as test set.
    status : ndarray of int8, shape (n_rows,)
        :data:`TRAIN`, :data:`TEST`, :data:`PURGED` or :data:`EMBARGOED` per row.
        A row both purged and embargoed is reported as :data:`PURGED`.
    """

    test_folds: tuple[int, ...]
    status: NDArray[np.int8]

    @property
    def train_index(self) -> NDArray[np.intp]:
        return np.flatnonzero(self.status == TRAIN)

    @property
    def test_index(self) -> NDArray[np.intp]:
        return np.flatnonzero(self.status == TEST)


def _int_param(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def as_observation_times(values: ArrayLike, name: str, n_rows: int) -> NDArray[Any]:
    """Validate a 1-D array of observation times (numbers or datetimes) of length ``n_rows``.

    Datetimes are returned as ``datetime64[ns]`` (timezone-aware ones as UTC);
    NaN / NaT raise ``ValueError``.
    """
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.shape[0] != n_rows:
        raise ValueError(f"{name} has {arr.shape[0]} entries but X has {n_rows} rows")
    if arr.dtype.kind == "O":
        # e.g. timezone-aware pandas timestamps: compare them as UTC instants.
        try:
            arr = pd.to_datetime(arr, utc=True).tz_localize(None).to_numpy("datetime64[ns]")
        except (TypeError, ValueError):
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"{name} must hold numbers or datetimes") from exc
    if arr.dtype.kind not in "iufM":
        raise TypeError(f"{name} must hold numbers or datetimes, got dtype {arr.dtype}")
    if arr.dtype.kind == "M":
        arr = arr.astype("datetime64[ns]")
        if np.isnat(arr).any():
            raise ValueError(f"{name} contains NaT")
    elif arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _align_to_rows(values: Any, X: Any, name: str) -> Any:
    """Values bound at construction, taken for the rows of ``X``.

    A pandas Series meets a pandas ``X`` by index label (so a splitter bound to the
    whole panel also serves any subset of its rows, e.g. inside a nested search);
    anything else is taken positionally and its length checked later.
    """
    if not (isinstance(values, pd.Series) and isinstance(X, (pd.DataFrame, pd.Series))):
        return values
    if values.index.equals(X.index):
        return values
    if not values.index.is_unique or not X.index.isin(values.index).all():
        raise ValueError(
            f"{name} is a Series whose index does not cover the index of X; bind it with "
            "one entry per row label of the data, or pass it to split()"
        )
    return values.loc[X.index]


class CombinatorialPurgedCV(BaseCrossValidator):
    r"""Combinatorial purged cross-validation splitter (scikit-learn API).

    The distinct observation times (``groups``) are cut into ``n_folds``
    contiguous folds (``numpy.array_split`` of the sorted distinct times, so
    all rows of one session fall in one fold). Every one of the
    :math:`\binom{N}{k}` choices of ``n_test_folds`` = k test folds, in
    ``itertools.combinations`` order, is one split.

    Row :math:`i` is observed at :math:`t_i` and its label is known at
    :math:`e_i \ge t_i` (``label_end``). A test fold :math:`f` with first
    observation time :math:`a_f` covers the labels' span
    :math:`[a_f, E_f]`, :math:`E_f = \max_{j \in f} e_j`. For every test fold:

    * **purging** drops every training row whose label interval overlaps it,
      :math:`t_i \le E_f` and :math:`e_i \ge a_f`; this is exactly "the
      interval :math:`[t_i, e_i]` overlaps :math:`[t_j, e_j]` of some test
      row :math:`j`" (López de Prado 2018, §7.4.1);
    * the **embargo** then drops training rows observed within ``embargo``
      distinct observation times after the labels' span,
      :math:`1 \le \#\{\tau : E_f < \tau \le t_i\} \le h` (§7.4.2).

    With ``label_end`` equal to the observation times nothing is purged and
    the embargo follows the fold's last session.

    Each fold is tested in :math:`\binom{N-1}{k-1}` splits, which assemble into
    :math:`\varphi = \binom{N-1}{k-1}` backtest paths
    (:attr:`n_test_paths`, :meth:`test_fold_paths`, :meth:`get_path_ids`).

    Parameters
    ----------
    n_folds : int, default 8
        Number of folds N (>= 2).
    n_test_folds : int, default 2
        Number of test folds k per split, 1 <= k < N.
    embargo : int, default 10
        Embargo length h in distinct observation times (sessions), >= 0 and no
        longer than the shortest fold.
    times : array_like of shape (n_rows,), optional
        Observation time of each row, bound to the splitter (used when
        :meth:`split` gets no ``groups``).
    label_end : array_like of shape (n_rows,), optional
        Time each row's label is fully known, bound to the splitter (used when
        :meth:`split` gets no ``label_end``). Binding makes purging work
        where scikit-learn calls ``split(X, y, groups)`` only
        (``cross_val_score``, ``GridSearchCV``). A pandas Series is matched to
        a pandas ``X`` by index label, so the splitter also serves subsets of
        the rows it was bound to; other arrays are matched by position.
    max_combinations : int, default 100_000
        Largest accepted number of splits :math:`\binom{N}{k}`; checked before
        anything is allocated.

    Notes
    -----
    ``groups`` and ``label_end`` are requested from scikit-learn's metadata
    routing by default: with ``sklearn.set_config(enable_metadata_routing=True)``
    pass ``params={"groups": t, "label_end": e}`` to ``cross_validate`` or
    ``GridSearchCV.fit``; :meth:`set_split_request` changes the request.

    References
    ----------
    López de Prado, M. (2018). *Advances in Financial Machine Learning*, Wiley,
    §7.4 (purging, embargo) and §12.4 (combinatorial purged cross-validation).

    Examples
    --------
    >>> cv = CombinatorialPurgedCV(n_folds=6, n_test_folds=2, embargo=1)
    >>> cv.get_n_splits(), cv.n_test_paths
    (15, 5)
    >>> train, test = next(cv.split(np.zeros((60, 1))))
    >>> test[:3], len(test), len(train)
    (array([0, 1, 2]), 20, 39)

    Labels known three sessions after observation: testing sessions 5-9
    purges sessions 2-4 (their labels reach the test) and 10-12 (observed
    while the test labels are still running), then embargoes session 13.

    >>> t = np.arange(20)
    >>> cv = CombinatorialPurgedCV(n_folds=4, n_test_folds=1, embargo=1, label_end=t + 3)
    >>> train, test = list(cv.split(np.zeros((20, 1))))[1]
    >>> test, train
    (array([5, 6, 7, 8, 9]), array([ 0,  1, 14, 15, 16, 17, 18, 19]))
    """

    __metadata_request__split = {"groups": True, "label_end": True}

    def __init__(
        self,
        n_folds: int = 8,
        n_test_folds: int = 2,
        embargo: int = 10,
        *,
        times: ArrayLike | None = None,
        label_end: ArrayLike | None = None,
        max_combinations: int = MAX_COMBINATIONS,
    ) -> None:
        self.n_folds = _int_param(n_folds, "n_folds", 2)
        self.n_test_folds = _int_param(n_test_folds, "n_test_folds", 1)
        self.embargo = _int_param(embargo, "embargo", 0)
        self.max_combinations = _int_param(max_combinations, "max_combinations", 1)
        if self.n_test_folds >= self.n_folds:
            raise ValueError(
                f"n_test_folds must be < n_folds, got n_test_folds={self.n_test_folds} and n_folds={self.n_folds}"
            )
        n_splits = comb(self.n_folds, self.n_test_folds)
        if n_splits > self.max_combinations:
            raise ValueError(
                f"n_folds={self.n_folds} and n_test_folds={self.n_test_folds} give C(N, k) = "
                f"{n_splits:,} splits, more than max_combinations={self.max_combinations:,}; "
                "every split is one model fit: lower n_folds, move n_test_folds away from "
                "n_folds / 2, or raise max_combinations"
            )
        for name, values in (("times", times), ("label_end", label_end)):
            if values is not None:  # fail fast; lengths are checked against X in split()
                as_observation_times(values, name, np.shape(values)[0] if np.ndim(values) else 0)
        self.times = times
        self.label_end = label_end

    def __repr__(self) -> str:
        bound = "".join(
            f", {name}=<{len(value)} rows>"
            for name, value in (("times", self.times), ("label_end", self.label_end))
            if value is not None
        )
        return (
            f"CombinatorialPurgedCV(n_folds={self.n_folds}, "
            f"n_test_folds={self.n_test_folds}, embargo={self.embargo}{bound})"
        )

    # ------------------------------------------------------------------ layout
    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        r"""Number of splits, :math:`\binom{N}{k}`."""
        return comb(self.n_folds, self.n_test_folds)

    @property
    def n_test_paths(self) -> int:
        r"""Number of backtest paths :math:`\varphi = \binom{N-1}{k-1}`."""
        return comb(self.n_folds - 1, self.n_test_folds - 1)

    def test_fold_combinations(self) -> list[tuple[int, ...]]:
        """Test folds of every split, in ``itertools.combinations`` order."""
        return list(combinations(range(self.n_folds), self.n_test_folds))

    def get_path_ids(self) -> NDArray[np.intp]:
        """Backtest path fed by each test fold of each split.

        Returns an int array of shape (``n_splits``, ``n_test_folds``): entry
        ``[s, j]`` is the path that the predictions of split ``s`` on its
        j-th test fold (ascending fold order) belong to. The j-th split (in
        split order) that tests a fold feeds path j, as in skfolio.

        Examples
        --------
        >>> CombinatorialPurgedCV(n_folds=4, n_test_folds=2, embargo=0).get_path_ids()
        array([[0, 0],
               [1, 0],
               [2, 0],
               [1, 1],
               [2, 1],
               [2, 2]])
        """
        ids = np.empty((self.get_n_splits(), self.n_test_folds), dtype=np.intp)
        used = np.zeros(self.n_folds, dtype=np.intp)
        for s, folds in enumerate(self.test_fold_combinations()):
            ids[s] = used[list(folds)]
            used[list(folds)] += 1
        return ids

    def test_fold_paths(self) -> NDArray[np.intp]:
        """Split supplying each fold of each backtest path.

        Returns an int array of shape (``n_test_paths``, ``n_folds``): entry
        ``[p, f]`` is the index of the split whose predictions on fold ``f``
        form path ``p`` (the inverse of :meth:`get_path_ids`), so every path
        covers every fold exactly once.
        """
        paths = np.empty((self.n_test_paths, self.n_folds), dtype=np.intp)
        for s, (folds, ids) in enumerate(zip(self.test_fold_combinations(), self.get_path_ids())):
            paths[ids, list(folds)] = s
        return paths

    # ------------------------------------------------------------------ splits
    def fold_bounds(self, groups: ArrayLike) -> tuple[NDArray[Any], NDArray[np.intp]]:
        """Sorted distinct observation times and the fold of each of them.

        Raises ``ValueError`` when there are fewer distinct times than folds or
        when the embargo is longer than the shortest fold.
        """
        times = np.unique(np.asarray(groups))
        if times.size < self.n_folds:
            raise ValueError(f"groups has {times.size} distinct observation times, fewer than n_folds={self.n_folds}")
        fold_of_time = np.empty(times.size, dtype=np.intp)
        for f, idx in enumerate(np.array_split(np.arange(times.size), self.n_folds)):
            fold_of_time[idx] = f
        shortest = int(np.bincount(fold_of_time).min())
        if self.embargo > shortest:
            raise ValueError(f"embargo={self.embargo} sessions is longer than the shortest fold ({shortest} sessions)")
        return times, fold_of_time

    def _row_times(
        self, X: Any, groups: ArrayLike | None, label_end: ArrayLike | None
    ) -> tuple[NDArray[Any], NDArray[Any]]:
        """Validated observation times and label ends of the rows of ``X``."""
        n_rows = len(X)
        if n_rows == 0:
            raise ValueError("X has no rows")
        if groups is None and self.times is not None:
            groups = _align_to_rows(self.times, X, "times")
        if label_end is None and self.label_end is not None:
            label_end = _align_to_rows(self.label_end, X, "label_end")
        g = np.arange(n_rows) if groups is None else as_observation_times(groups, "groups", n_rows)
        if label_end is None:
            return g, g
        end = as_observation_times(label_end, "label_end", n_rows)
        if (g.dtype.kind == "M") != (end.dtype.kind == "M"):
            raise TypeError("label_end and groups must both be datetimes or both numbers")
        if np.any(end < g):
            raise ValueError("label_end must be >= groups (a label ends after it is observed)")
        return g, end

    def split_masks(
        self, X: Any, groups: ArrayLike | None = None, label_end: ArrayLike | None = None
    ) -> Iterator[SplitMasks]:
        """Row status (train / test / purged / embargoed) of every split.

        Same arguments and validation as :meth:`split`.

        Examples
        --------
        Labels two sessions ahead, embargo 1, folds 0 and 2 of 4 tested:
        sessions 5-6 and 15-16 are purged after the test folds, 8-9 before
        fold 2, and the embargo takes the session after each purge.

        >>> t = np.arange(20)
        >>> cv = CombinatorialPurgedCV(n_folds=4, n_test_folds=2, embargo=1)
        >>> list(cv.split_masks(t, groups=t, label_end=t + 2))[1].status
        array([1, 1, 1, 1, 1, 2, 2, 3, 2, 2, 1, 1, 1, 1, 1, 2, 2, 3, 0, 0], dtype=int8)
        """
        g, end = self._row_times(X, groups, label_end)
        times, fold_of_time = self.fold_bounds(g)
        pos = np.searchsorted(times, g)
        row_fold = fold_of_time[pos]
        first = times[np.searchsorted(fold_of_time, np.arange(self.n_folds))]
        # E_f: latest label end of the fold's rows; embargo covers the next `embargo`
        # distinct times after it, positions [after_end[f], after_end[f] + embargo).
        label_span_end = np.array([end[row_fold == f].max() for f in range(self.n_folds)])
        after_end = np.searchsorted(times, label_span_end, side="right")
        for folds in self.test_fold_combinations():
            test = np.isin(row_fold, folds)
            purged = np.zeros(g.size, dtype=bool)
            embargoed = np.zeros(g.size, dtype=bool)
            for f in folds:
                purged |= (g <= label_span_end[f]) & (end >= first[f])
                if self.embargo:
                    embargoed |= (pos >= after_end[f]) & (pos < after_end[f] + self.embargo)
            status = np.full(g.size, TRAIN, dtype=np.int8)
            status[embargoed] = EMBARGOED
            status[purged] = PURGED
            status[test] = TEST
            yield SplitMasks(test_folds=folds, status=status)

    def split(
        self,
        X: Any,
        y: Any = None,
        groups: ArrayLike | None = None,
        label_end: ArrayLike | None = None,
    ) -> Iterator[tuple[NDArray[np.intp], NDArray[np.intp]]]:
        """Generate ``(train_index, test_index)`` for every split.

        Parameters
        ----------
        X : array_like of shape (n_rows, ...)
            Only its length (and its index, for bound Series) is used.
        y : ignored
        groups : array_like of shape (n_rows,), optional
            Observation time of each row (numbers or datetimes); default: the
            bound ``times``, else row position. Rows sharing a time always
            fall in the same fold.
        label_end : array_like of shape (n_rows,), optional
            Time at which each row's label is fully known (>= ``groups``);
            default: the bound ``label_end``, else ``groups`` (labels known at
            observation, no purging beyond the test fold itself).

        Yields
        ------
        train_index, test_index : ndarray of int
            Sorted row positions.
        """
        for masks in self.split_masks(X, groups=groups, label_end=label_end):
            yield masks.train_index, masks.test_index

    def summary(self, X: Any = None, groups: ArrayLike | None = None, label_end: ArrayLike | None = None) -> pd.Series:
        """Layout of the splitter and, given ``X``, the average row counts of its splits.

        Without ``X``: ``n_folds``, ``n_test_folds``, ``embargo``, ``n_splits``
        and ``n_test_paths``. With ``X`` (and the same optional ``groups`` /
        ``label_end`` as :meth:`split`) also ``n_rows``, ``n_times`` (distinct
        observation times) and the mean over splits of the rows used for
        training, testing, purged and embargoed.

        Examples
        --------
        >>> t = np.arange(20)
        >>> cv = CombinatorialPurgedCV(n_folds=4, n_test_folds=2, embargo=1, label_end=t + 2)
        >>> cv.summary(np.zeros((20, 1)))
        n_folds                   4
        n_test_folds              2
        embargo                   1
        n_splits                  6
        n_test_paths              3
        n_rows                   20
        n_times                  20
        mean_train_rows         5.0
        mean_test_rows         10.0
        mean_purged_rows        4.0
        mean_embargoed_rows     1.0
        dtype: object
        """
        out: dict[str, int | float] = {
            "n_folds": self.n_folds,
            "n_test_folds": self.n_test_folds,
            "embargo": self.embargo,
            "n_splits": self.get_n_splits(),
            "n_test_paths": self.n_test_paths,
        }
        if X is not None:
            status = np.array([m.status for m in self.split_masks(X, groups, label_end)])
            out["n_rows"] = status.shape[1]
            out["n_times"] = np.unique(self._row_times(X, groups, label_end)[0]).size
            counts = {"train": TRAIN, "test": TEST, "purged": PURGED, "embargoed": EMBARGOED}
            for name, code in counts.items():
                out[f"mean_{name}_rows"] = float((status == code).sum(axis=1).mean())
        return pd.Series(out, dtype=object)
