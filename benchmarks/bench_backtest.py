"""Backtester speed and exactness, side by side in one run.

A daily rebalanced dollar-neutral long/short book (gross 1) over ``--years`` x ``--names``:

* our backtester with every friction on (fees, half-spread, square-root impact, 10 % participation
  cap with partial fills carried over, borrow), vectorized session fills: the run (equity curve
  and metrics, logs kept as arrays), then the framing of its logs (orders, fills, positions);
* our backtester with frictions and partial fills off, against the plain vectorized NumPy
  reference of the same book (:func:`quant_assets.backtest.reference.frictionless_nav`): the
  NAVs must agree to 1e-10 relative;
* vectorbt (bench extra, optional) on the same target weights, at the open, without partial
  fills, when it is installed (its numba kernels compiled by a first full-size run).

Each timing is the best of ``--repeat`` runs, as wall-clock and as process CPU time (the CPU
time is the steadier figure on a shared machine); the ratio to vectorbt is given for both.

Run: ``python benchmarks/bench_backtest.py [--names 1000 --years 10 --repeat 3]``.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd

from quant_assets.backtest import run_backtest
from quant_assets.backtest.reference import frictionless_nav

CAPITAL = 1e9  # large enough for the participation cap to bind: partial fills carried over
FRICTIONS = {
    "initial_capital": CAPITAL,
    "fee_bps": 0.5,
    "spread_bps": 5.0,
    "max_participation": 0.10,
    "default_borrow_bps": 30.0,
    "vectorized_fills": True,
}
NO_FRICTIONS = {
    "initial_capital": CAPITAL,
    "spread_bps": 0.0,
    "impact_y": 0.0,
    "default_borrow_bps": 0.0,
    "max_participation": 1.0,
    "vectorized_fills": True,
}


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


def best_of(repeat: int, fn):
    """``(result, best wall seconds, best CPU seconds)`` over ``repeat`` calls."""
    wall, cpu, out = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return out, min(wall), min(cpu)


def vectorbt_run(opn, close, w, sessions, syms):
    """A function running vectorbt on the same targets at the next open (None when vectorbt is missing)."""
    try:
        import vectorbt as vbt
    except ImportError:
        return None
    size = pd.DataFrame(np.vstack([np.full((1, w.shape[1]), np.nan), w[:-1]]), index=sessions, columns=syms)
    close_df = pd.DataFrame(close, index=sessions, columns=syms)
    open_df = pd.DataFrame(opn, index=sessions, columns=syms)

    def run():
        pf = vbt.Portfolio.from_orders(
            close=close_df,
            price=open_df,
            size=size,
            size_type="targetpercent",
            group_by=True,
            cash_sharing=True,
            call_seq="auto",
            init_cash=CAPITAL,
            freq="1D",
        )
        return pf.value().to_numpy()

    return run


def line(label: str, wall: float, cpu: float, note: str = "") -> None:
    print(f"{label:<34}: {wall:7.2f} s wall {cpu:7.2f} s CPU  {note}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--names", type=int, default=1000)
    ap.add_argument("--years", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n_days = int(round(252 * args.years))
    px, tg, opn, close, w, sessions, syms = market(args.names, n_days)
    print(f"{args.names} names x {n_days} sessions ({args.names * n_days:,} name-days), daily long/short, gross 1")

    full, t_full, c_full = best_of(args.repeat, lambda: run_backtest(tg, px, None, FRICTIONS))
    m = full.metrics
    costs = ", ".join(f"{k} {v:,.0f}" for k, v in m["costs"].items())
    line("ours, all frictions (run)", t_full, c_full, f"net Sharpe {m['net_sharpe']:.2f}; costs {costs}")
    _, t_logs, c_logs = best_of(1, lambda: full.orders)
    partial = int((full.orders["unfilled"] > 0).sum())
    line(
        "ours, framing the logs",
        t_logs,
        c_logs,
        f"{len(full.orders):,} orders ({partial:,} partially filled), {len(full.fills):,} fills, "
        f"{len(full.positions):,} position rows",
    )

    px_deep = px.assign(volume=1e15)  # no participation limit binds: no partial fills
    plain, t_plain, c_plain = best_of(1, lambda: run_backtest(tg, px_deep, None, NO_FRICTIONS))
    ref, t_ref, c_ref = best_of(args.repeat, lambda: frictionless_nav(opn, close, w, CAPITAL))
    err = float(np.max(np.abs(plain.equity["nav"].to_numpy() - ref) / ref))
    ok = err <= 1e-10
    verdict = f"max |NAV - reference| / reference = {err:.1e} ({'ok' if ok else 'FAIL'})"
    line("ours, frictionless", t_plain, c_plain, verdict)
    line("NumPy reference", t_ref, c_ref)

    vbt = vectorbt_run(opn, close, w, sessions, syms)
    if vbt is None:
        print(f"{'vectorbt':<34}:     n/a  (not installed: the bench extra)")
    else:
        vbt()  # compiles vectorbt's numba kernels and fills its caches
        vnav, t_vbt, c_vbt = best_of(args.repeat, vbt)
        verr = float(np.max(np.abs(vnav - ref) / ref))
        line("vectorbt, no partial fills", t_vbt, c_vbt, f"max |NAV - reference| / reference = {verr:.1e}")
        print(f"ours (all frictions) / vectorbt   : {t_full / t_vbt:.2f}x wall, {c_full / c_vbt:.2f}x CPU")
    print(f"ours (all frictions) / NumPy ref. : {t_full / t_ref:.1f}x wall, {c_full / c_ref:.1f}x CPU")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
