"""The shared HTTP layer against a local server: retries, Retry-After, timeouts, paging, resume, replay."""

from __future__ import annotations

import email.utils
import json
import stat
import time

import pytest
from werkzeug import Response

from quant_assets.connectors import (
    BadResponse,
    HttpStatusError,
    MissingPage,
    PageKey,
    PageStoreError,
    TransportError,
    VendorHttp,
    parse_retry_after,
)
from quant_assets.connectors.bodies import json_body
from quant_assets_tests.connectors.conftest import FAKE_KEY, FAST, closed_port, store_snapshot


def client(url: str, sleeps=None, **kw) -> VendorHttp:
    kw.setdefault("rate", (1000, 1.0))
    return VendorHttp(
        "testvendor",
        url,
        retry=kw.pop("retry", FAST),
        sleep=(sleeps.append if sleeps is not None else (lambda s: None)),
        auth_params={"apikey": FAKE_KEY},
        **kw,
    )


def test_429_with_retry_after_seconds_is_honoured(httpserver, sleeps):
    httpserver.expect_ordered_request("/x").respond_with_data("slow down", status=429, headers={"Retry-After": "7"})
    httpserver.expect_ordered_request("/x").respond_with_json({"ok": 1})
    body, _, uri = client(httpserver.url_for("/"), sleeps).get("x")
    assert json.loads(body) == {"ok": 1}
    assert sleeps == [7.0]
    assert FAKE_KEY not in uri and "apikey=REDACTED" in uri


def test_429_with_retry_after_http_date_is_honoured(httpserver, sleeps):
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    httpserver.expect_ordered_request("/x").respond_with_data("", status=429, headers={"Retry-After": when})
    httpserver.expect_ordered_request("/x").respond_with_json({"ok": 1})
    client(httpserver.url_for("/"), sleeps).get("x")
    assert len(sleeps) == 1 and 27.0 <= sleeps[0] <= 30.0


def test_retry_after_beyond_the_cap_fails_at_once(httpserver, sleeps):
    httpserver.expect_request("/x").respond_with_data("", status=429, headers={"Retry-After": "3600"})
    with pytest.raises(HttpStatusError, match=r"testvendor x: field 'http': status 429") as err:
        client(httpserver.url_for("/"), sleeps).get("x")
    assert err.value.retry_after == 3600.0 and sleeps == []


def test_500_then_success_backs_off_with_jitter(httpserver, sleeps):
    httpserver.expect_ordered_request("/x").respond_with_data("oops", status=500)
    httpserver.expect_ordered_request("/x").respond_with_data("oops", status=503)
    httpserver.expect_ordered_request("/x").respond_with_json({"ok": 1})
    client(httpserver.url_for("/"), sleeps).get("x")
    assert len(sleeps) == 2
    assert all(0 < s <= FAST.max_backoff + FAST.jitter for s in sleeps)


def test_persistent_500_gives_up_after_the_attempts(httpserver, sleeps):
    httpserver.expect_request("/x").respond_with_data("down", status=500)
    with pytest.raises(HttpStatusError, match="status 500"):
        client(httpserver.url_for("/"), sleeps).get("x")
    assert len(httpserver.log) == FAST.attempts


def test_404_is_not_retried(httpserver, sleeps):
    httpserver.expect_request("/x").respond_with_data("no", status=404)
    with pytest.raises(HttpStatusError, match="status 404"):
        client(httpserver.url_for("/"), sleeps).get("x")
    assert len(httpserver.log) == 1 and sleeps == []


def test_timeout_is_retried_then_named(httpserver, caplog):
    calls = []

    def slow(request):
        calls.append(1)
        time.sleep(0.3)
        return Response("{}")

    httpserver.expect_request("/x").respond_with_handler(slow)
    with pytest.raises(TransportError, match=r"testvendor x: field 'transport': timed out"):
        client(httpserver.url_for("/"), timeout=(1.0, 0.05)).get("x")
    assert calls  # the (single-threaded) server saw the first attempt; the client retried the others
    assert sum("retrying" in r.getMessage() for r in caplog.records) == FAST.attempts - 1


def test_connection_refused_is_a_transport_error():
    with pytest.raises(TransportError, match="ConnectionError") as err:
        client(f"http://127.0.0.1:{closed_port()}").get("x", {"q": 1})
    assert FAKE_KEY not in str(err.value)


def test_body_shorter_than_content_length_is_a_truncated_transfer(raw_server):
    server = raw_server(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a": 1')
    with pytest.raises(TransportError, match="transport"):
        client(server.url()).get("x")
    assert server.hits == FAST.attempts


@pytest.mark.parametrize("value, expected", [("7", 7.0), ("0", 0.0), ("-3", 0.0), ("", None), ("never", None)])
def test_parse_retry_after_forms(value, expected):
    assert parse_retry_after(value) == expected


# ------------------------------------------------------------------ paging and the page store
def _token_pages(httpserver, tokens: list[str | None], fail_at: int | None = None):
    """Serve pages p0..pn chained by ``next`` tokens; ``fail_at`` answers 500 there."""
    for i, nxt in enumerate(tokens):
        query = {"q": "1"} if i == 0 else {"q": "1", "page_token": f"t{i}"}
        if i == fail_at:
            httpserver.expect_request("/items", query_string=query).respond_with_data("down", status=500)
        else:
            httpserver.expect_request("/items", query_string={**query, "apikey": FAKE_KEY}).respond_with_json(
                {"items": [i], "next": nxt}
            )


def _paginate(http: VendorHttp):
    def parse(body):
        return json_body("testvendor", "items", body)

    def next_params(parsed, request):
        return None if parsed["next"] is None else {"q": "1", "page_token": parsed["next"]}

    return [
        p.parsed["items"][0]
        for p in http.paginate(
            "items", {"q": "1"}, parse=parse, next_params=next_params, page_field="next", transform_id="t-1"
        )
    ]


def test_paging_runs_to_the_end_and_stores_each_page(httpserver, store):
    _token_pages(httpserver, ["t1", "t2", None])
    assert _paginate(client(httpserver.url_for("/"), store=store)) == [0, 1, 2]
    assert store.pages("testvendor", "items", {"q": "1"}) == [0, 1, 2]
    meta = store.meta(PageKey("testvendor", "items", {"q": "1"}, 1))
    assert "page_token=t1" in meta.source_uri and FAKE_KEY not in meta.source_uri
    assert meta.ingested_at.endswith("+00:00") and meta.transform_id == "t-1" and len(meta.sha256) == 64


def test_a_crash_mid_paging_resumes_with_only_the_missing_pages(httpserver, store):
    _token_pages(httpserver, ["t1", "t2", "t3", None], fail_at=2)
    with pytest.raises(HttpStatusError):
        _paginate(client(httpserver.url_for("/"), store=store))
    assert store.pages("testvendor", "items", {"q": "1"}) == [0, 1]
    before = store_snapshot(store)
    httpserver.clear()
    _token_pages(httpserver, ["t1", "t2", "t3", None])
    assert _paginate(client(httpserver.url_for("/"), store=store)) == [0, 1, 2, 3]
    asked = [r.args.get("page_token") for r, _ in httpserver.log]
    assert asked == ["t2", "t3"]  # pages 0 and 1 came from the store
    after = store_snapshot(store)
    assert {k: after[k] for k in before} == before


def test_repeated_page_token_is_an_error_and_stored_pages_stay(httpserver, store):
    _token_pages(httpserver, ["t1", "t1"])
    with pytest.raises(BadResponse, match=r"testvendor items: field 'next': page 1 points back"):
        _paginate(client(httpserver.url_for("/"), store=store))
    assert store.pages("testvendor", "items", {"q": "1"}) == [0, 1]


def test_a_bad_page_is_not_stored(httpserver, store):
    httpserver.expect_request("/items").respond_with_data('{"items": [0], "next": ', content_type="application/json")
    with pytest.raises(BadResponse, match="truncated JSON"):
        _paginate(client(httpserver.url_for("/"), store=store))
    assert store_snapshot(store) == {}


def test_offline_replay_reads_stored_pages_only(httpserver, store):
    _token_pages(httpserver, ["t1", None])
    online = _paginate(client(httpserver.url_for("/"), store=store))
    n = len(httpserver.log)
    assert _paginate(client(httpserver.url_for("/"), store=store, offline=True)) == online
    assert len(httpserver.log) == n
    with pytest.raises(MissingPage, match="never stored"):
        client(httpserver.url_for("/"), store=store, offline=True).one("other", {}, parse=lambda b: b, transform_id="t")


def test_stored_pages_are_read_only_and_immutable(store):
    key = PageKey("v", "e", {"a": 1}, 0)
    store.put(key, b"one", source_uri="http://h/e?a=1", transform_id="t", content_type="text/plain")
    body = store.root / key.relative_dir / "00000.body"
    assert not body.stat().st_mode & stat.S_IWUSR
    store.put(key, b"one", source_uri="http://h/e?a=1", transform_id="t", content_type="text/plain")  # no-op
    with pytest.raises(PageStoreError, match="immutable"):
        store.put(key, b"two", source_uri="http://h/e?a=1", transform_id="t", content_type="text/plain")
    assert store.get(key) == b"one"


def test_a_corrupted_stored_page_fails_its_checksum(store):
    key = PageKey("v", "e", {}, 0)
    store.put(key, b"one", source_uri="http://h/e", transform_id="t", content_type="text/plain")
    body = store.root / key.relative_dir / "00000.body"
    body.chmod(0o644)
    body.write_bytes(b"oNe")
    with pytest.raises(PageStoreError, match="sha256"):
        store.get(key)


def test_a_body_without_its_metadata_counts_as_absent(store):
    key = PageKey("v", "e", {}, 0)
    (store.root / key.relative_dir).mkdir(parents=True)
    (store.root / key.relative_dir / "00000.body").write_bytes(b"half")
    assert store.get(key) is None
    store.put(key, b"full", source_uri="http://h/e", transform_id="t", content_type="text/plain")
    assert store.get(key) == b"full"


def test_the_client_side_rate_limit_spaces_requests(httpserver):
    httpserver.expect_request("/x").respond_with_json({})
    http = VendorHttp("ratelimited", httpserver.url_for("/"), rate=(3, 0.5), retry=FAST)
    t0 = time.monotonic()
    for _ in range(6):
        http.get("x")
    assert time.monotonic() - t0 >= 0.45  # the 4th request waits for the 0.5 s window
