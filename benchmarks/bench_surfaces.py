"""Benchmark: a full day of implied-volatility surfaces for 50 underliers (the ``full`` profile).

One session of the synthetic market with 50 option underliers (~27,000 quotes, ~450 expiries)
goes through :func:`quant_assets.options.surfaces.fit_svi_surfaces`: quote QC, parity
forwards, implied vols, the batched SVI fits with their arbitrage-free re-fits, the calendar
checks and SSVI fallbacks. Reported: wall time (median of ``repeats`` runs after one warm-up)
and the shares spent in implied vols (with QC and forwards: ``surface_points``), in the SVI
fits (``fit_svi_slices``) and in the rest (checks, fallbacks, tables). Goal: under 2 s.

Run: ``python benchmarks/bench_surfaces.py [n_underliers] [repeats]``
"""

from __future__ import annotations

import sys
import time
from unittest import mock

import numpy as np
import pandas as pd

from quant_assets.calendars import sessions_in_range
from quant_assets.market.synthetic import MarketConfig, SyntheticMarket
from quant_assets.options.surfaces import fit, fit_svi_surfaces, surface_points

GOAL_SECONDS = 2.0


def main(n_underliers: int = 50, repeats: int = 5) -> None:
    cfg = MarketConfig(
        seed=11,
        n_symbols=max(80, n_underliers + 20),
        n_option_underliers=n_underliers,
        start="2024-01-02",
        end="2024-03-28",
    )
    market = SyntheticMarket(cfg, sessions_in_range(cfg.start, cfg.end))
    date = pd.Timestamp("2024-02-01")
    quotes, rates = market.option_quotes(date, date), market.rates(date, date)
    timers = {"points": 0.0, "svi": 0.0}

    def timed(key, fn):
        def run(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                timers[key] += time.perf_counter() - t0

        return run

    fit_svi_surfaces(date, quotes=quotes, rates=rates)  # warm-up (imports, calendars)
    walls, shares = [], []
    with (
        mock.patch("quant_assets.options.surfaces.api.surface_points", timed("points", surface_points)),
        mock.patch.object(fit, "fit_svi_slices", timed("svi", fit.fit_svi_slices)),
    ):
        for _ in range(repeats):
            timers.update(points=0.0, svi=0.0)
            t0 = time.perf_counter()
            points, slices = fit_svi_surfaces(date, quotes=quotes, rates=rates)
            walls.append(time.perf_counter() - t0)
            shares.append((timers["points"], timers["svi"]))
    wall = float(np.median(walls))
    pts, svi = np.median(np.array(shares), axis=0)
    print(
        f"{n_underliers} underliers, {len(quotes):,} quotes, {len(slices)} slices "
        f"({int((slices['source'] == 'ssvi').sum())} from the SSVI fallback), "
        f"{int((points['reason'] == 'used').sum()):,} quotes used"
    )
    print(
        f"wall time (median of {repeats}): {wall:.3f} s  [goal < {GOAL_SECONDS:.1f} s: "
        f"{'met' if wall < GOAL_SECONDS else 'NOT met'}]"
    )
    print(f"  QC + forwards + implied vols: {pts:.3f} s ({pts / wall:.0%})")
    print(f"  SVI fits (batched, incl. arbitrage-free re-fits): {svi:.3f} s ({svi / wall:.0%})")
    print(
        f"  calendar/vertical checks, SSVI fallbacks, tables: {wall - pts - svi:.3f} s "
        f"({(wall - pts - svi) / wall:.0%})"
    )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
