"""Every connector against its vendor-shaped local server: good pages, and each bad response.

Each bad response fails with a :class:`ConnectorError` naming the vendor, the endpoint and
the field, and leaves the page store as it was.
"""

from __future__ import annotations

import re

import pytest
from werkzeug import Request, Response

from quant_assets.connectors import BadResponse, ClientOptions, ConnectorError, HttpStatusError, PageKey
from quant_assets.market.quality import validate_feed
from quant_assets.schemas import delivery_schema
from quant_assets_tests.connectors.conftest import FAST, store_snapshot
from quant_assets_tests.connectors.vendors import DRIVERS, Driver

IDS = [d.vendor if d.dataset or d.vendor != "alphavantage" else "alphavantage_listings" for d in DRIVERS]


def options(store=None, sleeps=None, **kw) -> ClientOptions:
    return ClientOptions(
        store=store, retry=FAST, sleep=(sleeps.append if sleeps is not None else lambda s: None), rate=(1000, 1.0), **kw
    )


def serve(httpserver, driver: Driver, first: Response | None = None, times: int = 1) -> list[Request]:
    """Answer ``driver.path`` with ``first`` for the first ``times`` requests, then the good route."""
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        if first is not None and len(seen) <= times:
            return first
        return driver.route(request)

    httpserver.expect_request(driver.path).respond_with_handler(handler)
    return seen


def deliver(driver: Driver, df):
    """The delivery passes the contract: the whole boundary validation where it needs no context."""
    if driver.dataset is None:
        return
    if driver.dataset in ("bars", "rates"):
        validate_feed(
            driver.dataset,
            df.assign(session_id=0) if driver.dataset == "bars" else df,
            sessions=sorted(df["date"].unique()),
            known_symbols=set(df.get("symbol", [])) or None,
        )
    else:
        delivery_schema(driver.dataset).validate(df)


@pytest.mark.parametrize("driver", DRIVERS, ids=IDS)
def test_good_pages_map_onto_the_delivery_contract(httpserver, driver, store):
    serve(httpserver, driver)
    df = driver.call(httpserver.url_for("/"), options(store))
    assert len(df) > 0
    deliver(driver, df)


@pytest.mark.parametrize("driver", DRIVERS, ids=IDS)
def test_replay_from_stored_pages_is_byte_identical(httpserver, driver, store, tmp_path):
    serve(httpserver, driver)
    online = driver.call(httpserver.url_for("/"), options(store))
    n = len(httpserver.log)
    replayed = driver.call(httpserver.url_for("/"), options(store, offline=True))
    assert len(httpserver.log) == n
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    online.to_parquet(a)
    replayed.to_parquet(b)
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("driver", DRIVERS, ids=IDS)
def test_429_with_retry_after_then_success(httpserver, driver, sleeps):
    serve(httpserver, driver, Response("busy", status=429, headers={"Retry-After": "2"}))
    assert len(driver.call(httpserver.url_for("/"), options(sleeps=sleeps))) > 0
    assert sleeps == [2.0]


@pytest.mark.parametrize("driver", DRIVERS, ids=IDS)
def test_500_then_success(httpserver, driver, sleeps):
    serve(httpserver, driver, Response("oops", status=500), times=2)
    assert len(driver.call(httpserver.url_for("/"), options(sleeps=sleeps))) > 0
    assert len(sleeps) == 2


def _bad_bodies(driver: Driver) -> dict[str, tuple[bytes, str]]:
    body = driver.first_body
    cases = {
        "html_200": (b"<!DOCTYPE html><html><body>Service maintenance</body></html>", "HTML"),
        "empty": (b"", "empty body"),
        "truncated": (body[: len(body) // 2], "truncated|malformed"),
        "missing_field": (driver.missing_field[0], re.escape(f"field '{driver.missing_field[1]}'")),
    }
    if driver.content_type == "application/json":
        cases["malformed"] = (b"{'not': json,}", "malformed JSON")
    if driver.wrong_symbol is not None:
        cases["wrong_symbol"] = (driver.wrong_symbol, "asked")
    return cases


BAD = [(d, i, kind) for d, i in zip(DRIVERS, IDS) for kind in _bad_bodies(d)]


@pytest.mark.parametrize("driver, kind", [(d, k) for d, _, k in BAD], ids=[f"{i}-{k}" for _, i, k in BAD])
def test_bad_response_names_vendor_endpoint_field_and_stores_nothing(httpserver, driver, kind, store):
    body, pattern = _bad_bodies(driver)[kind]
    store.put(
        PageKey(driver.vendor, "earlier", {"a": 1}, 0),
        b"kept",
        source_uri="http://h/earlier",
        transform_id="t",
        content_type="text/plain",
    )
    before = store_snapshot(store)
    serve(httpserver, driver, Response(body, status=200, content_type=driver.content_type), times=10**6)
    with pytest.raises(BadResponse, match=pattern) as err:
        driver.call(httpserver.url_for("/"), options(store))
    assert str(err.value).startswith(f"{driver.vendor} {driver.endpoint}: field ")
    assert store_snapshot(store) == before


@pytest.mark.parametrize("driver", DRIVERS, ids=IDS)
def test_client_error_status_is_not_retried(httpserver, driver, sleeps):
    seen = serve(httpserver, driver, Response("forbidden", status=403), times=10**6)
    with pytest.raises(HttpStatusError, match=f"^{driver.vendor} .*status 403"):
        driver.call(httpserver.url_for("/"), options(sleeps=sleeps))
    assert len(seen) == 1 and sleeps == []


def test_connector_errors_share_one_base():
    assert issubclass(BadResponse, ConnectorError) and issubclass(HttpStatusError, ConnectorError)
