"""Vendor-shaped local servers: one driver per connector, serving the fixture files.

A driver knows its vendor's URL path, how to answer a request with the good fixture pages
(``route``), how to call the client, and the bodies that break the format in vendor-specific
ways (a missing field, a wrong symbol). The tests run every driver through the same cases.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from werkzeug import Request, Response

from quant_assets.connectors.alpaca import AlpacaBars
from quant_assets.connectors.base import ClientOptions
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
    path: str
    route: Callable[[Request], Response]
    call: Callable[[str, ClientOptions], pd.DataFrame]
    first_body: bytes
    missing_field: tuple[bytes, str]
    wrong_symbol: bytes | None = None
    dataset: str | None = None
    content_type: str = "application/json"


# ------------------------------------------------------------------ Alpaca
def _alpaca_route(request: Request) -> Response:
    assert request.headers.get("APCA-API-KEY-ID") == FAKE_KEY and request.args["adjustment"] == "raw"
    token = request.args.get("page_token")
    return json_response(fixture("alpaca_bars_p1.json" if token else "alpaca_bars_p0.json"))


ALPACA = Driver(
    "alpaca", "/v2/stocks/bars", _alpaca_route,
    lambda url, opt: AlpacaBars(FAKE_KEY, FAKE_KEY + "-secret", base_url=url, options=opt).daily_bars(
        ["AAA", "BBB"], "2024-01-02", "2024-01-03"),
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
    "fred", "/fred/series/observations", _fred_route,
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
    "treasury", "/v2/accounting/od/avg_interest_rates", _treasury_route,
    lambda url, opt: FiscalData(base_url=url, page_size=2, options=opt).average_rates("2023-12-01", "2023-12-31"),
    fixture("treasury_avg_rates_p1.json"),
    (edit_json("treasury_avg_rates_p1.json", lambda d: d["meta"].pop("total-pages")), "meta.total-pages"),
    dataset="rates",
)

DRIVERS = [ALPACA, FRED, TREASURY]
