"""Combinatorial purged cross-validation (CPCV) splitter for panels.

López de Prado, M. (2018). *Advances in Financial Machine Learning*, Wiley,
ch. 7 (purging and embargo) and ch. 12 (combinatorial purged cross-validation).
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

__all__ = [
    "EMBARGOED",
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


class CombinatorialPurgedCV:
    r"""Combinatorial purged cross-validation splitter (scikit-learn API).

    The distinct observation times (``groups``) are cut into ``n_folds``
    contiguous folds (``numpy.array_split`` of the sorted distinct times, so
    all rows of one session fall in one fold). Every one of the
    :math:`\binom{N}{k}` choices of ``n_test_folds`` = k test folds, in
    ``itertools.combinations`` order, is one split. For each test fold:

    * **purging** drops every training row whose label interval
      ``[groups, label_end]`` overlaps the fold's time span
      ``[first time, last time]`` of the fold;
    * the **embargo** drops training rows observed within ``embargo`` distinct
      observation times after the fold's last time.

    Each fold is tested in :math:`\binom{N-1}{k-1}` splits, which assemble into
    :math:`\varphi = \binom{N-1}{k-1}` backtest paths
    (:attr:`n_test_paths`, :meth:`test_fold_paths`).

    López de Prado (2018), *Advances in Financial Machine Learning*, §7.4 and §12.4.

    Parameters
    ----------
    n_folds : int, default 8
        Number of folds N (>= 2).
    n_test_folds : int, default 2
        Number of test folds k per split, 1 <= k < N.
    embargo : int, default 10
        Embargo length in distinct observation times (sessions), >= 0 and no
        longer than the shortest fold.

    Examples
    --------
    >>> cv = CombinatorialPurgedCV(n_folds=6, n_test_folds=2, embargo=1)
    >>> cv.get_n_splits(), cv.n_test_paths
    (15, 5)
    >>> train, test = next(cv.split(np.zeros((60, 1))))
    >>> test[:3], len(test), len(train)
    (array([0, 1, 2]), 20, 39)
    """

    def __init__(self, n_folds: int = 8, n_test_folds: int = 2, embargo: int = 10) -> None:
        self.n_folds = _int_param(n_folds, "n_folds", 2)
        self.n_test_folds = _int_param(n_test_folds, "n_test_folds", 1)
        self.embargo = _int_param(embargo, "embargo", 0)
        if self.n_test_folds >= self.n_folds:
            raise ValueError(
                f"n_test_folds must be < n_folds, got n_test_folds={self.n_test_folds} "
                f"and n_folds={self.n_folds}"
            )

    def __repr__(self) -> str:
        return (
            f"CombinatorialPurgedCV(n_folds={self.n_folds}, "
            f"n_test_folds={self.n_test_folds}, embargo={self.embargo})"
        )

    # ------------------------------------------------------------------ layout
    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """Number of splits, :math:`\\binom{N}{k}`."""
        return comb(self.n_folds, self.n_test_folds)

    @property
    def n_test_paths(self) -> int:
        """Number of backtest paths :math:`\\varphi = \\binom{N-1}{k-1}`."""
        return comb(self.n_folds - 1, self.n_test_folds - 1)

    def test_fold_combinations(self) -> list[tuple[int, ...]]:
        """Test folds of every split, in ``itertools.combinations`` order."""
        return list(combinations(range(self.n_folds), self.n_test_folds))

    def test_fold_paths(self) -> NDArray[np.intp]:
        """Split supplying each fold of each backtest path.

        Returns an int array of shape (``n_test_paths``, ``n_folds``): entry
        ``[p, f]`` is the index of the split whose predictions on fold ``f``
        form path ``p``. The j-th split (in split order) that tests fold ``f``
        feeds path j, so every split feeds one path per test fold and every
        path covers every fold exactly once.
        """
        paths = np.empty((self.n_test_paths, self.n_folds), dtype=np.intp)
        used = np.zeros(self.n_folds, dtype=np.intp)
        for s, folds in enumerate(self.test_fold_combinations()):
            for f in folds:
                paths[used[f], f] = s
                used[f] += 1
        return paths

    # ------------------------------------------------------------------ splits
    def fold_bounds(self, groups: ArrayLike) -> tuple[NDArray[Any], NDArray[np.intp]]:
        """Sorted distinct observation times and the fold of each of them.

        Raises ``ValueError`` when there are fewer distinct times than folds or
        when the embargo is longer than the shortest fold.
        """
        times = np.unique(np.asarray(groups))
        if times.size < self.n_folds:
            raise ValueError(
                f"groups has {times.size} distinct observation times, fewer than "
                f"n_folds={self.n_folds}"
            )
        fold_of_time = np.empty(times.size, dtype=np.intp)
        for f, idx in enumerate(np.array_split(np.arange(times.size), self.n_folds)):
            fold_of_time[idx] = f
        shortest = int(np.bincount(fold_of_time).min())
        if self.embargo > shortest:
            raise ValueError(
                f"embargo={self.embargo} sessions is longer than the shortest fold "
                f"({shortest} sessions)"
            )
        return times, fold_of_time

    def split_masks(
        self, X: Any, groups: ArrayLike | None = None, label_end: ArrayLike | None = None
    ) -> Iterator[SplitMasks]:
        """Row status (train / test / purged / embargoed) of every split.

        Same arguments and validation as :meth:`split`.
        """
        n_rows = len(X)
        if n_rows == 0:
            raise ValueError("X has no rows")
        g = np.arange(n_rows) if groups is None else as_observation_times(groups, "groups", n_rows)
        end = g if label_end is None else as_observation_times(label_end, "label_end", n_rows)
        if label_end is not None:
            if (g.dtype.kind == "M") != (end.dtype.kind == "M"):
                raise TypeError("label_end and groups must both be datetimes or both numbers")
            if np.any(end < g):
                raise ValueError("label_end must be >= groups (a label ends after it is observed)")
        times, fold_of_time = self.fold_bounds(g)
        pos = np.searchsorted(times, g)
        row_fold = fold_of_time[pos]
        first = np.array([times[fold_of_time == f][0] for f in range(self.n_folds)])
        last_pos = np.array([np.flatnonzero(fold_of_time == f)[-1] for f in range(self.n_folds)])
        last = times[last_pos]
        for folds in self.test_fold_combinations():
            test = np.isin(row_fold, folds)
            purged = np.zeros(n_rows, dtype=bool)
            embargoed = np.zeros(n_rows, dtype=bool)
            for f in folds:
                purged |= (g <= last[f]) & (end >= first[f])
                if self.embargo:
                    embargoed |= (pos > last_pos[f]) & (pos <= last_pos[f] + self.embargo)
            status = np.full(n_rows, TRAIN, dtype=np.int8)
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
            Only its length is used.
        y : ignored
        groups : array_like of shape (n_rows,), optional
            Observation time of each row (numbers or datetimes); default: row
            position. Rows sharing a time always fall in the same fold.
        label_end : array_like of shape (n_rows,), optional
            Time at which each row's label is fully known (>= ``groups``);
            default: ``groups`` (labels known at observation, no purging
            beyond the test fold itself).

        Yields
        ------
        train_index, test_index : ndarray of int
            Sorted row positions.
        """
        for masks in self.split_masks(X, groups=groups, label_end=label_end):
            yield masks.train_index, masks.test_index
