"""End to end: the Dagster webserver serves the code location and shows the whole graph.

Starts ``dagster-webserver`` in a subprocess for the ``tiny`` profile and asks its GraphQL
API what the UI shows for every asset: group, session partitions, single-run backfill policy
and the Pandera schema as the asset's Dagster type, with the schema's columns.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from quant_assets_tests.defs.dagster_processes import (
    CODE_LOCATION_MODULE,
    EXPECTED_ASSETS,
    REPO_ROOT,
    dagster_command,
    isolated_env,
    tail,
)

HOST = "127.0.0.1"
START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 20
PORT_ATTEMPTS = 3
# The tiny profile: the XNYS sessions of Q1 2024 (Good Friday, 29 March, is a holiday).
N_SESSIONS, FIRST_SESSION, LAST_SESSION = 61, "2024-01-02", "2024-03-28"

WORKSPACE_QUERY = """
query {
  instance { info }
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError { __typename ... on PythonError { message stack } }
      }
    }
    ... on PythonError { message }
  }
}
"""

ASSET_NODES_QUERY = """
query {
  assetNodes {
    assetKey { path }
    groupName
    isPartitioned
    partitionDefinition { type }
    partitionKeys
    backfillPolicy { policyType }
    type {
      name
      displayName
      metadataEntries {
        __typename
        label
        ... on TableSchemaMetadataEntry { schema { columns { name type } } }
      }
    }
  }
}
"""


class ServerStartError(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _default_signal_handlers() -> None:
    # A parent started from a non-interactive shell may ignore SIGINT/SIGTERM, and children
    # inherit ignored signals: restore the defaults so the server can be stopped.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server's whole process group (webserver and its code server)."""
    for sig, grace in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, STOP_TIMEOUT_S)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue
    try:  # the group may outlive its leader (e.g. the code server): make sure it is gone
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def graphql(url: str, query: str) -> dict:
    response = requests.post(f"{url}/graphql", json={"query": query}, timeout=60)
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, f"GraphQL errors: {body['errors']}"
    return body["data"]


def _loaded_workspace(url: str, proc: subprocess.Popen, home: str) -> list[dict] | None:
    """The code locations once all have loaded, or None while the server is not ready.

    The server must be ours (its instance lives in ``home``): another process may answer on
    a port taken between choosing it and binding it.
    """
    try:
        if not requests.get(f"{url}/server_info", timeout=5).ok:
            return None
        data = graphql(url, WORKSPACE_QUERY)
    except requests.RequestException:
        return None
    if proc.poll() is not None or home not in (data["instance"]["info"] or home):
        return None
    entries = data["workspaceOrError"].get("locationEntries") or []
    if entries and all(e["loadStatus"] == "LOADED" for e in entries):
        return entries
    return None


def _wait_until_loaded(url: str, proc: subprocess.Popen, log: Path, home: str) -> None:
    """Poll ``/server_info``, then the workspace, until the code location has loaded."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerStartError(f"webserver exited with {proc.returncode}; log tail:\n{tail(log.read_text())}")
        entries = _loaded_workspace(url, proc, home)
        if entries is not None:
            for entry in entries:
                error = entry["locationOrLoadError"]
                if error["__typename"] == "PythonError":
                    pytest.fail(
                        f"code location {entry['name']} failed to load: "
                        f"{error['message']}{''.join(error['stack'][-3:])}"
                    )
            return
        time.sleep(0.5)
    pytest.fail(f"webserver not ready in {START_TIMEOUT_S} s; log tail:\n{tail(log.read_text())}")


@contextmanager
def running_webserver(root: Path, with_daemon: bool = False) -> Iterator[str]:
    """A webserver for the code location on a free port; yields its base URL.

    ``with_daemon`` starts ``dagster dev`` (webserver and daemon, as ``make ui`` does) so that
    runs launched through the server are dequeued and executed; else the webserver alone.
    """
    env = isolated_env(root)
    server = [*dagster_command("dagster", "dagster"), "dev"] if with_daemon else []
    base_cmd = [
        *(server or dagster_command("dagster-webserver", "dagster_webserver")),
        "-m",
        CODE_LOCATION_MODULE,
        "-d",
        str(REPO_ROOT),
        "-h",
        HOST,
    ]
    for attempt in range(1, PORT_ATTEMPTS + 1):
        port = _free_port()
        url = f"http://{HOST}:{port}"
        log = root / f"webserver-{attempt}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [*base_cmd, "-p", str(port)],
                env=env,
                cwd=root,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                # only two sigaction calls between fork and exec
                preexec_fn=_default_signal_handlers,  # noqa: PLW1509
            )
        try:
            try:
                _wait_until_loaded(url, proc, log, env["DAGSTER_HOME"])
            except ServerStartError:
                # Another process may have taken the port between choosing and binding it.
                port_taken = "address already in use" in log.read_text().lower()
                if port_taken and attempt < PORT_ATTEMPTS:
                    continue
                raise
            yield url
            return
        finally:
            _stop(proc)


@pytest.fixture()
def webserver_url(tmp_path) -> Iterator[str]:
    with running_webserver(tmp_path) as url:
        yield url


def _table_schema_columns(dagster_type: dict) -> list[str] | None:
    for entry in dagster_type["metadataEntries"]:
        if entry["__typename"] == "TableSchemaMetadataEntry":
            return [c["name"] for c in entry["schema"]["columns"]]
    return None


def _problems(node: dict) -> list[str]:
    name = "/".join(node["assetKey"]["path"])
    expected = EXPECTED_ASSETS[name]
    schema_name = expected.schema.__name__
    found = []
    if node["groupName"] != expected.group:
        found.append(f"group {node['groupName']!r}, expected {expected.group!r}")
    partitions_type = (node["partitionDefinition"] or {}).get("type")
    if not expected.partitioned:
        if node["isPartitioned"]:
            found.append(f"partition definition {node['partitionDefinition']}, expected none")
    elif not node["isPartitioned"] or partitions_type != "TIME_WINDOW":
        found.append(f"partition definition {node['partitionDefinition']}, expected TIME_WINDOW")
    keys = node["partitionKeys"]
    if expected.partitioned and (len(keys), keys[:1], keys[-1:]) != (N_SESSIONS, [FIRST_SESSION], [LAST_SESSION]):
        found.append(
            f"{len(keys)} partition keys {keys[:1]}..{keys[-1:]}, expected "
            f"{N_SESSIONS} from {FIRST_SESSION} to {LAST_SESSION}"
        )
    if (node["backfillPolicy"] or {}).get("policyType") != "SINGLE_RUN":
        found.append(f"backfill policy {node['backfillPolicy']}, expected SINGLE_RUN")
    dagster_type = node["type"] or {}
    if (dagster_type.get("name"), dagster_type.get("displayName")) != (schema_name, schema_name):
        found.append(
            f"type {dagster_type.get('name')!r}/{dagster_type.get('displayName')!r}, "
            f"expected the Pandera schema {schema_name!r}"
        )
    columns = _table_schema_columns(dagster_type) if dagster_type else None
    schema_columns = list(expected.schema.to_schema().columns)
    if columns != schema_columns:
        found.append(f"type's table schema columns {columns}, expected {schema_columns}")
    return [f"{name}: {p}" for p in found]


@pytest.mark.slow
def test_webserver_lists_every_asset_with_group_partitions_and_pandera_schema(webserver_url):
    nodes = graphql(webserver_url, ASSET_NODES_QUERY)["assetNodes"]
    listed = sorted("/".join(n["assetKey"]["path"]) for n in nodes)
    assert listed == sorted(EXPECTED_ASSETS), f"assets listed by the webserver: {listed}"

    problems = [p for node in nodes for p in _problems(node)]
    assert not problems, "\n".join(problems)

    bars = next(n for n in nodes if n["assetKey"]["path"] == ["raw_bars"])
    bars_columns = set(_table_schema_columns(bars["type"]) or ())
    assert {"open", "high", "low", "close", "volume", "ingested_at"} <= bars_columns, bars_columns
