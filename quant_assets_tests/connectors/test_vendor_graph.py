"""The ``vendor`` profile through the graph: local vendor-shaped servers, raw -> curated, no key anywhere.

The same assets, schemas and boundary validation as the synthetic source are materialized
from Alpaca, FRED and Alpha Vantage servers started here (``vendor_market``), with planted
keys in the environment. A failing run (a 403 echoing the key, a malformed page) follows;
then the Dagster instance (event log with failure messages and stack traces, run config and
tags), every file under the data root, the page store and ``DAGSTER_HOME``, and everything
logged or printed are scanned for the key. Finally the window is replayed offline from the
stored responses into a fresh store: the curated files are byte-identical.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from werkzeug import Request, Response

from quant_assets.config import load_profile
from quant_assets.defs import build_definitions
from quant_assets.defs.lib.instance_tuning import tune_local_sqlite
from quant_assets.defs.resources import build_resources
from quant_assets.defs.vendor_source import KEY_ENV, vendor_source
from quant_assets_tests.connectors.conftest import FAKE_KEY
from quant_assets_tests.connectors.vendor_market import DELISTED, DIVIDEND, ROUTES, SPLIT, SYMBOLS

RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
WINDOW = ("2024-01-02", "2024-01-08")
GRAPH_GROUPS = {"reference", "raw", "curated"}
ENV = {env: f"{FAKE_KEY}-{field}" for field, env in KEY_ENV.items() if field != "edgar_user_agent"}


class Vendors:
    """The local servers: the good routes, or a planted bad answer for one vendor."""

    def __init__(self, httpserver):
        self.bad: dict[str, Response] = {}
        self.keys_seen: set[str] = set()
        for vendor, (path, route) in ROUTES.items():
            httpserver.expect_request(path).respond_with_handler(self._handler(vendor, route))
        self.url = httpserver.url_for("/").rstrip("/")

    def _handler(self, vendor, route):
        def handle(request: Request) -> Response:
            self.keys_seen |= {v for v in [*request.args.values(), *request.headers.values()] if FAKE_KEY in v}
            return self.bad.get(vendor) or route(request)

        return handle


@pytest.fixture()
def vendors(httpserver, tmp_path, monkeypatch):
    for env, value in ENV.items():
        monkeypatch.setenv(env, value)
    monkeypatch.setenv(KEY_ENV["edgar_user_agent"], "Example Research admin@example.com")
    monkeypatch.setenv("QUANT_ASSETS_DATA", str(tmp_path / "data"))
    (tmp_path / "dagster_home").mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setattr(logging.getLogger("werkzeug"), "disabled", True)  # the vendor's side logs the key
    return Vendors(httpserver)


def _profile(url: str, pages: Path, offline: bool = False):
    base = load_profile("vendor")
    source = {
        "kind": "vendor",
        "symbols": list(SYMBOLS),
        "ciks": {},
        "options_underliers": [],
        "base_urls": {v: url for v in ROUTES},
        "pages_dir": str(pages),
        "offline": offline,
    }
    return dataclasses.replace(base, source=source)


def _run(profile, instance, raise_on_error=True):
    defs = build_definitions(profile)
    assets = [a for a in defs.assets if set(a.group_names_by_key.values()) <= GRAPH_GROUPS]
    resources = build_resources(profile)
    resources["market_source"] = vendor_source(profile, retry_backoff=0.001, rate_limits={"alphavantage": [100, 1.0]})
    return dg.materialize(
        [*assets, *defs.asset_checks],
        resources=resources,
        instance=instance,
        raise_on_error=raise_on_error,
        tags={RANGE_TAGS[0]: WINDOW[0], RANGE_TAGS[1]: WINDOW[1]},
    )


def _read(root: Path, layer: str, dataset: str) -> pd.DataFrame:
    files = sorted((root / "vendor" / "store" / layer / dataset).rglob("*.parquet"))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def _digests(root: Path, layer: str) -> dict[str, str]:
    base = root / "vendor" / "store" / layer
    files = sorted(base.rglob("*.parquet"))
    return {str(p.relative_to(base)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _leaks(tmp_path: Path, instance: dg.DagsterInstance, printed: str, logged: list[str]) -> list[str]:
    """Every place the key could land, scanned; the names of those where it did."""
    found = []
    for path in sorted(p for p in tmp_path.rglob("*") if p.is_file()):
        texts = [path.read_bytes().decode("latin-1")]
        if path.suffix == ".parquet":  # compressed pages: the decoded cells too
            texts.append(pd.read_parquet(path).astype(str).to_csv())
        found += [str(path)] if any(FAKE_KEY in t for t in texts) else []
    for run in instance.get_runs():
        found += [f"run {run.run_id} config/tags"] if FAKE_KEY in repr(run.run_config) + repr(run.tags) else []
        for entry in instance.all_logs(run.run_id):
            found += [f"event {entry.dagster_event_type}"] if FAKE_KEY in repr(entry) else []
    found += ["stdout/stderr"] if FAKE_KEY in printed else []
    found += [m for m in logged if FAKE_KEY in m]
    return found


def test_vendor_profile_fills_raw_and_curated_and_the_key_lands_nowhere(vendors, tmp_path, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    tune_local_sqlite()  # as definitions.py does for `dagster dev`: SQLite without fsync per event
    instance = dg.DagsterInstance.from_config(str(tmp_path / "dagster_home"))
    data = tmp_path / "data"
    profile = _profile(vendors.url, tmp_path / "pages")

    result = _run(profile, instance)
    assert result.success and all(c.passed for c in result.get_asset_check_evaluations())
    assert vendors.keys_seen == set(ENV.values()) - {ENV["FINNHUB_API_KEY"]}  # keys from the environment

    # raw: the boundary-validated deliveries with their lineage
    bars = _read(data, "raw", "raw_bars")
    assert sorted(bars["date"].dt.strftime("%Y-%m-%d").unique()) == [
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
        "2024-01-05",
        "2024-01-08",
    ]
    assert bars["source_uri"].str.contains("nbbo_spread=corwin_schultz_2012").all()
    assert (bars["nbbo_spread"] >= 0.01).all() and (bars["nbbo_spread"] <= bars["high"]).all()
    assert bars.loc[bars["symbol"] == DELISTED[0], "date"].max() < DELISTED[1]
    assert len(_read(data, "reference", "rates")) == 5 * 8
    delistings = result.asset_materializations_for_node("raw_delistings")[-1].metadata
    assert delistings["delisted_without_return"].value == 1
    assert delistings["delisted_without_return_names"].value == f"{DELISTED[0]} {DELISTED[1]:%Y-%m-%d}"

    # curated: the split and the dividend adjusted exactly as for the synthetic source
    cur = _read(data, "curated", "adjusted_prices").set_index(["symbol", "date"]).sort_index()
    closes = bars.set_index(["symbol", "date"])["close"]
    split = cur.loc[(SPLIT[0], SPLIT[1])]
    assert split["split_ratio"] == SPLIT[2]
    assert split["ret_price"] == pytest.approx(SPLIT[2] * split["close"] / closes[(SPLIT[0], "2024-01-03")] - 1)
    div = cur.loc[(DIVIDEND[0], DIVIDEND[1])]
    assert div["ret_total"] - div["ret_price"] == pytest.approx(DIVIDEND[2] / closes[(DIVIDEND[0], "2024-01-04")])
    assert not cur["is_delisting"].any()  # no delisting row without a known return

    # a failing run: a 403 echoing the key (FRED) and a malformed, truncated page (Alpaca)
    vendors.bad["fred"] = Response(f'{{"error_message": "Bad api_key {ENV["FRED_API_KEY"]}"}}', status=403)
    vendors.bad["alpaca"] = Response(b'{"bars": {"AAA": [{"t": "2024-01-0', content_type="application/json")
    failed = _run(_profile(vendors.url, tmp_path / "pages_2"), instance, raise_on_error=False)
    messages = {e.step_key: e.event_specific_data.error.to_string() for e in failed.all_events if e.is_step_failure}
    assert "fred" in messages["rates"] and "403" in messages["rates"]
    assert "alpaca" in messages["raw_bars"] and "malformed" in messages["raw_bars"].lower()

    printed = "".join(capfd.readouterr())
    logged = [r.getMessage() + repr(r.args) + (r.exc_text or "") for r in caplog.records]
    assert len(instance.get_runs()) == 2 and all(instance.all_logs(r.run_id) for r in instance.get_runs())
    canary = tmp_path / "dagster_home" / "canary.txt"  # the scan does find a key where there is one
    canary.write_text(f"x{FAKE_KEY}x")
    assert _leaks(tmp_path, instance, printed, logged) == [str(canary)]
    canary.unlink()

    # replay offline from the stored responses into a fresh store: byte-identical files
    vendors.bad = {v: Response("no network in replay", status=500) for v in ROUTES}
    before = {layer: _digests(data, layer) for layer in ("raw", "reference", "curated")}
    assert before["curated"]
    os.environ["QUANT_ASSETS_DATA"] = str(tmp_path / "replay")  # restored by monkeypatch
    assert _run(_profile(vendors.url, tmp_path / "pages", offline=True), dg.DagsterInstance.ephemeral()).success
    assert {layer: _digests(tmp_path / "replay", layer) for layer in before} == before
