"""Fold diagram of a combinatorial purged cross-validation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from numpy.typing import ArrayLike, NDArray

from quant_assets.validation.cpcv import EMBARGOED, PURGED, TEST, TRAIN, CombinatorialPurgedCV

__all__ = ["cpcv_session_status", "plot_cpcv_folds"]

_COLOURS = {TRAIN: "#4c72b0", TEST: "#dd8452", PURGED: "#c44e52", EMBARGOED: "#8c8c8c"}
_LABELS = {TRAIN: "train", TEST: "test", PURGED: "purged", EMBARGOED: "embargoed"}


def cpcv_session_status(
    cv: CombinatorialPurgedCV,
    groups: ArrayLike,
    label_end: ArrayLike | None = None,
) -> tuple[NDArray[Any], NDArray[np.int8]]:
    """Status of every distinct observation time in every split.

    Returns the sorted distinct times and an int8 array of shape
    (n_splits, n_times). A session is TEST when it lies in a test fold,
    otherwise PURGED if any of its rows is purged, EMBARGOED if any is
    embargoed, and TRAIN when all its rows train. ``label_end`` defaults to
    the splitter's bound ``label_end`` (by position), else to ``groups``.
    """
    g = np.asarray(groups)
    times, inverse = np.unique(g, return_inverse=True)
    out = np.empty((cv.get_n_splits(), times.size), dtype=np.int8)
    # Severity order for sessions whose rows differ: test > purged > embargoed > train.
    severity = np.array([0, 3, 2, 1], dtype=np.int8)  # indexed by status code
    from_severity = np.array([TRAIN, EMBARGOED, PURGED, TEST], dtype=np.int8)
    for s, masks in enumerate(cv.split_masks(g, groups=g, label_end=label_end)):
        worst = np.zeros(times.size, dtype=np.int8)
        np.maximum.at(worst, inverse, severity[masks.status])
        out[s] = from_severity[worst]
    return times, out


def plot_cpcv_folds(
    cv: CombinatorialPurgedCV,
    groups: ArrayLike,
    label_end: ArrayLike | None = None,
    path: str | Path | None = None,
) -> Figure:
    """Draw train / test / purged / embargoed sessions of every split.

    One row per split (in split order), one column per distinct observation
    time. When ``path`` is given the figure is also written there as PNG.

    Examples
    --------
    >>> cv = CombinatorialPurgedCV(n_folds=4, n_test_folds=2, embargo=1)
    >>> fig = plot_cpcv_folds(cv, np.arange(40))
    >>> len(fig.axes)
    1
    """
    times, status = cpcv_session_status(cv, groups, label_end)
    n_splits = status.shape[0]
    fig = Figure(figsize=(10, 1.0 + 0.28 * n_splits), layout="constrained")
    ax = fig.subplots()
    cmap = ListedColormap([_COLOURS[k] for k in (TRAIN, TEST, PURGED, EMBARGOED)])
    ax.imshow(status, aspect="auto", interpolation="nearest", cmap=cmap, vmin=-0.5, vmax=3.5)
    combos = cv.test_fold_combinations()
    ax.set_yticks(range(n_splits), [f"{s}: {combos[s]}" for s in range(n_splits)], fontsize=7)
    ticks = np.linspace(0, times.size - 1, num=min(8, times.size)).astype(int)
    ax.set_xticks(ticks, [str(times[t])[:10] for t in ticks], fontsize=7)
    ax.set_xlabel("observation time")
    ax.set_ylabel("split (test folds)")
    ax.set_title(
        f"CPCV N={cv.n_folds}, k={cv.n_test_folds}, embargo={cv.embargo}: {n_splits} splits, {cv.n_test_paths} paths"
    )
    ax.legend(
        handles=[Patch(color=_COLOURS[k], label=_LABELS[k]) for k in _LABELS],
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        fontsize=8,
    )
    if path is not None:
        fig.savefig(Path(path), format="png", dpi=100)
    return fig
