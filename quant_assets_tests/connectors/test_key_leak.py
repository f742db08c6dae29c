"""A planted key never leaves a connector: not in logs, exception texts, nor stored pages and metadata.

Every connector is driven through every error path (throttling, server errors, client
errors, bad bodies, timeouts, refused connections) and a good run; everything it logged
(at DEBUG), every exception text with its traceback, and every stored file is scanned.
The local server's own access log (the ``werkzeug`` logger) is the vendor's side and is
not scanned.
"""

from __future__ import annotations

import logging
import traceback

import pytest
from werkzeug import Response

from quant_assets.connectors import ClientOptions, ConnectorError
from quant_assets_tests.connectors.conftest import FAKE_KEY, FAST, closed_port
from quant_assets_tests.connectors.test_vendors import IDS, _bad_bodies, serve
from quant_assets_tests.connectors.vendors import DRIVERS

STATUS_PATHS = {
    "429": Response("slow", status=429, headers={"Retry-After": "1"}),
    "429_too_long": Response("slow", status=429, headers={"Retry-After": "86400"}),
    "500": Response(f"error for apikey={FAKE_KEY}", status=500),  # a vendor echoing the key back
    "401": Response('{"message": "Invalid API key"}', status=401),
}


@pytest.mark.parametrize("driver", DRIVERS, ids=IDS)
def test_no_key_in_logs_errors_or_stored_files(httpserver, driver, tmp_path, caplog):
    from quant_assets.connectors import PageStore

    store = PageStore(tmp_path / "pages")
    texts: list[str] = []
    caplog.set_level(logging.DEBUG)
    opt = ClientOptions(store=store, retry=FAST, sleep=lambda s: None, rate=(1000, 1.0), timeout=(1.0, 0.05))
    cases = [Response(b, status=200, content_type=driver.content_type) for b, _ in _bad_bodies(driver).values()]
    cases += list(STATUS_PATHS.values())
    for response in cases:
        httpserver.clear()
        serve(httpserver, driver, response, times=10**6)
        try:
            driver.call(httpserver.url_for("/"), opt)
        except ConnectorError as err:
            texts.append("".join(traceback.format_exception(err)) + repr(err))
        else:
            pytest.fail(f"{driver.vendor}: no error for {response.status} {response.get_data()[:40]!r}")
    for url in (f"http://127.0.0.1:{closed_port()}",):  # refused connection
        with pytest.raises(ConnectorError) as err:
            driver.call(url, opt)
        texts.append("".join(traceback.format_exception(err.value)))
    httpserver.clear()
    serve(httpserver, driver)
    driver.call(httpserver.url_for("/"), opt)  # a good run stores pages and their metadata
    logged = [r.getMessage() + str(r.args) for r in caplog.records if not r.name.startswith("werkzeug")]
    stored = [p.read_bytes() for p in store.root.rglob("*") if p.is_file()]
    assert stored and texts and logged
    assert not [t for t in texts if FAKE_KEY in t]
    assert not [m for m in logged if FAKE_KEY in m]
    assert not [b for b in stored if FAKE_KEY.encode() in b]
