"""`make demo`'s runner: materializes a profile into the instance, and a second run re-uses it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from dagster import AssetKey, DagsterInstance

from quant_assets_tests.defs.dagster_processes import PROFILE, isolated_env, tail


@pytest.mark.slow
def test_demo_materializes_everything_then_reuses_what_is_stored(tmp_path):
    env = isolated_env(tmp_path)
    cmd = [sys.executable, "-m", "quant_assets.demo", "--profile", PROFILE, "--chunk-sessions", "40"]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, tail(first.stdout + first.stderr)
    assert "[2/2]" in first.stdout  # 61 sessions in windows of 40: two single runs
    reports = tmp_path / "data" / PROFILE / "reports"
    assert (reports / "market_summary.md").is_file()
    assert (reports / "survivorship.png").stat().st_size > 10_000
    # The DuckDB catalog answers SQL over the store through dagster-duckdb's resource.
    from dagster_duckdb import DuckDBResource

    catalog = tmp_path / "data" / PROFILE / "catalog.duckdb"
    with DuckDBResource(database=str(catalog)).get_connection() as con:
        n_sessions, n_rows = con.execute(
            "select count(distinct date), count(*) from curated_adjusted_prices"
        ).fetchone()
        raw_rows = con.execute("select count(*) from raw_bars").fetchone()[0]
    assert n_sessions == 61 and n_rows == raw_rows > 0

    # The research sleeve then runs once; the tiny quarter is too short for its CPCV layout.
    assert "research sleeve (trained as of 2024-03-15): gate not run: " in first.stdout
    # ... and the demo ends with the day's blotter (no scores on the tiny quarter: no positions).
    assert "daily blotter 2024-03-28 (0 positions)" in first.stdout
    assert "/reports/2024-03-28/blotter.json" in first.stdout
    # The last three sessions ran as the daily cycle, with the drift drill on the second.
    assert "daily cycle: 3 session(s) 2024-03-26..2024-03-28 through the schedules" in first.stdout
    assert "drift triggered a challenger retrain on 2024-03-27" in first.stdout
    instance = DagsterInstance.from_config(env["DAGSTER_HOME"])
    n_runs = len(instance.get_runs())
    assert n_runs > 3
    assert len(instance.get_materialized_partitions(AssetKey("adjusted_prices"))) == 61

    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, tail(second.stdout + second.stderr)
    assert "re-using what is stored" in second.stdout
    assert len(instance.get_runs()) == n_runs
