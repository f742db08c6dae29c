"""Backtester speed and exactness, side by side in one run.

A daily rebalanced dollar-neutral long/short book (gross 1) over ``--years`` x ``--names``:

* our backtester with every friction on (fees, half-spread, square-root impact, 10 % participation
  cap with partial fills carried over, borrow), vectorized session fills;
* our backtester with frictions and partial fills off, against a plain vectorized NumPy
  reference of the same book (the NAVs must agree to 1e-10 relative);
* vectorbt (``pip install vectorbt``, optional) on the same target weights, at the open, without
  partial fills, when it is installed.

Run: ``python benchmarks/bench_backtest.py [--names 1000 --years 10]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from quant_assets.backtest import run_backtest


def market(n_names: int, n_days: int, seed: int = 0):
    """Random-walk prices, opens near the previous close, volumes, and rank long/short weights."""
    rng = np.random.default_rng(seed)
    sessions = pd.bdate_range("2014-01-02", periods=n_days)
    close = 50 * np.exp(np.cumsum(rng.normal(2e-4, 0.02, (n_days, n_names)), axis=0))
    prev = np.vstack([close[:1], close[:-1]])
    opn = prev * np.exp(rng.normal(0, 0.005, close.shape))
    volume = rng.uniform(2e5, 2e6, close.shape)
    signal = rng.standard_normal(close.shape)
    rank = signal.argsort(axis=1).argsort(axis=1)
    half = n_names // 2
    w = np.where(rank >= n_names - half, 1.0 / (2 * half), np.where(rank < half, -1.0 / (2 * half), 0.0))
    syms = np.array([f"S{i:04d}" for i in range(n_names)])
    px = pd.DataFrame(
        {
            "date": np.repeat(sessions, n_names),
            "symbol": np.tile(syms, n_days),
            "open": opn.ravel(),
            "close": close.ravel(),
            "volume": volume.ravel(),
            "split_ratio": 1.0,
            "dividend": 0.0,
            "is_delisting": False,
            "delisting_return": np.nan,
        }
    )
    tg = pd.DataFrame({"date": np.repeat(sessions, n_names), "symbol": np.tile(syms, n_days), "target_w": w.ravel()})
    return px, tg, opn, close, w, sessions, syms


def reference_nav(opn: np.ndarray, close: np.ndarray, w: np.ndarray, capital: float) -> np.ndarray:
    """NAV of the frictionless book: shares ``w_t NAV_t / c_t`` bought at the open of ``t + 1``."""
    n_days = close.shape[0]
    nav = np.empty(n_days)
    nav[0] = capital
    held = np.zeros(close.shape[1])
    for t in range(n_days - 1):
        new = w[t] * nav[t] / close[t]
        nav[t + 1] = nav[t] + held @ (opn[t + 1] - close[t]) + new @ (close[t + 1] - opn[t + 1])
        held = new
    return nav


def vectorbt_nav(opn, close, w, sessions, syms, capital):
    """vectorbt's NAV of the same targets at the next open (None when vectorbt is not installed)."""
    try:
        import vectorbt as vbt
    except ImportError:
        return None, None
    size = pd.DataFrame(np.vstack([np.full((1, w.shape[1]), np.nan), w[:-1]]), index=sessions, columns=syms)

    def run(rows: slice):
        pf = vbt.Portfolio.from_orders(
            close=pd.DataFrame(close, index=sessions, columns=syms).iloc[rows],
            price=pd.DataFrame(opn, index=sessions, columns=syms).iloc[rows],
            size=size.iloc[rows],
            size_type="targetpercent",
            group_by=True,
            cash_sharing=True,
            call_seq="auto",
            init_cash=capital,
            freq="1D",
        )
        return pf.value().to_numpy()

    run(slice(0, 5))  # compile the numba kernels outside the timing
    t0 = time.perf_counter()
    nav = run(slice(None))
    return nav, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--names", type=int, default=1000)
    ap.add_argument("--years", type=float, default=10.0)
    args = ap.parse_args()
    n_days = int(round(252 * args.years))
    capital = 1e9  # large enough for the participation cap to bind: partial fills carried over
    px, tg, opn, close, w, sessions, syms = market(args.names, n_days)
    print(f"{args.names} names x {n_days} sessions ({args.names * n_days:,} name-days), daily long/short, gross 1")

    frictions = {
        "initial_capital": capital,
        "fee_bps": 0.5,
        "spread_bps": 5.0,
        "max_participation": 0.10,
        "default_borrow_bps": 30.0,
        "vectorized_fills": True,
    }
    t0 = time.perf_counter()
    full = run_backtest(tg, px, None, frictions)
    t_full = time.perf_counter() - t0
    m = full.metrics
    partial = int((full.orders["unfilled"] > 0).sum())
    print(
        f"ours, all frictions       : {t_full:8.2f} s  net Sharpe {m['net_sharpe']:.2f}, costs "
        + ", ".join(f"{k} {v:,.0f}" for k, v in m["costs"].items())
        + f"; partially filled orders {partial:,}"
    )

    plain = {
        "initial_capital": capital,
        "spread_bps": 0.0,
        "impact_y": 0.0,
        "default_borrow_bps": 0.0,
        "max_participation": 1.0,
        "vectorized_fills": True,
    }
    px_deep = px.assign(volume=1e15)  # no participation limit binds: no partial fills
    t0 = time.perf_counter()
    ours = run_backtest(tg, px_deep, None, plain).equity["nav"].to_numpy()
    t_plain = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = reference_nav(opn, close, w, capital)
    t_ref = time.perf_counter() - t0
    err = float(np.max(np.abs(ours - ref) / ref))
    print(f"ours, frictionless        : {t_plain:8.2f} s  max |NAV - reference| / reference = {err:.1e}")
    print(f"NumPy reference           : {t_ref:8.2f} s")
    vnav, t_vbt = vectorbt_nav(opn, close, w, sessions, syms, capital)
    if vnav is None:
        print("vectorbt                  :      n/a  (not installed: pip install vectorbt)")
    else:
        verr = float(np.max(np.abs(vnav - ref) / ref))
        print(f"vectorbt, no partial fills: {t_vbt:8.2f} s  max |NAV - reference| / reference = {verr:.1e}")
        print(f"ours (all frictions) / vectorbt = {t_full / t_vbt:.1f}x")
    print(f"ours (all frictions) / NumPy reference = {t_full / t_ref:.1f}x")


if __name__ == "__main__":
    main()
