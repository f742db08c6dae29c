"""The vendor source behind ``MarketDataSource``: local vendor servers through the graph's boundary validation."""

from __future__ import annotations

import dagster as dg
import pytest

from quant_assets.calendars import sessions_in_range
from quant_assets.config import load_profile
from quant_assets.defs.resources import build_resources
from quant_assets.defs.vendor_source import KEY_ENV, VendorMarketSource
from quant_assets.market.feeds import RAW_FEEDS, ingest_feed
from quant_assets_tests.connectors.conftest import FAKE_KEY
from quant_assets_tests.connectors.test_vendors import serve
from quant_assets_tests.connectors.vendors import ALPACA, EDGAR, FRED, FRED_SERIES

FEEDS = {f.dataset: f for f in RAW_FEEDS}


@pytest.fixture
def source(httpserver, tmp_path):
    for driver in (ALPACA, FRED, EDGAR):
        serve(httpserver, driver)
    url = httpserver.url_for("/").rstrip("/")
    return VendorMarketSource(
        profile="vendor_test",
        start="2024-01-02",
        end="2024-01-03",
        symbols=["AAA", "BBB"],
        ciks={"AAA": 1234567},
        base_urls={"alpaca": url, "fred": url, "edgar": url},
        pages_dir=str(tmp_path / "pages"),
        alpaca_key_id=FAKE_KEY,
        alpaca_secret_key=FAKE_KEY + "-secret",
        fred_api_key=FAKE_KEY,
        edgar_user_agent="Example Research admin@example.com",
        curve_series=FRED_SERIES,
        retry_backoff=0.001,
    )


@pytest.mark.parametrize("dataset", ["bars", "rates"])
def test_vendor_feeds_pass_the_graphs_boundary_validation(source, dataset):
    sessions = sessions_in_range("2024-01-02", "2024-01-03")
    out = ingest_feed(FEEDS[dataset], source, sessions)
    assert len(out) > 0 and set(out["date"]) <= set(sessions)
    assert (out["source_uri"] == source.source_uri(dataset)).all()
    assert out["source_uri"].str.startswith(f"vendor://vendor_test/{dataset}").all()
    if dataset == "bars":  # an estimated spread, never the zero of 'not delivered', and named as such
        assert (out["nbbo_spread"] >= 0.01).all() and "nbbo_spread=corwin_schultz_2012" in out["source_uri"][0]


def test_a_fundamentals_window_holds_the_filings_that_arrived_in_it(source):
    assert source.fetch("fundamentals", "2024-01-02", "2024-01-03").empty  # filed 2023-10-27 and 2024-02-01


def test_the_vendor_profile_selects_the_vendor_source_with_keys_from_the_environment():
    resources = build_resources(load_profile("vendor"))
    src = resources["market_source"]
    assert isinstance(src, VendorMarketSource) and src.symbols == ["AAPL", "MSFT"]
    assert src.pages_dir.endswith("vendor_pages")
    assert KEY_ENV["fred_api_key"] == "FRED_API_KEY"
    assert isinstance(VendorMarketSource.model_fields["fred_api_key"].default, str)
    assert dg.EnvVar("FRED_API_KEY").env_var_name == "FRED_API_KEY"
