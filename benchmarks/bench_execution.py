"""Execution-model speed, each fast path timed beside a plain reference in the same run.

Run: ``python benchmarks/bench_execution.py``. Prints figures and speed ratios.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from quant_assets.execution import (
    CostModel,
    allocate_with_carry,
    allocate_with_carry_reference,
    almgren_chriss,
    simulate,
    simulate_avellaneda_stoikov,
)


def _best(fn: Callable[[], object], repeat: int = 3) -> float:
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_costs(n: int = 1_000_000, n_ref: int = 100_000) -> None:
    rng = np.random.default_rng(0)
    q = rng.uniform(1, 1e5, n)
    p = rng.uniform(5, 500, n)
    s = p * rng.uniform(1e-4, 1e-3, n)
    adv = rng.uniform(1e5, 1e7, n)
    vol = rng.uniform(0.005, 0.05, n)
    cm = CostModel(fee_per_share=0.005, fee_bps=0.5)

    def loop() -> list[float]:
        out = []
        for i in range(n_ref):
            fee = q[i] * 0.005 + 1e-4 * 0.5 * q[i] * p[i]
            out.append(fee + 0.5 * q[i] * s[i] + q[i] * p[i] * vol[i] * math.sqrt(q[i] / adv[i]))
        return out

    fast = _best(lambda: cm.costs(q, p, s, adv, vol).total)
    ref = _best(loop, repeat=1) * n / n_ref
    err = np.max(
        np.abs(np.asarray(cm.costs(q[:n_ref], p[:n_ref], s[:n_ref], adv[:n_ref], vol[:n_ref]).total) - np.array(loop()))
    )
    print(
        f"CostModel.costs      : {n / fast:,.0f} trades/s vectorized vs {n / ref:,.0f} "
        f"trades/s loop -> {ref / fast:,.0f}x (max abs diff ${err:.2e})"
    )


def bench_allocation(n_bars: int = 2_000, n_orders: int = 200) -> None:
    rng = np.random.default_rng(1)
    targets = rng.exponential(100.0, (n_orders, n_bars))
    caps = rng.exponential(100.0, (n_orders, n_bars))
    pairs = list(zip(targets, caps, strict=True))
    fast = _best(lambda: [allocate_with_carry(t, c) for t, c in pairs])
    ref = _best(lambda: [allocate_with_carry_reference(t, c) for t, c in pairs])
    diff = max(
        np.max(np.abs(allocate_with_carry(t, c) - allocate_with_carry_reference(t, c)))
        for t, c in zip(targets[:20], caps[:20], strict=True)
    )
    print(
        f"allocate_with_carry  : {n_orders} x {n_bars} bars in {fast * 1e3:.1f} ms vs loop "
        f"{ref * 1e3:.1f} ms -> {ref / fast:.1f}x (max diff {diff:.1e} shares)"
    )


def bench_almgren_chriss(n_steps: int = 2_000) -> None:
    args = (1e6, 5.0, n_steps, 0.95, 2.5e-6, 2.5e-7, 0.0625, 1e-6)
    fast = _best(lambda: almgren_chriss(*args))
    tau = 5.0 / n_steps
    eta_t = 2.5e-6 - 0.5 * 2.5e-7 * tau
    a, b = 2 * eta_t / tau, 2 * 1e-6 * 0.95**2 * tau
    m = n_steps - 1

    def solve() -> np.ndarray:  # first-order conditions of E + λV, dense solve
        mat = np.diag(np.full(m, 2 * a + b)) - a * np.eye(m, k=1) - a * np.eye(m, k=-1)
        rhs = np.zeros(m)
        rhs[0] = a * 1e6
        return np.linalg.solve(mat, rhs)

    ref = _best(solve)
    err = np.max(np.abs(almgren_chriss(*args).holdings[1:-1] - solve()))
    print(
        f"almgren_chriss       : N={n_steps}: closed form {fast * 1e6:,.0f} us vs dense "
        f"linear solve {ref * 1e6:,.0f} us -> {ref / fast:,.0f}x (max diff {err:.1e} shares)"
    )


def bench_avellaneda_stoikov(n_paths: int = 1_000, n_ref: int = 50) -> None:
    fast = _best(lambda: simulate_avellaneda_stoikov(0.1, n_paths=n_paths))

    def per_path() -> None:  # one path at a time, scalar arithmetic
        rng = np.random.default_rng(0)
        g, sig, k, amp, dt = 0.1, 2.0, 1.5, 140.0, 0.005
        for _ in range(n_ref):
            s, q, x = 100.0, 0.0, 0.0
            for i in range(200):
                tl = 1.0 - i * dt
                half = 0.5 * (g * sig * sig * tl + (2 / g) * math.log1p(g / k))
                r = s - q * g * sig * sig * tl
                bid, ask = r - half, r + half
                u0, u1, u2 = rng.random(3)
                if u0 < min(1.0, amp * math.exp(-k * (ask - s)) * dt):
                    q, x = q - 1, x + ask
                if u1 < min(1.0, amp * math.exp(-k * (s - bid)) * dt):
                    q, x = q + 1, x - bid
                s += sig * math.sqrt(dt) if u2 < 0.5 else -sig * math.sqrt(dt)

    ref = _best(per_path, repeat=1) * n_paths / n_ref
    print(
        f"avellaneda_stoikov   : {n_paths} paths x 200 steps in {fast * 1e3:.1f} ms vs "
        f"per-path loop {ref * 1e3:,.0f} ms -> {ref / fast:.0f}x"
    )


def bench_simulate(n_symbols: int = 50, n_bars: int = 250, n_orders: int = 1_000) -> None:
    rng = np.random.default_rng(2)
    times = pd.date_range("2024-01-02", periods=n_bars, freq="B")
    md = pd.DataFrame(
        {
            "bar_time": np.tile(times, n_symbols),
            "symbol": np.repeat([f"S{i:03d}" for i in range(n_symbols)], n_bars),
            "price": rng.uniform(20, 200, n_symbols * n_bars),
            "volume": rng.uniform(2e5, 2e6, n_symbols * n_bars),
            "adv": 1e6,
            "volatility": 0.02,
            "spread_bps": 5.0,
        }
    )
    kinds = rng.choice(["MKT", "LMT"], n_orders)
    orders = pd.DataFrame(
        {
            "order_id": np.arange(n_orders),
            "symbol": rng.choice(md["symbol"].unique(), n_orders),
            "side": rng.choice(["buy", "sell"], n_orders),
            "quantity": rng.uniform(1e3, 5e5, n_orders),
            "type": kinds,
            "limit_price": np.where(kinds == "LMT", rng.uniform(50, 150, n_orders), np.nan),
            "submit_time": rng.choice(times[:200], n_orders),
        }
    )
    elapsed = _best(lambda: simulate(orders, CostModel(), md), repeat=1)
    fills, rep = simulate(orders, CostModel(), md)
    print(
        f"simulate             : {n_orders} orders, {n_symbols} symbols x {n_bars} bars in "
        f"{elapsed:.2f} s ({n_orders / elapsed:,.0f} orders/s, {len(fills):,} fills, "
        f"{(rep['unfilled'] > 0).mean():.0%} orders with a remainder)"
    )


if __name__ == "__main__":
    bench_costs()
    bench_allocation()
    bench_almgren_chriss()
    bench_avellaneda_stoikov()
    bench_simulate()
