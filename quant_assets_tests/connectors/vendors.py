"""Vendor-shaped local servers: one driver per connector, serving the fixture files.

A driver knows its vendor's URL path, how to answer a request with the good fixture pages
(``route``), how to call the client, and the bodies that break the format in vendor-specific
ways (a missing field, a wrong symbol). The tests run every driver through the same cases.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from werkzeug import Request, Response

from quant_assets.connectors.alpaca import AlpacaBars
from quant_assets.connectors.alphavantage import AlphaVantage
from quant_assets.connectors.base import ClientOptions
from quant_assets.connectors.edgar import Edgar
from quant_assets.connectors.finnhub import Finnhub
from quant_assets.connectors.fmp import Fmp
from quant_assets.connectors.fred import Fred
from quant_assets.connectors.treasury import FiscalData
from quant_assets_tests.connectors.conftest import FAKE_KEY

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def json_response(body: bytes, status: int = 200, **headers) -> Response:
    return Response(body, status=status, headers=headers, content_type="application/json")


def edit_json(name: str, edit: Callable[[dict], None]) -> bytes:
    doc = json.loads(fixture(name))
    edit(doc)
    return json.dumps(doc).encode()


@dataclass
class Driver:
    """A connector and its local server."""

    vendor: str
    path: str | re.Pattern
    route: Callable[[Request], Response]
    call: Callable[[str, ClientOptions], pd.DataFrame]
    first_body: bytes
    missing_field: tuple[bytes, str]
    wrong_symbol: bytes | None = None
    dataset: str | None = None
    content_type: str = "application/json"
    endpoint: str = ""

    def __post_init__(self):
        self.endpoint = self.endpoint or str(self.path).strip("/")


# ------------------------------------------------------------------ Alpaca
def _alpaca_route(request: Request) -> Response:
    assert request.headers.get("APCA-API-KEY-ID") == FAKE_KEY and request.args["adjustment"] == "raw"
    token = request.args.get("page_token")
    return json_response(fixture("alpaca_bars_p1.json" if token else "alpaca_bars_p0.json"))


ALPACA = Driver(
    "alpaca",
    "/v2/stocks/bars",
    _alpaca_route,
    lambda url, opt: AlpacaBars(FAKE_KEY, FAKE_KEY + "-secret", base_url=url, options=opt).daily_bars(
        ["AAA", "BBB"], "2024-01-02", "2024-01-03"
    ),
    fixture("alpaca_bars_p0.json"),
    (edit_json("alpaca_bars_p0.json", lambda d: d["bars"]["AAA"][1].pop("vw")), "bars.AAA[1].vw"),
    edit_json("alpaca_bars_p0.json", lambda d: d["bars"].update({"ZZZ": d["bars"].pop("AAA")})),
    dataset="bars",
)


# ------------------------------------------------------------------ FRED
def _fred_route(request: Request) -> Response:
    assert request.args["api_key"] == FAKE_KEY and request.args["file_type"] == "json"
    return json_response(fixture(f"fred_{request.args['series_id'].lower()}.json"))


FRED_SERIES = {"DGS3MO": 91, "DGS10": 3652}
FRED = Driver(
    "fred",
    "/fred/series/observations",
    _fred_route,
    lambda url, opt: Fred(FAKE_KEY, base_url=url, options=opt).curve("2024-01-02", "2024-01-03", FRED_SERIES),
    fixture("fred_dgs3mo.json"),
    (edit_json("fred_dgs3mo.json", lambda d: d["observations"][1].pop("value")), "observations[1].value"),
    dataset="rates",
)


# ------------------------------------------------------------------ Treasury Fiscal Data
def _treasury_route(request: Request) -> Response:
    page = request.args["page[number]"]
    return json_response(fixture(f"treasury_avg_rates_p{page}.json"))


TREASURY = Driver(
    "treasury",
    "/v2/accounting/od/avg_interest_rates",
    _treasury_route,
    lambda url, opt: FiscalData(base_url=url, page_size=2, options=opt).average_rates("2023-12-01", "2023-12-31"),
    fixture("treasury_avg_rates_p1.json"),
    (edit_json("treasury_avg_rates_p1.json", lambda d: d["meta"].pop("total-pages")), "meta.total-pages"),
    dataset="rates",
)


# ------------------------------------------------------------------ SEC EDGAR
def _edgar_route(request: Request) -> Response:
    assert "@" in request.headers.get("User-Agent", "")
    name = "edgar_submissions.json" if "submissions" in request.path else "edgar_companyfacts.json"
    return json_response(fixture(name))


EDGAR = Driver(
    "edgar",
    re.compile(r"^/(submissions|api/xbrl/companyfacts)/CIK0001234567\.json$"),
    _edgar_route,
    lambda url, opt: Edgar("Example Research admin@example.com", base_url=url, options=opt).fundamentals(
        "AAA", 1234567
    ),
    fixture("edgar_companyfacts.json"),
    (edit_json("edgar_companyfacts.json", lambda d: d.pop("facts")), "facts"),
    edit_json("edgar_companyfacts.json", lambda d: d.update(cik=7654321)),
    dataset="fundamentals",
    endpoint="api/xbrl/companyfacts/CIK0001234567.json",
)


# ------------------------------------------------------------------ Alpha Vantage
def _av_route(request: Request) -> Response:
    assert request.args["apikey"] == FAKE_KEY
    function = request.args["function"]
    if function == "LISTING_STATUS":
        return Response(fixture("av_listing_delisted.csv"), content_type="application/x-download")
    return json_response(fixture(f"av_{function.lower()}_{request.args['symbol'].lower()}.json"))


ALPHAVANTAGE = Driver(
    "alphavantage",
    "/query",
    _av_route,
    lambda url, opt: AlphaVantage(FAKE_KEY, base_url=url, options=opt).corporate_actions(["AAA"]),
    fixture("av_splits_aaa.json"),
    (edit_json("av_splits_aaa.json", lambda d: d["data"][0].pop("split_factor")), "data[0].split_factor"),
    edit_json("av_splits_aaa.json", lambda d: d.update(symbol="AAPL")),
    dataset="corporate_actions",
)
ALPHAVANTAGE_LISTINGS = Driver(
    "alphavantage",
    "/query",
    _av_route,
    lambda url, opt: AlphaVantage(FAKE_KEY, base_url=url, options=opt).listing_status("delisted"),
    fixture("av_listing_delisted.csv"),
    (fixture("av_listing_delisted.csv").replace(b",delistingDate", b""), "delistingDate"),
    content_type="text/csv",
)


# ------------------------------------------------------------------ Financial Modeling Prep
def _fmp_route(request: Request) -> Response:
    assert request.args["apikey"] == FAKE_KEY
    return json_response(fixture(f"fmp_delisted_p{request.args['page']}.json"))


FMP = Driver(
    "fmp",
    "/api/v3/delisted-companies",
    _fmp_route,
    lambda url, opt: Fmp(FAKE_KEY, base_url=url, options=opt).delisted(),
    fixture("fmp_delisted_p0.json"),
    (
        b'[{"symbol": "CCC", "companyName": "CCC Corp", "exchange": "NYSE", "ipoDate": "2001-05-10"}]',
        "[0].delistedDate",
    ),
)


# ------------------------------------------------------------------ Finnhub
def _finnhub_route(request: Request) -> Response:
    assert request.headers.get("X-Finnhub-Token") == FAKE_KEY
    return json_response(fixture(f"finnhub_chain_{request.args['symbol'].lower()}.json"))


FINNHUB = Driver(
    "finnhub",
    "/stock/option-chain",
    _finnhub_route,
    lambda url, opt: Finnhub(FAKE_KEY, base_url=url, options=opt).option_quotes("AAA", "2024-01-02"),
    fixture("finnhub_chain_aaa.json"),
    (
        edit_json("finnhub_chain_aaa.json", lambda d: d["data"][0]["options"]["PUT"][0].pop("ask")),
        "data[0].options.PUT[0].ask",
    ),
    edit_json("finnhub_chain_aaa.json", lambda d: d.update(code="AAPL")),
    dataset="option_quotes",
)

DRIVERS = [ALPACA, FRED, TREASURY, EDGAR, ALPHAVANTAGE, ALPHAVANTAGE_LISTINGS, FMP, FINNHUB]
