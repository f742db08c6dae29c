"""Time generating + ingesting + curating the market data of a profile through the graph.

Each stage runs in a fresh child process so its wall time and peak memory (max RSS) are its
own. Stages:

1. ``generate``: simulate the synthetic market (equities, events, reference, oracle).
2. ``pipeline``: generate + ingest (boundary validation, lineage, immutable Parquet writes
   of every non-option feed over all sessions) + curate (adjusted prices), calling exactly
   the functions the assets call, without Dagster.
3. ``graph``: the same through Dagster as one single-run materialization over the first 126
   sessions, to measure the orchestration's own cost per asset-partition (two event-log
   records each: planned and materialized), extrapolated to the whole range.
4. ``options``: raw + curated option quotes for a one-month window through the graph.
5. ``demo``: ``python -m quant_assets.demo --profile demo`` end to end (fresh data dir).

Targets: ``full`` curated in under 2 minutes with peak memory under 4 GiB; the ``demo``
profile end to end in under 3 minutes.

Usage: ``python benchmarks/bench_market_pipeline.py [--profile full] [--skip-demo]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

RANGE = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


def _child(stage: str) -> dict:
    import dagster as dg

    t0 = time.perf_counter()
    out: dict = {}
    if stage == "generate":
        from quant_assets.config import load_profile
        from quant_assets.defs.resources import _synthetic_market

        PROFILE = load_profile()
        mkt = _synthetic_market(PROFILE.name)
        bars = mkt.bars(PROFILE.start, PROFILE.end)
        out["bar_rows"] = len(bars)
        out["events"] = len(mkt.corporate_actions(PROFILE.start, PROFILE.end))
    elif stage == "pipeline":
        out.update(_pipeline())
    else:
        from quant_assets.definitions import defs

        keys = defs.resolve_job_def("market_data_job").partitions_def.get_partition_keys()
        options = {"raw_option_quotes", "option_quotes"}
        if stage == "graph":
            assets = [a for a in defs.assets if a.key.to_user_string() not in options]
            checks = list(defs.asset_checks)
            window = (keys[0], keys[min(126, len(keys)) - 1])
        else:
            assets = [a for a in defs.assets if a.key.to_user_string() in options]
            checks = []
            window = (keys[-21], keys[-1])
        result = dg.materialize(
            [*assets, *checks], resources=defs.resources, tags={RANGE[0]: window[0], RANGE[1]: window[1]}
        )
        out["success"] = result.success
        out["sessions"] = keys.index(window[1]) - keys.index(window[0]) + 1
        out["total_sessions"] = len(keys)
        rows = {}
        for asset in assets:
            name = asset.key.to_user_string()
            mats = result.asset_materializations_for_node(name)
            if mats:
                rows[name] = mats[-1].metadata["row_count"].value
        out["rows"] = rows
    out["wall_s"] = time.perf_counter() - t0
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def _pipeline() -> dict:
    """Every non-option feed ingested and curated over the whole range, no orchestration."""
    import pandas as pd

    from quant_assets.calendars import sessions_in_range
    from quant_assets.config import load_profile
    from quant_assets.defs.resources import PITParquetIOManager, SyntheticMarketSource
    from quant_assets.market.feeds import RAW_FEEDS, curate_window, ingest_feed

    PROFILE = load_profile()
    source = SyntheticMarketSource(profile=PROFILE.name)
    store = PITParquetIOManager(profile=PROFILE.name).store()
    sessions = sessions_in_range(PROFILE.start, PROFILE.end)
    timings, rows = {}, {}
    t = time.perf_counter()
    source.symbol_master()  # simulate once (counted in the first feed otherwise)
    timings["generate"] = time.perf_counter() - t
    frames = {}
    for feed in RAW_FEEDS:
        if feed.dataset == "option_quotes":
            continue
        t = time.perf_counter()
        df = ingest_feed(feed, source, sessions)
        store.write_window(feed.layer, feed.name, df, feed.date_col, list(sessions), immutable=True)
        timings[feed.name] = time.perf_counter() - t
        rows[feed.name] = len(df)
        if feed.name in ("raw_bars", "raw_corporate_actions", "raw_delistings"):
            frames[feed.name] = df
    t = time.perf_counter()
    curated = curate_window(
        sessions,
        frames["raw_bars"],
        frames["raw_corporate_actions"],
        frames["raw_delistings"],
        config_fingerprint=PROFILE.fingerprint(),
    )
    store.write_window("curated", "adjusted_prices", curated, "date", list(sessions), immutable=False)
    timings["adjusted_prices"] = time.perf_counter() - t
    rows["adjusted_prices"] = len(curated)
    return {
        "timings": timings,
        "rows": rows,
        "sessions": len(sessions),
        "files": sum(1 for _ in store.root.rglob("part.parquet")),
        "pd": pd.__version__,
    }


def _run(stage: str, profile: str, data: str) -> dict:
    env = {**os.environ, "QUANT_ASSETS_PROFILE": profile, "QUANT_ASSETS_DATA": data}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--child", stage],
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"stage {stage} failed")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = time.perf_counter() - t0
    return result


def _demo(data: str) -> float:
    env = {**os.environ, "QUANT_ASSETS_DATA": data, "DAGSTER_HOME": os.path.join(data, "dagster_home")}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "quant_assets.demo", "--profile", "demo"],
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit("demo failed")
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="full")
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child)))
        return

    with tempfile.TemporaryDirectory(prefix="bench_market_") as data:
        gen = _run("generate", args.profile, data)
        pipe = _run("pipeline", args.profile, data)
        graph = _run("graph", args.profile, os.path.join(data, "graph"))
        opts = _run("options", args.profile, os.path.join(data, "graph"))
        demo_s = None if args.skip_demo else _demo(os.path.join(data, "demo_run"))

    gib = 1024.0
    print(f"profile {args.profile}")
    print(
        f"  generate         : {gen['wall_s']:7.1f} s   peak {gen['peak_rss_mib'] / gib:5.2f} GiB"
        f"   ({gen['bar_rows']:,} bar rows, {gen['events']:,} corporate actions)"
    )
    print(
        f"  generate + ingest + curate (no orchestration): {pipe['wall_s']:7.1f} s   "
        f"peak {pipe['peak_rss_mib'] / gib:5.2f} GiB   ({pipe['sessions']} sessions, {pipe['files']:,} files)"
    )
    for name, sec in pipe["timings"].items():
        n = pipe["rows"].get(name)
        print(f"      {name:<28} {sec:7.2f} s" + (f"  {n:>12,} rows" if n is not None else ""))
    n_parts = sum(1 for _ in graph["rows"]) * graph["sessions"]
    per_part_ms = 1000 * graph["wall_s"] / n_parts
    print(
        f"  through Dagster  : {graph['wall_s']:7.1f} s   peak {graph['peak_rss_mib'] / gib:5.2f} GiB"
        f"   (one run, {len(graph['rows'])} assets x {graph['sessions']} sessions = {n_parts:,} "
        f"asset-partitions, {per_part_ms:.1f} ms each incl. the data work)"
    )
    whole = per_part_ms * len(graph["rows"]) * graph["total_sessions"] / 1000
    print(
        f"      extrapolated to all {graph['total_sessions']} sessions: ~{whole / 60:.1f} min "
        f"(ephemeral instance; chunked single runs in `make demo` bound memory)"
    )
    per_session = opts["wall_s"] / opts["sessions"]
    print(
        f"  option quotes    : {opts['wall_s']:7.1f} s   peak {opts['peak_rss_mib'] / gib:5.2f} GiB"
        f"   ({opts['sessions']} sessions, {per_session:.2f} s/session, "
        f"~{per_session * opts['total_sessions'] / 60:.1f} min for all {opts['total_sessions']})"
    )
    for name, n in sorted(opts["rows"].items()):
        print(f"      {name:<28} {n:>12,} rows")
    print(
        f"  target (data work): curated < 120 s -> {'met' if pipe['wall_s'] < 120 else 'MISSED'}; "
        f"peak < 4 GiB -> {'met' if pipe['peak_rss_mib'] < 4 * gib else 'MISSED'}"
    )
    if demo_s is not None:
        print(
            f"  make demo equivalent (demo profile, fresh): {demo_s:.1f} s "
            f"(target < 180 s -> {'met' if demo_s < 180 else 'MISSED'})"
        )


if __name__ == "__main__":
    main()
