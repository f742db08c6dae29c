"""Time generating + ingesting + curating the market data of a profile through the graph.

Each stage runs in a fresh child process so its wall time and peak memory (max RSS) are its
own. Stages:

1. ``generate``: simulate the synthetic market (equities, events, reference, oracle).
2. ``graph``: one single-run materialization of every non-option asset over all sessions
   (generate + validate + lineage + Parquet writes + curated adjustments).
3. ``options``: raw + curated option quotes for a one-month window (option chains are
   generated per session; the whole-range figure is extrapolated).
4. ``demo``: ``python -m quant_assets.demo --profile demo`` end to end (fresh data dir).

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
        from quant_assets.defs.resources import _synthetic_market
        from quant_assets.defs.runtime import PROFILE

        mkt = _synthetic_market(PROFILE.name)
        bars = mkt.bars(PROFILE.start, PROFILE.end)
        out["bar_rows"] = len(bars)
        out["events"] = len(mkt.corporate_actions(PROFILE.start, PROFILE.end))
    else:
        from quant_assets.definitions import all_assets, defs
        from quant_assets.defs.runtime import PARTITIONS

        keys = PARTITIONS.get_partition_keys()
        options = {"raw_option_quotes", "option_quotes"}
        if stage == "graph":
            assets = [a for a in all_assets if a.key.to_user_string() not in options]
            window = (keys[0], keys[-1])
        else:
            assets = [a for a in all_assets if a.key.to_user_string() in options]
            window = (keys[-21], keys[-1])
        result = dg.materialize(
            assets, resources=defs.resources, tags={RANGE[0]: window[0], RANGE[1]: window[1]}
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


def _run(stage: str, profile: str, data: str) -> dict:
    env = {**os.environ, "QUANT_ASSETS_PROFILE": profile, "QUANT_ASSETS_DATA": data}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--child", stage],
        env=env, capture_output=True, text=True,
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
        env=env, capture_output=True, text=True,
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
        graph = _run("graph", args.profile, data)
        opts = _run("options", args.profile, data)
        demo_s = None if args.skip_demo else _demo(os.path.join(data, "demo_run"))

    gib = 1024.0
    print(f"profile {args.profile}")
    print(f"  generate         : {gen['wall_s']:7.1f} s   peak {gen['peak_rss_mib'] / gib:5.2f} GiB"
          f"   ({gen['bar_rows']:,} bar rows, {gen['events']:,} corporate actions)")
    print(f"  ingest + curate  : {graph['wall_s']:7.1f} s   peak {graph['peak_rss_mib'] / gib:5.2f} GiB"
          f"   (one run over {graph['sessions']} sessions; process incl. start-up {graph['process_wall_s']:.1f} s)")
    for name, n in sorted(graph["rows"].items()):
        print(f"      {name:<28} {n:>12,} rows")
    per_session = opts["wall_s"] / opts["sessions"]
    print(f"  option quotes    : {opts['wall_s']:7.1f} s   peak {opts['peak_rss_mib'] / gib:5.2f} GiB"
          f"   ({opts['sessions']} sessions, {per_session:.2f} s/session, "
          f"~{per_session * opts['total_sessions'] / 60:.1f} min for all {opts['total_sessions']})")
    for name, n in sorted(opts["rows"].items()):
        print(f"      {name:<28} {n:>12,} rows")
    print(f"  target: curated < 120 s -> {'met' if graph['wall_s'] < 120 else 'MISSED'}; "
          f"peak < 4 GiB -> {'met' if graph['peak_rss_mib'] < 4 * gib else 'MISSED'}")
    if demo_s is not None:
        print(f"  make demo equivalent (demo profile, fresh): {demo_s:.1f} s "
              f"(target < 180 s -> {'met' if demo_s < 180 else 'MISSED'})")


if __name__ == "__main__":
    main()
