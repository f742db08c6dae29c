"""Benchmark: features and labels of the research sleeve, next to polars, with peak memory.

Generates a profile's synthetic market in memory (default ``full``: 1,500 names, ten years),
builds :class:`~quant_assets.research.MarketFrames` through the graph's curation, then times

* the universe, the whole feature panel (standardized, long) and the label panel;
* each raw feature on the ``(session, symbol)`` matrix (numpy/pandas, this package) against the
  same feature computed by polars on the long frame (``rolling_*`` over ``symbol`` groups on
  the full session grid), and checks both agree;

and prints, per step, its wall time and its peak RSS above the RSS before it (sampled every
10 ms from ``/proc/self/statm``), then the peak RSS of the whole process (``ru_maxrss``, which
includes generating the market). The feature panel is built twice: float64 (the default, what
the graph stores) and ``dtype=np.float32`` (half the panel). polars is in the ``bench`` extra only.

Run: ``python benchmarks/bench_features.py [profile]``
"""

from __future__ import annotations

import gc
import os
import resource
import sys
import threading
import time
import warnings
from contextlib import contextmanager

import numpy as np
import polars as pl

from quant_assets.calendars import sessions_in_range
from quant_assets.config import load_profile
from quant_assets.features import build_feature_panel, raw_feature_matrices
from quant_assets.labels import LabelConfig, build_label_panel
from quant_assets.market.synthetic import MarketConfig, SyntheticMarket
from quant_assets.research import MarketFrames, build_universe


def _rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def _rss_now_gib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


@contextmanager
def _step(label: str, results: dict):
    """Time a step and sample its peak RSS above the RSS before it (every 10 ms)."""
    gc.collect()
    base = _rss_now_gib()
    peak, done = [base], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _rss_now_gib())
            done.wait(0.01)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    t, cpu = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        secs, cpu = time.perf_counter() - t, time.process_time() - cpu
        done.set()
        th.join()
        peak[0] = max(peak[0], _rss_now_gib())
        results[label] = (secs, cpu, base, peak[0])


def _polars_features(w) -> dict:
    """The same raw features, polars expressions over symbol groups on the full grid."""
    T, N = w.ret.shape
    r = w.ret.T.reshape(-1)  # symbol-major: each group is contiguous
    dv = (w.close * w.volume).T.reshape(-1)
    turn = (w.volume / w.shares).T.reshape(-1)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mkt = np.tile(np.nanmean(w.ret, axis=1), N)
    df = pl.DataFrame({"symbol": np.repeat(np.arange(N), T), "r": r, "dv": dv, "turn": turn, "mkt": mkt})
    df = df.with_columns(pl.col("r").fill_nan(None), pl.col("turn").fill_nan(None), pl.col("dv").fill_nan(None))
    lr = pl.col("r").clip(lower_bound=-0.999999).log1p()
    by = "symbol"
    exprs = {
        "xsmom_21": lr.rolling_sum(21, min_samples=17).over(by),
        "xsmom_252": lr.rolling_sum(252, min_samples=202).over(by),
        "mom_12_1": lr.shift(21).rolling_sum(231, min_samples=185).over(by),
        "strev_5": -lr.rolling_sum(5, min_samples=4).over(by),
        "rvol_20": pl.col("r").rolling_std(20, min_samples=10).over(by),
        "rvol_60": pl.col("r").rolling_std(60, min_samples=30).over(by),
        "dvol_20": (pl.col("r").clip(upper_bound=0) ** 2).rolling_mean(20, min_samples=10).sqrt().over(by),
        "rquart_20": (pl.col("r") ** 4).rolling_mean(20, min_samples=10).over(by),
        "skew_60": pl.col("r").rolling_skew(60).over(by),
        "amihud_20": (pl.col("r").abs() / pl.col("dv") * 1e6).rolling_mean(20, min_samples=10).log().over(by),
        "turnover_20": (pl.col("turn").rolling_mean(20, min_samples=10) + 1e-8).log().over(by),
        "beta_mkt_60": (
            (pl.col("r") * pl.col("mkt")).rolling_mean(60, min_samples=30)
            - pl.col("r").rolling_mean(60, min_samples=30) * pl.col("mkt").rolling_mean(60, min_samples=30)
        ).over(by)
        / pl.col("mkt").rolling_var(60, min_samples=30, ddof=0).over(by),
    }
    out = {}
    for name, expr in exprs.items():
        res, secs = _timed(lambda e=expr: df.select(e.alias("x")).to_series().to_numpy())
        out[name] = (res.reshape(N, T).T, secs)
    return out


FEATURES_COMPARED = (
    "xsmom_21",
    "xsmom_252",
    "mom_12_1",
    "strev_5",
    "rvol_20",
    "rvol_60",
    "dvol_20",
    "rquart_20",
    "skew_60",
    "amihud_20",
    "turnover_20",
    "beta_mkt_60",
)


def main(profile_name: str = "full") -> None:
    profile = load_profile(profile_name)
    cfg = MarketConfig.from_dict(profile.market)
    steps: dict = {}
    with _step("market generation + curation (MarketFrames, pivot)", steps):
        market = SyntheticMarket(cfg, sessions_in_range(cfg.start, cfg.end))
        frames = MarketFrames.from_synthetic(market)
        w = frames.wide
        del market
    print(f"profile {profile_name}: {w.ret.shape[0]} sessions x {w.ret.shape[1]} names")
    research = profile.research
    top_n = research.get("universe", {}).get("top_n", 1000)
    with _step("universe", steps):
        uni = build_universe(frames, w.sessions, top_n)
    with _step("feature panel float32", steps):
        panel = build_feature_panel(frames, w.sessions, universe=uni, dtype=np.float32)
    size32 = panel.memory_usage(deep=False).sum() / 2**30
    del panel
    with _step("feature panel float64", steps):
        panel = build_feature_panel(frames, w.sessions, universe=uni)
    size64 = panel.memory_usage(deep=False).sum() / 2**30
    shape = panel.shape
    del panel
    with _step("label panel", steps):
        labels = build_label_panel(frames, w.sessions, LabelConfig.from_dict(research.get("labels")), universe=uni)
    print(f"universe {len(uni):,} rows; feature panel {shape[0]:,} x {shape[1]}; label panel {len(labels):,} rows")
    print(f"feature panel in memory: {size64:.2f} GiB float64, {size32:.2f} GiB float32\n")
    print(f"{'step':<52}{'wall s':>8}{'CPU s':>8}{'RSS before':>12}{'peak':>8}{'peak above':>12}  (GiB)")
    for label, (secs, cpu, base, peak) in steps.items():
        print(f"{label:<52}{secs:>8.1f}{cpu:>8.1f}{base:>12.2f}{peak:>8.2f}{peak - base:>12.2f}")
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs: wall exceeds CPU on a shared machine)")
    del labels

    ours = {}
    for name in FEATURES_COMPARED:
        m, secs = _timed(lambda n=name: raw_feature_matrices(frames, [n])[n])
        ours[name] = (m, secs)
    theirs = _polars_features(w)
    print(f"\n{'feature':<14}{'ours s':>9}{'polars s':>10}{'ratio':>8}  agree")
    ratios = []
    for name, (m, secs) in ours.items():
        p, psecs = theirs[name]
        if name == "rquart_20":
            p = np.log(p * 20 * 20 / 3)  # (n/3) sum r^4 with n = 20 (full windows)
        both = np.isfinite(m) & np.isfinite(p)
        agree = np.nanmedian(np.abs(m[both] - p[both]) / (np.abs(p[both]) + 1e-12)) if both.any() else np.nan
        ratios.append(secs / psecs)
        print(f"{name:<14}{secs:>9.3f}{psecs:>10.3f}{secs / psecs:>8.2f}  median rel. diff {agree:.1e}")
    ratios = np.array(ratios)
    print(
        f"ratio to polars: median {np.median(ratios):.2f}, max {ratios.max():.2f}; "
        f"{int((ratios <= 2).sum())}/{ratios.size} features within 2x (goal: all)"
    )
    feat = steps["feature panel float64"]
    print(
        f"\npeak RSS of the process {_rss_gib():.2f} GiB (incl. market generation); during the feature panel: "
        f"float64 {feat[3]:.2f} GiB, float32 {steps['feature panel float32'][3]:.2f} GiB (goal < 2 GiB)"
    )


if __name__ == "__main__":
    main(*sys.argv[1:2])
