"""``make demo``: materialize the whole graph for a profile and say what was produced where.

The run is a single-run backfill over every session of the profile, recorded in the
Dagster instance under ``$DAGSTER_HOME`` (so the UI shows it). A second invocation re-uses
what is stored: assets whose partitions are all materialized are not run again.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def _ensure_dagster_home() -> Path:
    from quant_assets.config import REPO_ROOT, data_root

    home = Path(os.environ.setdefault("DAGSTER_HOME", str(data_root() / "dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    return home


def _warnings(result) -> str:
    """``; warnings: check (asset) ...`` for the WARN checks that failed in a run, else ``''``."""
    failed = sorted(
        f"{e.check_name} ({e.asset_key.to_user_string()})" for e in result.get_asset_check_evaluations() if not e.passed
    )
    return f"; warnings: {', '.join(failed)}" if failed else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default=os.environ.get("QUANT_ASSETS_PROFILE", "demo"))
    parser.add_argument("--rerun", action="store_true", help="materialize even if already stored")
    parser.add_argument(
        "--chunk-sessions",
        type=int,
        default=252,
        help="sessions per single-run window (bounds memory on large profiles)",
    )
    args = parser.parse_args(argv)
    home = _ensure_dagster_home()

    import dagster as dg

    from quant_assets.config import load_profile
    from quant_assets.defs import build_definitions
    from quant_assets.defs.lib.instance_tuning import tune_local_sqlite
    from quant_assets.defs.lib.partitions import session_partitions
    from quant_assets.defs.resources import PITParquetIOManager, catalog_path
    from quant_assets.reporting.market_summary import write_market_summary

    profile = load_profile(args.profile)
    tune_local_sqlite()
    defs = build_definitions(profile)
    all_assets = list(defs.assets)
    instance = dg.DagsterInstance.get()
    keys = session_partitions(profile).get_partition_keys()
    missing = {a.key.to_user_string(): len(keys) - len(instance.get_materialized_partitions(a.key)) for a in all_assets}
    todo = {k: v for k, v in missing.items() if v}
    print(f"profile {profile.name}: {len(keys)} sessions {keys[0]}..{keys[-1]}, data in {profile.data_dir}")
    t0 = time.perf_counter()
    if todo or args.rerun:
        windows = [keys[i : i + args.chunk_sessions] for i in range(0, len(keys), args.chunk_sessions)]
        print(
            f"materializing {len(all_assets)} assets in {len(windows)} single-run window(s) "
            f"({sum(todo.values())} asset-partitions missing) ...",
            flush=True,
        )
        for n, window in enumerate(windows, 1):
            result = dg.materialize(
                [*all_assets, *defs.asset_checks],
                # One line per asset and window; the full event stream is in the UI.
                run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
                instance=instance,
                resources=defs.resources,
                tags={RANGE_START_TAG: window[0], RANGE_END_TAG: window[-1]},
                raise_on_error=False,
            )
            if not result.success:
                print(
                    f"run {result.run_id} for {window[0]}..{window[-1]} failed; see the Dagster logs above",
                    file=sys.stderr,
                )
                return 1
            print(
                f"[{n}/{len(windows)}] {window[0]}..{window[-1]}: run {result.run_id} ok "
                f"({time.perf_counter() - t0:.1f} s elapsed){_warnings(result)}",
                flush=True,
            )
    else:
        print(
            "every asset partition is already materialized: re-using what is stored "
            "(pass --rerun to run again; raw partitions are immutable and re-ingest as no-ops)"
        )

    store = PITParquetIOManager(profile=profile.name).store()
    catalog = store.write_duckdb_catalog(catalog_path(profile))
    report = write_market_summary(store.root, profile.data_dir / "reports")
    print("\nstored datasets (DuckDB views over partitioned Parquet):")
    for row in report.datasets:
        print(f"  {row['view']:<36} {row['rows']:>12,} rows")
    print(f'\nDuckDB catalog: {catalog}  (e.g. duckdb {catalog} "select count(*) from raw_bars")')
    print(f"reports: {report.markdown}")
    for png in report.figures:
        print(f"         {png}")
    print(f"Dagster instance: {home}  (make ui, then open http://127.0.0.1:3000)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
