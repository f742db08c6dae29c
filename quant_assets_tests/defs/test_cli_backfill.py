"""End to end: a single-run backfill from the ``dagster`` command line, then its replay.

Runs the README's backfill command in a subprocess against a throwaway instance and data
root, and checks what the instance recorded and what landed in the store.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from quant_assets_tests.defs.dagster_processes import (
    CODE_LOCATION_MODULE,
    EXPECTED_ASSETS,
    PROFILE,
    REPO_ROOT,
    dagster_command,
    isolated_env,
    tail,
)

FIRST, LAST = "2024-01-02", "2024-01-10"
# The XNYS sessions of that range: Monday 1 January is New Year's Day, 6-7 January a weekend.
SESSIONS = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09", "2024-01-10"]
RANGE_TAGS = {
    "dagster/asset_partition_range_start": FIRST,
    "dagster/asset_partition_range_end": LAST,
}
# The default multiprocess executor starts one process per step (13 here), each importing the
# code location: ~75 s on 2 cores, against ~10 s in process. Either way it is one run.
IN_PROCESS = json.dumps({"execution": {"config": {"in_process": {}}}})
CLI_TIMEOUT_S = 300
SESSION_ASSETS = {name: expected for name, expected in EXPECTED_ASSETS.items() if expected.partitioned}


def materialize_range(root: Path, env: dict[str, str]) -> None:
    """``dagster asset materialize --select '*' --partition-range FIRST...LAST``; must exit 0."""
    cmd = [
        *dagster_command("dagster", "dagster"),
        "asset",
        "materialize",
        "-m",
        CODE_LOCATION_MODULE,
        "-d",
        str(REPO_ROOT),
        "--select",
        "*",
        "--partition-range",
        f"{FIRST}...{LAST}",
        "--config-json",
        IN_PROCESS,
    ]
    shown = " ".join(cmd)
    try:
        proc = subprocess.run(
            cmd,
            check=False,
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"`{shown}` still running after {CLI_TIMEOUT_S} s:\n{tail(exc.stderr)}")
    assert proc.returncode == 0, (
        f"`{shown}` exited with {proc.returncode}; stderr tail:\n{tail(proc.stderr)}\nstdout tail:\n{tail(proc.stdout)}"
    )


def stored_sessions(store: Path, layer: str, asset: str) -> list[str]:
    """Partition dates holding a ``part.parquet``; fails on partition directories without one."""
    directory = store / layer / asset
    dirs = sorted(p.name for p in directory.glob("date=*"))
    files = sorted(p.parent.name for p in directory.glob("date=*/part.parquet"))
    assert dirs == files, f"{layer}/{asset}: no part.parquet in {set(dirs) - set(files)}"
    return [name.removeprefix("date=") for name in files]


def file_hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_cli_partition_range_is_one_run_and_its_replay_reproduces_identical_files(tmp_path):
    env = isolated_env(tmp_path)
    home = Path(env["DAGSTER_HOME"])
    store = Path(env["QUANT_ASSETS_DATA"]) / PROFILE / "store"

    materialize_range(tmp_path, env)

    # A single-run backfill: one run, over the whole range, of every asset.
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert len(runs) == 1, f"expected exactly one run, got {[r.run_id for r in runs]}"
        run = runs[0]
        assert run.status == dg.DagsterRunStatus.SUCCESS, run.status
        assert {k: run.tags.get(k) for k in RANGE_TAGS} == RANGE_TAGS, run.tags
        assert {k.to_user_string() for k in run.asset_selection or ()} == set(EXPECTED_ASSETS)
        for asset in SESSION_ASSETS:
            materialized = sorted(instance.get_materialized_partitions(dg.AssetKey(asset)))
            assert materialized == SESSIONS, f"instance: {asset} materialized {materialized}"
        for asset in set(EXPECTED_ASSETS) - set(SESSION_ASSETS):  # unpartitioned: once in the run
            assert instance.get_latest_materialization_event(dg.AssetKey(asset)).run_id == run.run_id, asset

    # One file per session in the store, for every session asset, holding that session's rows.
    for asset, expected in SESSION_ASSETS.items():
        stored = stored_sessions(store, expected.layer, asset)
        assert stored == SESSIONS, f"store: {expected.layer}/{asset} holds {stored}"
    for layer, asset in (("raw", "raw_bars"), ("curated", "adjusted_prices")):
        manifest = json.loads((store / layer / asset / "_manifest.json").read_text())
        for session in SESSIONS:
            part = store / layer / asset / f"date={session}" / "part.parquet"
            dates = set(pd.read_parquet(part, columns=["date"])["date"].dt.strftime("%Y-%m-%d"))
            assert dates == {session}, f"{part} holds dates {sorted(dates)}"
            assert manifest["partitions"][session]["sha256"] == sha256_of(part), part
    before = file_hashes(store)

    # Replaying the same days: a second run, and not one byte of the store changes.
    materialize_range(tmp_path, env)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        statuses = [r.status for r in instance.get_runs()]
    assert statuses == [dg.DagsterRunStatus.SUCCESS] * 2, statuses
    after = file_hashes(store)
    assert after.keys() == before.keys(), f"files added/removed: {set(after) ^ set(before)}"
    changed = sorted(k for k in before if before[k] != after[k])
    assert not changed, f"replay changed {len(changed)} files, e.g. {changed[:5]}"
