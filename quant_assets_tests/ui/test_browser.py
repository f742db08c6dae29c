"""The Dagster UI as a person sees it, in headless Chromium (``make test-ui``).

Starts ``dagster dev`` (webserver and daemon) for the ``tiny`` profile in a throwaway instance,
then, in a real browser:

1. the global asset lineage renders every asset group of the graph as a node of the graph
   (not only in the sidebar);
2. a partition materialization launched through the webserver's GraphQL API (what the UI's
   "Materialize" button calls) is dequeued by the daemon and succeeds, and the run's page says so;
3. the asset's partitions page shows the partition as materialized.

Screenshots of the pages are kept under ``data/ui/`` for a person to look at. The tests are
marked ``ui`` and deselected from ``make test`` (they need Chromium, which ``make test-ui``
installs from Debian packages when it is missing).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from dagster_graphql import DagsterGraphQLClient

from quant_assets_tests.defs.dagster_processes import EXPECTED_ASSETS, REPO_ROOT
from quant_assets_tests.defs.test_webserver import graphql, running_webserver

pytestmark = pytest.mark.ui

SCREENSHOTS = REPO_ROOT / "data" / "ui"
BROWSER_BUDGET_MS = 30_000
RUN_TIMEOUT_S = 600
SESSION = "2024-01-03"
LAUNCHED_ASSETS = ["sessions", "symbols", "raw_bars"]
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


def chromium() -> str:
    """The Chromium binary (``make test-ui`` installs the Debian package when it is missing)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("no Chromium on PATH: run `make test-ui`, which installs the Debian package `chromium`")


def browse(url: str, screenshot: Path | None = None) -> str:
    """The DOM of ``url`` after its scripts ran (headless Chromium); optionally a PNG screenshot."""
    base = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1600,1000",
        f"--virtual-time-budget={BROWSER_BUDGET_MS}",
    ]
    env = {**os.environ, "HOME": os.environ.get("HOME", "/tmp")}
    dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=180, env=env, check=True)
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [*base, f"--screenshot={screenshot}", url], capture_output=True, timeout=180, env=env, check=True
        )
        assert screenshot.stat().st_size > 10_000, f"empty screenshot {screenshot}"
    return dom.stdout


def graph_svg(dom: str) -> str:
    """The markup of the asset graph itself (its SVG container), not the sidebar's group list."""
    match = re.search(r'<svg class="AssetGraphExplorer_svgContainer[^"]*".*?</svg>', dom, flags=re.S)
    assert match, "the asset graph did not render (no graph SVG in the page)"
    return match.group(0)


RUN_ERRORS_QUERY = """
query ($runId: ID!) {
  logsForRun(runId: $runId) {
    ... on EventConnection { events { __typename message ... on ErrorEvent { error { message } } } }
  }
}
"""


def run_errors(url: str, run_id: str) -> str:
    """The failure messages of a run's event log, for the assertion message."""
    data = graphql(url, RUN_ERRORS_QUERY.replace("$runId", f'"{run_id}"').replace("($runId: ID!) ", ""))
    events = data["logsForRun"].get("events") or []
    return "\n".join(
        f"{e['__typename']}: {e['message']} {(e.get('error') or {}).get('message', '')}"
        for e in events
        if "Failure" in e["__typename"] or e.get("error")
    )


def wait_for_run(client: DagsterGraphQLClient, run_id: str) -> str:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        status = client.get_run_status(run_id).value
        if status in TERMINAL:
            return status
        time.sleep(2)
    pytest.fail(f"run {run_id} did not finish in {RUN_TIMEOUT_S} s")


@pytest.fixture(scope="module")
def ui_url(tmp_path_factory):
    with running_webserver(tmp_path_factory.mktemp("ui"), with_daemon=True) as url:
        yield url


def test_asset_graph_renders_every_group(ui_url):
    groups = sorted({asset.group for asset in EXPECTED_ASSETS.values()})
    svg = graph_svg(browse(f"{ui_url}/asset-groups", SCREENSHOTS / "asset_graph.png"))
    missing = [g for g in groups if not re.search(rf">\s*{re.escape(g)}\s*<", svg)]
    assert not missing, f"groups not drawn in the asset graph: {missing}"


def test_partition_materialization_launched_through_the_webserver_succeeds(ui_url):
    host, port = ui_url.removeprefix("http://").split(":")
    client = DagsterGraphQLClient(host, port_number=int(port))
    run_id = client.submit_job_execution(
        "__ASSET_JOB", asset_selection=LAUNCHED_ASSETS, tags={"dagster/partition": SESSION}
    )
    status = wait_for_run(client, run_id)
    assert status == "SUCCESS", f"run {run_id} ended {status}:\n{run_errors(ui_url, run_id)}"
    run_page = browse(f"{ui_url}/runs/{run_id}", SCREENSHOTS / "run.png")
    assert ">Success<" in run_page, "the run page does not show the run as succeeded"
    partitions_page = browse(f"{ui_url}/assets/raw_bars?view=partitions", SCREENSHOTS / "raw_bars_partitions.png")
    assert re.search(r"Materialized\s*\(1\)", partitions_page), "the partitions page does not show 1 materialized"
