"""Benchmark: ``run_cpcv`` on a synthetic panel.

Panel: 500 dates x 200 names x 20 features (100,000 rows), 5-session forward
labels with a planted linear signal, default candidates (ridge + LightGBM),
CPCV N=8, k=2 (28 splits, 7 paths), embargo 5 sessions.

Reports, side by side in one process:
* share of wall time spent outside model fitting (n_jobs=1; target < 5%):
  ``1 - fit_seconds / wall_seconds`` where ``fit_seconds`` sums fit + predict time;
* speed-up of n_jobs=2 over n_jobs=1 (wall time), and that both give identical
  path returns.

Run: ``python benchmarks/bench_cpcv.py [n_dates n_names n_features]``

``python benchmarks/bench_cpcv.py --profile full [share]`` runs the same measurement on a
profile's research panel instead: its synthetic market, top-N universe, feature panel and
labels (``quant_assets.features``, ``quant_assets.labels``, joined by
``quant_assets.models.research_panel``, 5-session excess-return target, purging on the label's
last exit), LightGBM with the project's candidate parameters on every feature column (NaN
left to LightGBM), the profile's CPCV layout (8 folds, 2 test folds, 10-session embargo).
``share`` < 1 keeps that share of the symbols (every session kept, so the embargo keeps its
meaning), to bound the run time on a loaded machine; the row count used is printed.

``python benchmarks/bench_cpcv.py --purging`` instead checks the splitter's
purging and embargo split by split, on one row per session with labels ending
``h`` sessions later, against a brute-force AFML reference (López de Prado
2018, §7.4: a training row is purged when ``[t_i, e_i]`` meets ``[t_j, e_j]``
of a test row, embargoed when observed 1..``embargo`` sessions after such an
``e_j``) and, when skfolio is installed, against skfolio's
``CombinatorialPurgedCV(purged_size=h, embargo_size=embargo)``. It prints the
number of configurations, splits, training rows the reference removes but the
splitter keeps (wrongly kept) and the reverse (wrongly removed).
"""

from __future__ import annotations

import os
import sys
import time
from itertools import product

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from quant_assets.validation import CombinatorialPurgedCV, run_cpcv


def make_panel(n_dates: int, n_names: int, n_feat: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    t = np.repeat(np.arange(n_dates), n_names)
    X = rng.normal(size=(t.size, n_feat)).astype(np.float64)
    y = 0.05 * X[:, 0] - 0.03 * X[:, 1] * X[:, 2] + rng.normal(size=t.size)
    return X, y, t


def _busy(n: int = 3_000_000) -> int:
    total = 0
    for i in range(n):
        total += i & 7
    return total


def machine_parallel_speedup() -> float:
    """Speed-up of 2 jobs over 1 on a pure-CPU task right now (other load included)."""
    t0 = time.perf_counter()
    for _ in range(4):
        _busy()
    serial = time.perf_counter() - t0
    Parallel(n_jobs=2)(delayed(_busy)(10) for _ in range(2))  # start the workers
    t0 = time.perf_counter()
    Parallel(n_jobs=2)(delayed(_busy)() for _ in range(4))
    return serial / (time.perf_counter() - t0)


def afml_removed(t, end, test, embargo: int):
    """Rows the AFML rule removes from training around the test rows ``test`` (bool mask)."""
    times = np.unique(t)
    tj, ej = t[test], end[test]
    purged = ((t[:, None] <= ej[None, :]) & (end[:, None] >= tj[None, :])).any(axis=1)
    after = np.searchsorted(times, t, side="right")[:, None] - np.searchsorted(times, ej, side="right")[None, :]
    embargoed = ((t[:, None] > ej[None, :]) & (after <= embargo)).any(axis=1)
    return (purged | embargoed) & ~test


def purging_configs():
    """(N, k, sessions per fold, label horizon h, embargo) within skfolio's constraints."""
    for n_folds, per_fold, h, embargo in product(range(3, 9), (8, 16, 30), (0, 1, 2, 4, 6), (0, 1, 2, 4)):
        if h + embargo < per_fold - 1:
            for k in range(2, n_folds):
                yield n_folds, k, per_fold, h, embargo


def purging_agreement(splitter=CombinatorialPurgedCV) -> dict[str, int]:
    """Split-by-split comparison of ``splitter`` with the AFML reference and skfolio."""
    try:
        from skfolio.model_selection import CombinatorialPurgedCV as SkfolioCPCV
    except ImportError:
        SkfolioCPCV = None
    counts = dict.fromkeys(
        ["configs", "splits", "kept", "kept_splits", "removed", "sk_splits_differ", "sk_rows_differ"], 0
    )
    for n_folds, k, per_fold, h, embargo in purging_configs():
        t = np.arange(n_folds * per_fold)
        end = t + h
        cv = splitter(n_folds, k, embargo)
        sk = None if SkfolioCPCV is None else SkfolioCPCV(n_folds, k, purged_size=h, embargo_size=embargo)
        sk_splits = [None] * cv.get_n_splits() if sk is None else list(sk.split(np.zeros((t.size, 1))))
        counts["configs"] += 1
        for (train, test), sk_split in zip(cv.split(t, groups=t, label_end=end), sk_splits, strict=True):
            is_test = np.zeros(t.size, dtype=bool)
            is_test[test] = True
            ref_train = ~is_test & ~afml_removed(t, end, is_test, embargo)
            ours = np.zeros(t.size, dtype=bool)
            ours[train] = True
            kept = int((ours & ~ref_train).sum())
            counts["splits"] += 1
            counts["kept"] += kept
            counts["kept_splits"] += kept > 0
            counts["removed"] += int((ref_train & ~ours).sum())
            if sk_split is not None:
                diff = np.setxor1d(train, sk_split[0]).size
                counts["sk_splits_differ"] += diff > 0
                counts["sk_rows_differ"] += diff
    counts["skfolio"] = int(SkfolioCPCV is not None)
    return counts


def report_purging() -> None:
    c = purging_agreement()
    print(
        f"{c['configs']} configurations, {c['splits']:,} splits (one row per session, labels "
        f"ending h sessions later)\n"
        f"vs AFML reference: {c['kept']:,} training rows wrongly kept over {c['kept_splits']:,} "
        f"splits, {c['removed']:,} wrongly removed"
    )
    if c["skfolio"]:
        print(
            f"vs skfolio: {c['sk_splits_differ']:,} splits with a different training set, "
            f"{c['sk_rows_differ']:,} rows differing"
        )
    else:
        print("vs skfolio: not installed, skipped")


def profile_panel(profile_name: str, share: float = 1.0):
    """``(X, y, asof, label_end, lgbm, cpcv settings)`` of a profile's research panel (see the docstring)."""
    from quant_assets.calendars import sessions_in_range
    from quant_assets.config import load_profile
    from quant_assets.features import FEATURE_COLUMNS, build_feature_panel
    from quant_assets.labels import LabelConfig, build_label_panel
    from quant_assets.market.synthetic import MarketConfig, SyntheticMarket
    from quant_assets.models import SelectionConfig, build_candidates, research_panel
    from quant_assets.research import MarketFrames, build_universe

    profile = load_profile(profile_name)
    cfg = MarketConfig.from_dict(profile.market)
    frames = MarketFrames.from_synthetic(SyntheticMarket(cfg, sessions_in_range(cfg.start, cfg.end)))
    sessions = frames.wide.sessions
    uni = build_universe(frames, sessions, profile.research["universe"]["top_n"])
    if share < 1:
        symbols = np.unique(uni["symbol"])
        keep = np.random.default_rng(0).choice(symbols, max(2, int(round(share * symbols.size))), replace=False)
        uni = uni[uni["symbol"].isin(keep)]
    features = build_feature_panel(frames, sessions, universe=uni, dtype=np.float32)
    labels = build_label_panel(frames, sessions, LabelConfig.from_dict(profile.research.get("labels")), universe=uni)
    del frames, uni
    sel = SelectionConfig.from_dict(profile.models)
    panel = research_panel(features, labels, horizon=sel.horizon)
    del features, labels
    lgbm = build_candidates(list(FEATURE_COLUMNS), sel.candidates)["lightgbm"]
    X = panel[list(lgbm.features)].to_numpy(dtype=np.float32)
    y = panel[sel.target].to_numpy(dtype=np.float64)
    return X, y, panel["asof"].to_numpy(), panel["label_end"].to_numpy(), lgbm.estimator, sel


def compare_jobs(X, y, t, embargo: int, **kwargs) -> dict:
    """``run_cpcv`` with n_jobs = 1 then 2: wall time, share outside fitting, speed-up, identical paths."""
    runs = {}
    for n_jobs in (1, 2):
        out = run_cpcv(X, y, t, embargo, n_jobs=n_jobs, **kwargs)
        runs[n_jobs] = out
        tm = out["timing"]
        outside = 1.0 - tm["fit_seconds"] / tm["wall_seconds"]
        print(
            f"n_jobs={n_jobs}: wall {tm['wall_seconds']:.2f} s, fit+predict (summed over splits) "
            f"{tm['fit_seconds']:.2f} s"
            + (
                f", outside fitting {outside:.1%} (target < 5%) -> {'PASS' if outside < 0.05 else 'FAIL'}"
                if n_jobs == 1
                else ""
            )
        )
    w1, w2 = runs[1]["timing"]["wall_seconds"], runs[2]["timing"]["wall_seconds"]
    same = all(runs[1]["path_returns"][c].equals(runs[2]["path_returns"][c]) for c in runs[1]["path_returns"])
    print(f"speed-up n_jobs=2 vs 1: x{w1 / w2:.2f}; identical path returns: {same}")
    print(
        f"for scale, a pure-CPU task reaches x{machine_parallel_speedup():.2f} with 2 jobs "
        f"on this machine now (load average {os.getloadavg()[0]:.1f})"
    )
    return runs


def report_profile(profile_name: str, share: float) -> None:
    t0 = time.perf_counter()
    X, y, t, end, lgbm, sel = profile_panel(profile_name, share)
    print(
        f"profile {profile_name}: {np.unique(t).size} sessions, {X.shape[0]:,} rows x {X.shape[1]} features "
        f"(symbol share {share:g}; market, features, labels built in {time.perf_counter() - t0:.0f} s), "
        f"{os.cpu_count()} CPUs\nLightGBM {lgbm.get_params()['n_estimators']} trees, "
        f"{lgbm.get_params()['num_leaves']} leaves; CPCV N={sel.n_folds}, k={sel.n_test_folds}, "
        f"embargo {sel.embargo_days} sessions"
    )
    runs = compare_jobs(
        X,
        y,
        t,
        sel.embargo_days,
        label_end=end,
        candidates={"lightgbm": lgbm},
        n_folds=sel.n_folds,
        n_test_folds=sel.n_test_folds,
    )
    m = runs[1]["metrics"]
    print(f"lightgbm: mean rank IC {m['rank_ic'].mean():.4f} over {len(m)} split-folds")


def main() -> None:
    if sys.argv[1:2] == ["--purging"]:
        report_purging()
        return
    if sys.argv[1:2] == ["--profile"]:
        report_profile(sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 1.0)
        return
    n_dates, n_names, n_feat = (int(a) for a in sys.argv[1:4]) if len(sys.argv) >= 4 else (500, 200, 20)
    X, y, t = make_panel(n_dates, n_names, n_feat)
    print(f"panel {n_dates} dates x {n_names} names x {n_feat} features ({t.size:,} rows), {os.cpu_count()} CPUs")
    runs = compare_jobs(X, y, t, 5, label_end=t + 5)
    out = runs[1]
    summary = out["metrics"].groupby("candidate")[["ic", "rank_ic", "mse"]].mean()
    print(summary.to_string(float_format=lambda v: f"{v:.4f}"))
    print(
        pd.Series(
            {
                "selected": out["selected"],
                "pbo": round(out["pbo_value"], 3),
                "dsr": round(out["dsr"], 4),
            }
        ).to_string()
    )


if __name__ == "__main__":
    main()
