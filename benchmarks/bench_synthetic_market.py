"""Time the synthetic market generator on the `full` profile size.

Prints wall time and peak resident memory of simulating equities and every non-option feed
over 1,500 names x 10 years (2015-01-02..2024-12-31, 50 option underliers), then the time to
generate one session of option quotes, each as a ratio of its target (60 s, 2 GiB, 1 s).

Run: ``.venv/bin/python benchmarks/bench_synthetic_market.py [n_symbols]``
"""

from __future__ import annotations

import resource
import sys
import time

import exchange_calendars as xcals

from quant_assets.market.synthetic import MarketConfig, SyntheticMarket

TARGET_SECONDS = 60.0
TARGET_BYTES = 2 * 1024**3
TARGET_OPTION_SECONDS = 1.0


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main(n_symbols: int = 1500) -> None:
    cfg = MarketConfig(seed=7, n_symbols=n_symbols, start="2015-01-02", end="2024-12-31", n_option_underliers=50)
    cal = xcals.get_calendar("XNYS", start="2015-01-01", end="2027-12-31")
    sessions = cal.sessions_in_range(cfg.start, cfg.end)
    base_rss = _peak_rss_bytes()
    mkt = SyntheticMarket(cfg, sessions)
    a, b = cfg.start, cfg.end
    t0 = time.perf_counter()
    for name in (
        "bars",
        "corporate_actions",
        "delistings",
        "fundamentals",
        "earnings_calendar",
        "symbols",
        "rates",
        "oracle",
        "option_oracle",
    ):
        t1 = time.perf_counter()
        n_rows = len(getattr(mkt, name)(a, b))  # a consumer ingests one feed at a time
        print(f"{name:18s} {n_rows:>10,d} rows  {time.perf_counter() - t1:5.1f} s")
    wall = time.perf_counter() - t0
    peak = _peak_rss_bytes()
    print(f"equities + feeds: {wall:6.1f} s  (target {TARGET_SECONDS:.0f} s, ratio {wall / TARGET_SECONDS:.2f})")
    print(
        f"peak RSS: {peak / 1024**3:5.2f} GiB (process start {base_rss / 1024**3:.2f} GiB; "
        f"target {TARGET_BYTES / 1024**3:.0f} GiB, ratio {peak / TARGET_BYTES:.2f})"
    )
    times = []
    for day in sessions[[100, 1000, 2000]]:
        t0 = time.perf_counter()
        q = mkt.option_quotes(day, day)
        times.append(time.perf_counter() - t0)
    print(
        f"option quotes, one session ({len(q):,d} rows): best {min(times):.3f} s of "
        f"{len(times)} (target {TARGET_OPTION_SECONDS:.0f} s, ratio "
        f"{min(times) / TARGET_OPTION_SECONDS:.2f})"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1500)
