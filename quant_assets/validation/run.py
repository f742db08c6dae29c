"""Model selection under combinatorial purged cross-validation: ``run_cpcv``."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from numpy.typing import ArrayLike, NDArray
from scipy import stats
from sklearn.base import BaseEstimator, clone

from quant_assets.validation.cpcv import (
    EMBARGOED,
    PURGED,
    TEST,
    TRAIN,
    CombinatorialPurgedCV,
    as_observation_times,
)
from quant_assets.validation.fold_diagram import plot_cpcv_folds
from quant_assets.validation.pbo import probability_of_backtest_overfitting
from quant_assets.validation.sharpe import deflated_sharpe_ratio

__all__ = ["ReturnsFn", "default_candidates", "rank_long_short_returns", "run_cpcv"]

#: ``returns_fn(prediction, y, groups) -> pd.Series`` of strategy returns indexed
#: by observation time, for the rows of one test set.
ReturnsFn = Callable[[NDArray[np.float64], NDArray[np.float64], NDArray[Any]], pd.Series]


def default_candidates(random_state: int = 0) -> dict[str, BaseEstimator]:
    """Default candidates: a standardized ridge and a small deterministic LightGBM.

    LightGBM runs single-threaded (``n_jobs=1``): parallelism comes from the
    splits, not from inside one fit.
    """
    from lightgbm import LGBMRegressor
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "ridge": make_pipeline(StandardScaler(), Ridge(alpha=1.0)),
        "lightgbm": LGBMRegressor(
            n_estimators=100,
            learning_rate=0.05,
            num_leaves=15,
            min_child_samples=50,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            random_state=random_state,
            n_jobs=1,
            deterministic=True,
            force_col_wise=True,
            verbose=-1,
        ),
    }


def _group_average_rank(values: NDArray[np.float64], codes: NDArray[np.intp]) -> NDArray[np.float64]:
    """Average ranks (1 = smallest, ties share their mean rank) within each group code."""
    n = values.size
    # Sort by (group, value) through one integer key: group * n + global value order.
    by_value = np.argsort(values)
    key = np.empty(n, dtype=np.int64)
    key[by_value] = np.arange(n)
    key += codes.astype(np.int64) * n
    order = np.argsort(key)
    sv, sc = values[order], codes[order]
    pos = np.arange(n)
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = sc[1:] != sc[:-1]
    ordinal = pos - np.maximum.accumulate(np.where(new_group, pos, 0)) + 1
    new_run = new_group.copy()
    new_run[1:] |= sv[1:] != sv[:-1]
    starts = np.flatnonzero(new_run)
    ends = np.append(starts[1:] - 1, n - 1)
    avg = (ordinal[starts] + ordinal[ends]) / 2.0
    out = np.empty(n, dtype=np.float64)
    out[order] = avg[np.cumsum(new_run) - 1]
    return out


def rank_long_short_returns(prediction: NDArray[np.float64], y: NDArray[np.float64], groups: NDArray[Any]) -> pd.Series:
    r"""Rank-weighted, dollar-neutral long/short return per observation time.

    Within each session with :math:`m \ge 2` rows the weights are the centred
    ranks of the predictions, scaled to unit gross exposure:
    :math:`w_i = (r_i - \frac{m+1}{2}) / \sum_j |r_j - \frac{m+1}{2}|`, and the
    session return is :math:`\sum_i w_i y_i` (0 when all predictions tie). A
    session with a single row holds :math:`\operatorname{sign}(\hat y)`, giving
    :math:`\operatorname{sign}(\hat y)\,y`.

    Returns a Series indexed by the sorted distinct observation times.

    Examples
    --------
    >>> rank_long_short_returns(np.array([1.0, 2.0]), np.array([-0.01, 0.03]), np.array([0, 0]))
    0    0.02
    dtype: float64
    """
    times, codes = np.unique(groups, return_inverse=True)
    pred = np.asarray(prediction, dtype=np.float64)
    ranks = _group_average_rank(pred, codes)
    return pd.Series(_long_short_from_ranks(ranks, pred, np.asarray(y, dtype=np.float64), codes), index=times)


def _long_short_from_ranks(
    ranks: NDArray[np.float64],
    pred: NDArray[np.float64],
    y: NDArray[np.float64],
    codes: NDArray[np.intp],
) -> NDArray[np.float64]:
    """Session returns of :func:`rank_long_short_returns` given within-session ranks."""
    size = np.bincount(codes).astype(np.float64)
    w = ranks - (size[codes] + 1.0) / 2.0
    gross = np.bincount(codes, weights=np.abs(w), minlength=size.size)
    pnl = np.bincount(codes, weights=w * y, minlength=size.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(gross > 0, pnl / gross, 0.0)
    single = size == 1
    if single.any():
        solo = np.bincount(codes, weights=np.sign(pred) * y, minlength=size.size)
        out = np.where(single, solo, out)
    return out


def _take(X: Any, idx: NDArray[np.intp]) -> Any:
    return X.iloc[idx] if isinstance(X, (pd.DataFrame, pd.Series)) else X[idx]


def _fit_split(
    X: Any,
    y: NDArray[np.float64],
    train: NDArray[np.intp],
    test: NDArray[np.intp],
    candidates: Mapping[str, BaseEstimator],
) -> tuple[dict[str, BaseEstimator], dict[str, NDArray[np.float64]], float]:
    """Fit every candidate on one split; return models, test predictions and fit seconds."""
    x_train, y_train, x_test = _take(X, train), y[train], _take(X, test)
    models: dict[str, BaseEstimator] = {}
    preds: dict[str, NDArray[np.float64]] = {}
    busy = 0.0
    for name, est in candidates.items():
        t0 = time.perf_counter()
        model = clone(est).fit(x_train, y_train)
        preds[name] = np.asarray(model.predict(x_test), dtype=np.float64).ravel()
        busy += time.perf_counter() - t0
        models[name] = model
    return models, preds, busy


def _pearson_by_group(a: NDArray[np.float64], b: NDArray[np.float64], codes: NDArray[np.intp]) -> NDArray[np.float64]:
    """Pearson correlation of ``a`` and ``b`` within each group (NaN when undefined)."""
    n = np.bincount(codes).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        ma, mb = np.bincount(codes, a) / n, np.bincount(codes, b) / n
    da, db = a - ma[codes], b - mb[codes]
    cov = np.bincount(codes, da * db)
    va, vb = np.bincount(codes, da * da), np.bincount(codes, db * db)
    ok = (n >= 2) & (va > 1e-12 * n) & (vb > 1e-12 * n)
    out = np.full(n.size, np.nan)
    out[ok] = cov[ok] / np.sqrt(va[ok] * vb[ok])
    return out


def _fold_metrics(
    pred: NDArray[np.float64],
    y: NDArray[np.float64],
    codes: NDArray[np.intp],
    pred_rank: NDArray[np.float64],
    y_rank: NDArray[np.float64],
) -> dict[str, float | int]:
    """IC (pooled Pearson), rank IC (mean per-session Spearman) and MSE of one test fold.

    ``codes`` are session codes of the fold's rows, ``pred_rank`` and ``y_rank``
    within-session average ranks.
    """
    rank_ic = _pearson_by_group(pred_rank, y_rank, codes)
    return {
        "n_rows": int(pred.size),
        "ic": float(_pearson_by_group(pred, y, np.zeros(pred.size, dtype=np.intp))[0]),
        "rank_ic": float(np.nanmean(rank_ic)) if np.isfinite(rank_ic).any() else float("nan"),
        "mse": float(np.mean((pred - y) ** 2)),
    }


def _path_sharpe(frame: pd.DataFrame) -> NDArray[np.float64]:
    std = frame.std(ddof=1).to_numpy()
    mean = frame.mean().to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(std > 0, mean / std, np.nan)


def run_cpcv(
    X: Any,
    y: ArrayLike,
    groups: ArrayLike,
    embargo_days: int,
    *,
    label_end: ArrayLike | None = None,
    candidates: Mapping[str, BaseEstimator] | None = None,
    n_folds: int = 8,
    n_test_folds: int = 2,
    n_jobs: int = 1,
    n_trials: int | None = None,
    var_trials: float | None = None,
    returns_fn: ReturnsFn | None = None,
    pbo_blocks: int = 16,
    diagram_path: str | Path | None = None,
) -> dict[str, Any]:
    r"""Fit candidates on every CPCV split and assess the selection.

    Every candidate (scikit-learn-style estimator, cloned per split) is fitted
    on the training rows of every split of
    :class:`~quant_assets.validation.cpcv.CombinatorialPurgedCV` (training rows
    whose label interval ``[groups, label_end]`` overlaps a test row's are
    purged, and ``embargo_days`` sessions after the test labels' span are
    embargoed) and predicts the test rows; splits run in parallel with joblib
    (``n_jobs``).

    Strategy returns: for each split and candidate, ``returns_fn(prediction, y,
    groups)`` over the test rows gives one return per observation time;
    default :func:`rank_long_short_returns` (rank-weighted dollar-neutral
    long/short, ``sign(prediction) * y`` for single-row sessions). The φ
    backtest paths are reassembled with
    :meth:`~quant_assets.validation.cpcv.CombinatorialPurgedCV.test_fold_paths`.

    Selection and its assessment:

    * per-path Sharpe ratio (per observation) of each candidate; the selected
      candidate has the highest mean path Sharpe;
    * PBO (Bailey et al. 2017) across candidates on the T x n_candidates matrix
      of path-averaged returns per observation time, with ``pbo_blocks``
      blocks; NaN with a reason when there are fewer than 2 candidates or too
      few observation times;
    * DSR (Bailey and López de Prado 2014) of the selected candidate with
      ``sr`` = its mean path Sharpe, ``n_obs`` = number of observation times,
      skewness and kurtosis averaged over its paths, ``n_trials`` (default:
      number of candidates; pass the logged experiment count) and
      ``var_trials`` (default: variance, ddof=1, of the candidates' mean path
      Sharpe ratios).

    Parameters
    ----------
    X : array_like or DataFrame of shape (n_rows, n_features)
    y : array_like of shape (n_rows,)
        Labels (e.g. forward returns); no NaN.
    groups : array_like of shape (n_rows,)
        Observation time of each row.
    embargo_days : int
        Embargo in distinct observation times (sessions).
    label_end : array_like, optional
        Time each label is fully known; default ``groups``.
    candidates : mapping of str to estimator, optional
        Default :func:`default_candidates`.
    n_folds, n_test_folds : int
        CPCV layout (N, k).
    n_jobs : int, default 1
        Parallel jobs over splits.
    n_trials : int, optional
        True number of trials behind the selection (>= number of candidates).
    var_trials : float, optional
        Variance of the trials' per-observation Sharpe ratios.
    returns_fn : callable, optional
        Strategy return per observation time (see :data:`ReturnsFn`).
    pbo_blocks : int, default 16
        CSCV blocks for PBO.
    diagram_path : str or Path, optional
        Where to write the fold diagram PNG.

    Returns
    -------
    dict with keys

    ``cv``
        The splitter, with ``groups`` and ``label_end`` bound (``cv.split(X)``
        reproduces the splits).
    ``splits``
        DataFrame, one row per split: ``test_folds``, ``n_train``, ``n_test``,
        ``n_purged``, ``n_embargoed``.
    ``metrics``
        DataFrame, one row per (split, test fold, candidate): ``n_rows``,
        ``ic`` (Pearson correlation of prediction and label over the fold's
        rows), ``rank_ic`` (mean over sessions with >= 2 rows of the
        cross-sectional Spearman correlation; NaN for single-row sessions),
        ``mse``.
    ``models``
        ``{candidate: [fitted model per split]}``.
    ``predictions``
        ``{candidate: [test-row predictions per split]}`` (aligned with the
        split's sorted test indices).
    ``path_returns``
        ``{candidate: DataFrame}`` indexed by observation time, one column per path.
    ``path_sharpe``
        DataFrame (candidate x path) of per-observation Sharpe ratios.
    ``selected``
        Name of the selected candidate.
    ``pbo``
        :class:`~quant_assets.validation.pbo.PBOResult` or None.
    ``pbo_value``, ``pbo_reason``
        PBO (NaN when not computed) and why it was not computed (or None).
    ``dsr``, ``dsr_reason``, ``dsr_inputs``
        DSR of the selected candidate, why it is NaN (or None), and its inputs.
    ``diagram``, ``diagram_path``
        Fold diagram figure and the PNG path (or None).
    ``timing``
        ``wall_seconds``, ``fit_seconds`` (sum over splits of fit + predict
        time) and ``n_jobs``.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> rng = np.random.default_rng(0)
    >>> t = np.repeat(np.arange(80), 10)
    >>> X = rng.normal(size=(t.size, 3)); y = 0.5 * X[:, 0] + rng.normal(size=t.size)
    >>> out = run_cpcv(X, y, t, 1, candidates={"ols": LinearRegression()}, n_folds=4)
    >>> out["path_returns"]["ols"].shape, out["selected"], out["pbo_reason"]
    ((80, 3), 'ols', 'PBO needs at least 2 candidates')
    """
    t_start = time.perf_counter()
    if isinstance(embargo_days, bool) or not isinstance(embargo_days, (int, np.integer)):
        raise TypeError(f"embargo_days must be an int, got {type(embargo_days).__name__}")
    y_arr = np.asarray(y, dtype=np.float64).ravel()
    if y_arr.shape[0] != len(X):
        raise ValueError(f"y has {y_arr.shape[0]} entries but X has {len(X)} rows")
    if not np.all(np.isfinite(y_arr)):
        raise ValueError("y contains NaN or infinite values")
    cands = dict(default_candidates() if candidates is None else candidates)
    if not cands:
        raise ValueError("candidates must contain at least one estimator")
    if n_trials is not None and (isinstance(n_trials, bool) or n_trials < len(cands)):
        raise ValueError(f"n_trials must be >= the number of candidates ({len(cands)}), got {n_trials}")
    g_norm = as_observation_times(groups, "groups", len(X))
    end_norm = None if label_end is None else as_observation_times(label_end, "label_end", len(X))
    cv = CombinatorialPurgedCV(
        n_folds=n_folds,
        n_test_folds=n_test_folds,
        embargo=int(embargo_days),
        times=g_norm,
        label_end=end_norm,
    )

    masks = list(cv.split_masks(X))
    times, fold_of_time = cv.fold_bounds(g_norm)
    splits = pd.DataFrame(
        {
            "test_folds": [m.test_folds for m in masks],
            "n_train": [int(np.sum(m.status == TRAIN)) for m in masks],
            "n_test": [int(np.sum(m.status == TEST)) for m in masks],
            "n_purged": [int(np.sum(m.status == PURGED)) for m in masks],
            "n_embargoed": [int(np.sum(m.status == EMBARGOED)) for m in masks],
        }
    )
    if (splits["n_train"] == 0).any():
        raise ValueError("a split has no training rows left after purging and embargo")

    results = Parallel(n_jobs=n_jobs)(delayed(_fit_split)(X, y_arr, m.train_index, m.test_index, cands) for m in masks)
    fit_seconds = float(sum(r[2] for r in results))

    fold_of_row = fold_of_time[np.searchsorted(times, g_norm)]
    metric_rows: list[dict[str, Any]] = []
    split_returns: dict[str, list[pd.Series]] = {name: [] for name in cands}
    for s, (m, (_, preds, _)) in enumerate(zip(masks, results)):
        test = m.test_index
        y_test, g_test = y_arr[test], g_norm[test]
        # Sessions never straddle folds, so within-session ranks over the whole
        # test set are also the within-session ranks inside each fold.
        test_times, codes = np.unique(g_test, return_inverse=True)
        y_rank = _group_average_rank(y_test, codes)
        pred_rank = {name: _group_average_rank(preds[name], codes) for name in cands}
        for f in m.test_folds:
            sel = fold_of_row[test] == f
            for name in cands:
                metric_rows.append(
                    {"split": s, "fold": f, "candidate": name}
                    | _fold_metrics(preds[name][sel], y_test[sel], codes[sel], pred_rank[name][sel], y_rank[sel])
                )
        for name in cands:
            if returns_fn is None:
                rets = _long_short_from_ranks(pred_rank[name], preds[name], y_test, codes)
                split_returns[name].append(pd.Series(rets, index=test_times))
            else:
                split_returns[name].append(returns_fn(preds[name], y_test, g_test))
    metrics = pd.DataFrame(metric_rows)

    paths = cv.test_fold_paths()
    path_returns: dict[str, pd.DataFrame] = {}
    for name in cands:
        cols = []
        for p in range(paths.shape[0]):
            pieces = [split_returns[name][paths[p, f]].reindex(times[fold_of_time == f]) for f in range(cv.n_folds)]
            cols.append(pd.concat(pieces))
        frame = pd.concat(cols, axis=1)
        frame.columns = pd.RangeIndex(paths.shape[0], name="path")
        path_returns[name] = frame

    names = list(cands)
    path_sharpe = pd.DataFrame([_path_sharpe(path_returns[n]) for n in names], index=names).rename_axis(
        index="candidate", columns="path"
    )
    mean_sharpe = path_sharpe.mean(axis=1)
    selected = str(mean_sharpe.idxmax()) if mean_sharpe.notna().any() else names[0]

    pbo_res = None
    pbo_reason: str | None = None
    if len(names) < 2:
        pbo_reason = "PBO needs at least 2 candidates"
    else:
        avg = pd.DataFrame({n: path_returns[n].mean(axis=1) for n in names})
        try:
            pbo_res = probability_of_backtest_overfitting(avg, n_blocks=pbo_blocks)
        except ValueError as exc:
            pbo_reason = str(exc)

    trials = len(names) if n_trials is None else int(n_trials)
    sel_frame = path_returns[selected]
    skew = float(np.mean(stats.skew(sel_frame.to_numpy(), axis=0, bias=True)))
    kurt = float(np.mean(stats.kurtosis(sel_frame.to_numpy(), axis=0, fisher=False, bias=True)))
    dsr_reason: str | None = None
    if var_trials is not None:
        v = float(var_trials)
    elif trials == 1:
        v = 0.0
    elif len(names) >= 2:
        v = float(np.var(mean_sharpe.to_numpy(), ddof=1))
    else:
        v = float("nan")
        dsr_reason = "var_trials cannot be estimated from one candidate; pass var_trials"
    dsr_inputs = {
        "sr": float(mean_sharpe[selected]),
        "n_obs": int(times.size),
        "skew": skew,
        "kurtosis": kurt,
        "n_trials": trials,
        "var_trials": v,
    }
    if not np.all(np.isfinite([dsr_inputs["sr"], skew, kurt])):
        dsr_reason = dsr_reason or "selected candidate has undefined Sharpe or moments"
        dsr = float("nan")
    elif dsr_reason is None:
        dsr = float(deflated_sharpe_ratio(**dsr_inputs))
    else:
        dsr = float("nan")

    fig = plot_cpcv_folds(cv, g_norm, label_end=end_norm, path=diagram_path)
    return {
        "cv": cv,
        "splits": splits,
        "metrics": metrics,
        "models": {n: [r[0][n] for r in results] for n in names},
        "predictions": {n: [r[1][n] for r in results] for n in names},
        "path_returns": path_returns,
        "path_sharpe": path_sharpe,
        "selected": selected,
        "pbo": pbo_res,
        "pbo_value": float("nan") if pbo_res is None else pbo_res.pbo,
        "pbo_reason": pbo_reason,
        "dsr": dsr,
        "dsr_reason": dsr_reason,
        "dsr_inputs": dsr_inputs,
        "diagram": fig,
        "diagram_path": None if diagram_path is None else Path(diagram_path),
        "timing": {
            "wall_seconds": time.perf_counter() - t_start,
            "fit_seconds": fit_seconds,
            "n_jobs": n_jobs,
        },
    }
