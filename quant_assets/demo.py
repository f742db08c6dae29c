"""``make demo``: materialize the whole graph for a profile and say what was produced where.

The session assets (market, research inputs) run as single-run backfills over every session of
the profile, then the research sleeve's model assets (selection, trials log, champion, daily
scores) run once over the whole history; both are recorded in the Dagster instance under
``$DAGSTER_HOME`` (so the UI shows them). The gate verdict, its headline numbers and where the
plots are are printed at the end. The backfill stops ``--cycle-sessions`` sessions before the
profile's end; those last sessions then run hands-off as the daily cycle, through the runbook's
schedules (each ticked at its New York time) and the drift sensor, with a drift drill on the
second of them (its stored features shifted, a simulated feed incident) so the sensor's
challenger retrain can be seen. The blotter paths of the cycle, the Go/No-Go table and the
session on which drift triggered a retrain are printed. A second invocation re-uses what is
stored: assets whose partitions are all materialized are not run again.
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
MODELS_GROUP = "models"
RETRAIN_ASSET = "challenger_selection"


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


def _print_verdict(instance) -> None:
    """The gate verdict of the latest model selection, its headline numbers and where the plots are."""
    import dagster as dg

    event = instance.get_latest_materialization_event(dg.AssetKey("model_selection"))
    if event is None:
        return
    meta = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    print(f"\nresearch sleeve (trained as of {meta.get('as_of')}): gate {meta.get('verdict')}")
    if "selected" in meta:
        print(
            f"  selected {meta['selected']}: OOS net Sharpe {meta['oos_net_sharpe']:.2f}, "
            f"max drawdown {meta['max_drawdown']:.1%}, rank IC {meta['rank_ic']:.4f}, PBO {meta['pbo']:.3f}, "
            f"DSR {meta['dsr']:.3f} (expected max Sharpe {meta['expected_max_sharpe_ann']:.2f} "
            f"over {meta['n_trials']} trials), walk-forward Sharpe {meta['walk_forward_sharpe']:.2f}"
        )
        print(
            f"  model version {meta['model_version']} ({meta['aliases']}), MLflow run {meta['mlflow_run_id']} "
            "(make mlflow-ui, then open http://127.0.0.1:5000)"
        )
    for key in ("pbo_logits_png", "cpcv_folds_png", "path_returns"):
        if key in meta:
            print(f"  {key.removesuffix('_png')}: {meta[key]}")
    scores = instance.get_latest_materialization_event(dg.AssetKey("equity_scores"))
    if scores is not None:
        smeta = {k: v.value for k, v in scores.asset_materialization.metadata.items()}
        print(
            f"  equity_scores: {smeta.get('rows')} rows over {smeta.get('sessions_scored')} sessions, "
            f"model {smeta.get('model')}"
        )


def _print_blotter(instance) -> None:
    """The backtest's Go/No-Go verdict, then the day's blotter: where its Markdown and JSON are, and its head."""
    import dagster as dg

    for key in ("backtest_equities", "daily_blotter"):
        event = instance.get_latest_materialization_event(dg.AssetKey(key))
        meta = {k: v.value for k, v in event.asset_materialization.metadata.items()} if event else {}
        if key == "backtest_equities" and "go_no_go" in meta:
            print(f"\nbacktest of the stored targets from {meta['from']} (run {meta['run_id']}): {meta['verdict']}")
            print(meta["go_no_go"])
        if key == "daily_blotter" and "blotter_md" in meta:
            md = Path(meta["blotter_md"])
            print(f"\ndaily blotter {meta['asof']} ({meta['positions']} positions)")
            print(f"  markdown: {md}\n  json:     {md.with_name('blotter.json')}")
            print("\n".join(md.read_text().splitlines()[:12]))


def _print_cycle(instance, sessions: list[str], runs) -> None:
    """The daily cycle: each session's runs, blotter paths, the Go/No-Go table and the drift retrains."""
    import dagster as dg

    from quant_assets.defs.operations.sensors import REASON_TAG, RETRAIN_JOB, SESSION_TAG

    if runs:
        print(f"\ndaily cycle over {sessions[0]}..{sessions[-1]} (schedules and the drift sensor):")
        for run in runs:
            status = "ok" if run.success else (f"skipped: {run.skip}" if not run.run_id else f"FAILED: {run.skip}")
            print(f"  {run.session} {run.source:<22} {run.partition or '-':<10} {status}")
    blotters = instance.fetch_materializations(dg.AssetKey("daily_blotter"), limit=len(sessions) + 5).records
    for record in sorted(blotters, key=lambda r: r.asset_materialization.partition or ""):
        meta = {k: v.value for k, v in record.asset_materialization.metadata.items()}
        if record.asset_materialization.partition in sessions and "blotter_md" in meta:
            md = Path(meta["blotter_md"])
            print(f"  blotter {meta['asof']}: {md}  {md.with_name('blotter.json')}")
    for key in ("go_no_go_scorecard", "go_no_go"):
        event = instance.get_latest_materialization_event(dg.AssetKey(key))
        meta = {k: v.value for k, v in event.asset_materialization.metadata.items()} if event else {}
        if "go_no_go" in meta:
            print(f"\nGo/No-Go ({key}, {event.asset_materialization.partition or 'latest'}):\n{meta['go_no_go']}")
            break
    retrains = instance.get_runs(dg.RunsFilter(job_name=RETRAIN_JOB))
    if not retrains:
        print("\ndrift: no episode crossed its threshold; no challenger retrain")
    for run in retrains:
        print(
            f"\ndrift triggered a challenger retrain on {run.tags.get(SESSION_TAG)} "
            f"(run {run.run_id}, {run.status.value}): {run.tags.get(REASON_TAG)}"
        )


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
    parser.add_argument(
        "--cycle-sessions",
        type=int,
        default=3,
        help="last sessions of the profile run as the daily cycle (schedules and sensor) after the backfill",
    )
    parser.add_argument("--no-drift-drill", action="store_true", help="do not shift a cycle session's features")
    args = parser.parse_args(argv)
    home = _ensure_dagster_home()

    import dagster as dg

    from quant_assets.config import load_profile
    from quant_assets.defs import build_definitions
    from quant_assets.defs.lib.instance_tuning import tune_local_sqlite
    from quant_assets.defs.lib.partitions import session_partitions
    from quant_assets.defs.operations.cycle import run_daily_cycle
    from quant_assets.defs.resources import PITParquetIOManager, catalog_path
    from quant_assets.reporting.market_summary import write_market_summary

    profile = load_profile(args.profile)
    tune_local_sqlite()
    defs = build_definitions(profile)
    all_assets = list(defs.assets)
    # The model assets and everything downstream of them run after the session graph, once; the
    # challenger search runs only when the drift sensor asks for it.
    retrain_keys = dg.AssetSelection.assets(RETRAIN_ASSET).downstream().resolve(all_assets)
    sleeve_keys = dg.AssetSelection.groups(MODELS_GROUP).downstream().resolve(all_assets) - retrain_keys
    sleeve = [a for a in all_assets if set(a.keys) & sleeve_keys]
    session_assets = [a for a in all_assets if a not in sleeve and not set(a.keys) & retrain_keys]
    instance = dg.DagsterInstance.get()
    all_keys = session_partitions(profile).get_partition_keys()
    n_cycle = max(0, min(args.cycle_sessions, len(all_keys) - 1))
    keys, cycle_keys = all_keys[: len(all_keys) - n_cycle], all_keys[len(all_keys) - n_cycle :]
    missing = {
        a.key.to_user_string(): len(set(keys) - instance.get_materialized_partitions(a.key))
        for a in all_assets
        if a.partitions_def is not None and not set(a.keys) & retrain_keys
    }
    todo = {k: v for k, v in missing.items() if v}
    session_todo = any(todo.get(key.to_user_string()) for a in session_assets for key in a.keys)
    print(f"profile {profile.name}: {len(keys)} sessions {keys[0]}..{keys[-1]}, data in {profile.data_dir}")
    t0 = time.perf_counter()
    if session_todo or args.rerun:
        windows = [keys[i : i + args.chunk_sessions] for i in range(0, len(keys), args.chunk_sessions)]
        print(
            f"materializing {len(session_assets)} assets in {len(windows)} single-run window(s) "
            f"({sum(todo.values())} asset-partitions missing) ...",
            flush=True,
        )
        for n, window in enumerate(windows, 1):
            result = dg.materialize(
                [*all_assets, *defs.asset_checks],
                selection=[k for a in session_assets for k in a.keys],
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

    never_selected = instance.get_latest_materialization_event(dg.AssetKey("model_selection")) is None
    if todo or args.rerun or never_selected:
        print(
            f"research sleeve: model selection as of the training date, scores over {len(keys)} sessions ...",
            flush=True,
        )
        result = dg.materialize(
            all_assets,
            selection=list(sleeve_keys),
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
            instance=instance,
            resources=defs.resources,
            tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]},
            raise_on_error=False,
        )
        if not result.success:
            print(f"research sleeve run {result.run_id} failed; see the Dagster logs above", file=sys.stderr)
            return 1
        print(f"research sleeve: run {result.run_id} ok ({time.perf_counter() - t0:.1f} s elapsed){_warnings(result)}")

    runs = []
    stored_drift = instance.get_materialized_partitions(dg.AssetKey("drift_metrics"))
    cycle_todo = bool(cycle_keys) and not set(cycle_keys) <= stored_drift
    if cycle_todo or (cycle_keys and args.rerun):
        drill = None if args.no_drift_drill or len(cycle_keys) < 2 else cycle_keys[1]
        print(
            f"daily cycle: {len(cycle_keys)} session(s) {cycle_keys[0]}..{cycle_keys[-1]} through the schedules"
            + (f"; drift drill on {drill} (its stored features shifted by +2.5 sd)" if drill else ""),
            flush=True,
        )
        t1 = time.perf_counter()
        runs, _ = run_daily_cycle(defs, instance, cycle_keys, drift_drill=drill)
        print(f"daily cycle: {len(runs)} run(s) in {time.perf_counter() - t1:.1f} s", flush=True)

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
    _print_verdict(instance)
    _print_blotter(instance)
    if cycle_keys:
        _print_cycle(instance, cycle_keys, runs)
    print(f"Dagster instance: {home}  (make ui, then open http://127.0.0.1:3000)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
