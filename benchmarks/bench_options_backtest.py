"""Benchmark: the options backtest over 10 years x 50 underliers (vol sleeve, daily re-hedging).

A synthetic market with ``n_underliers`` option underliers over ``years`` years; its planted
SSVI surfaces are written as raw SVI slices for every listed expiry of every session (the
``vol_surfaces`` shape, no fitting: that is :mod:`bench_surfaces`), the simple VRP forecasts
drive the vol sleeve, and :func:`quant_assets.options.book.run_options_backtest` runs the policy
(daily re-hedge, Greeks attribution of every step, costs). Reported: the backtest's wall time
(one run), its split into the daily decision loop and the marking/attribution of the trades,
and the setup time (market, surfaces, forecasts) apart.

Measured (2 shared cores, other jobs running): 10 years x 50 underliers, 2,516 sessions,
913,120 slices, 2,436 trades: backtest 99 s (decisions 72 s, marking + attribution 28 s),
setup 17 s. 2 years x 10 underliers: 6.4 s.

Run: ``python benchmarks/bench_options_backtest.py [years] [n_underliers]``
"""

from __future__ import annotations

import sys
import time
from unittest import mock

from quant_assets.options.book import engine, run_options_backtest
from quant_assets.options.strategies import StrategyPolicy, vrp_forecasts
from quant_assets_tests.options_sleeve.oracle_surfaces import oracle_surfaces, vrp_market


def main(years: int = 10, n_underliers: int = 50) -> None:
    t0 = time.perf_counter()
    start, end = "2014-01-02", f"{2014 + years - 1}-12-31"
    surfaces, spots = oracle_surfaces(vrp_market(1.2, seed=11, n_underliers=n_underliers, start=start, end=end))
    forecasts = vrp_forecasts(surfaces, spots)
    setup = time.perf_counter() - t0
    marking = {"s": 0.0}
    real = engine._daily

    def timed(*args, **kwargs):
        t = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            marking["s"] += time.perf_counter() - t

    t1 = time.perf_counter()
    with mock.patch.object(engine, "_daily", timed):
        res = run_options_backtest(surfaces, spots, StrategyPolicy(), vol_forecasts=forecasts)
    wall = time.perf_counter() - t1
    d = res.daily[res.daily["sleeve"] == "vol"]
    print(
        f"options backtest: {years} years x {n_underliers} underliers, {spots['date'].nunique()} sessions, "
        f"{len(surfaces):,} surface slices, {len(res.trades):,} trades"
    )
    print(f"setup (market, surfaces, forecasts): {setup:.1f} s")
    print(
        f"backtest wall time: {wall:.1f} s (decisions {wall - marking['s']:.1f} s, "
        f"marking + attribution {marking['s']:.1f} s)"
    )
    print(f"vol sleeve: gross {d['total'].sum():,.0f} USD, costs {d['costs'].sum():,.0f}, net {d['net'].sum():,.0f}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
