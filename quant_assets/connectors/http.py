"""The HTTP layer every connector shares: timeouts, retries, rate limits, stored pages.

Retry
    tenacity, not urllib3's ``Retry``. ``Retry`` runs inside the connection pool: the
    exception it ends with (``MaxRetryError``) embeds the request URL and with it the query
    string that carries FRED's, Alpha Vantage's and FMP's keys, it cannot retry a body that is
    cut short after the headers (a truncated transfer surfaces later, in requests), and a
    ``Retry-After`` far beyond what we accept to wait cannot turn into a clear error. With
    tenacity the retried unit is one whole request, its wait is our function (the server's
    ``Retry-After`` in seconds or as an HTTP-date when present, otherwise exponential backoff
    with jitter), the sleep is injectable (tests run in milliseconds) and only our own,
    redacted exceptions escape. Retried: connection errors, timeouts, truncated transfers,
    429 and 5xx. Not retried: other 4xx and bodies that break the format.
Rate limit
    pyrate-limiter, one limiter per vendor shared by all clients of that vendor in the process
    (e.g. SEC EDGAR: at most 10 requests per second).
Pages
    :meth:`VendorHttp.paginate` follows the vendor's paging to the end. Each accepted page is
    stored raw (:class:`~quant_assets.connectors.pages.PageStore`) before the next is asked
    for; a rerun after a crash reads the stored pages (re-parsing them to find the next
    request) and downloads only the missing ones. In ``offline`` mode nothing is downloaded:
    a replay from stored pages.
Secrets
    keys are sent as the vendor documents (header or query parameter) and registered with
    :mod:`quant_assets.connectors.redact`; logs, errors and stored metadata see redacted
    URLs only, and urllib3's own DEBUG request lines are scrubbed by a logging filter.
"""

from __future__ import annotations

import email.utils
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from pyrate_limiter import Duration, Limiter, Rate
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from quant_assets.connectors.errors import (
    BadResponse,
    HttpStatusError,
    MissingPage,
    TransportError,
)
from quant_assets.connectors.pages import PageKey, PageStore
from quant_assets.connectors.redact import redact_url, register_secret, scrub, scrub_library_logs

__all__ = ["Page", "RetryPolicy", "VendorHttp", "parse_retry_after"]

log = logging.getLogger("quant_assets.connectors")
scrub_library_logs()


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a transient failure.

    ``attempts`` includes the first try; waits grow as ``backoff * 2**n`` up to
    ``max_backoff`` plus uniform jitter in ``[0, jitter]`` seconds; a server's ``Retry-After``
    replaces the backoff and above ``max_retry_after`` seconds the request fails instead.
    """

    attempts: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0
    jitter: float = 0.5
    max_retry_after: float = 120.0


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).

    Example
    -------
    >>> parse_retry_after("7")
    7.0
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412480.0)
    30.0
    >>> parse_retry_after("soon") is None
    True
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


_LIMITERS: dict[tuple[str, int, int], Limiter] = {}
_LIMITERS_LOCK = threading.Lock()


def _limiter(vendor: str, requests_per: int, per_seconds: float) -> Limiter:
    key = (vendor, int(requests_per), int(per_seconds * Duration.SECOND))
    with _LIMITERS_LOCK:
        if key not in _LIMITERS:
            _LIMITERS[key] = Limiter(Rate(key[1], key[2]))
        return _LIMITERS[key]


@dataclass(frozen=True)
class Page:
    """One page of a paged query: its number, raw bytes, parsed form and whether it was stored before."""

    number: int
    body: bytes
    parsed: Any
    source_uri: str
    from_store: bool


class VendorHttp:
    """A vendor's HTTP client (see the module docstring).

    Parameters
    ----------
    vendor : str
        Short name used in errors, logs and the page store (``"fred"``).
    base_url : str
        Scheme, host and path prefix; endpoints are appended.
    store : PageStore, optional
        Where accepted pages are kept; without it nothing is stored nor resumed.
    rate : (int, float)
        At most ``rate[0]`` requests per ``rate[1]`` seconds, for this vendor in this process.
    timeout : (float, float)
        Connect and read timeouts, seconds.
    retry : RetryPolicy
    auth_params, auth_headers : mapping
        Key-carrying query parameters or headers (their values are registered as secrets).
    headers : mapping
        Other headers (e.g. the descriptive ``User-Agent`` SEC EDGAR requires).
    offline : bool
        Replay: read stored pages only, never download.
    sleep : callable
        Used for retry waits (tests pass a recorder).
    """

    def __init__(
        self,
        vendor: str,
        base_url: str,
        *,
        store: PageStore | None = None,
        rate: tuple[int, float] = (5, 1.0),
        timeout: tuple[float, float] = (5.0, 30.0),
        retry: RetryPolicy = RetryPolicy(),
        auth_params: Mapping[str, str] | None = None,
        auth_headers: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        offline: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.vendor, self.base_url = vendor, base_url.rstrip("/")
        self.store, self.timeout, self.retry, self.offline = store, timeout, retry, offline
        self._auth_params = dict(auth_params or {})
        self._auth_headers = dict(auth_headers or {})
        for value in (*self._auth_params.values(), *self._auth_headers.values()):
            register_secret(value)
        self._session = requests.Session()
        self._session.headers.update(dict(headers or {}))
        self._limiter = _limiter(vendor, *rate)
        self._sleep = sleep

    # ------------------------------------------------------------------ one request
    def _send_once(self, endpoint: str, params: Mapping[str, Any]) -> tuple[bytes, str, str]:
        url = f"{self.base_url}/{endpoint.lstrip('/')}"
        self._limiter.try_acquire(self.vendor)
        try:
            resp = self._session.get(
                url, params={**params, **self._auth_params}, headers=self._auth_headers, timeout=self.timeout
            )
            body = resp.content
        except requests.Timeout:
            raise TransportError(
                self.vendor, endpoint, "transport", f"timed out (connect/read {self.timeout} s)"
            ) from None
        except requests.RequestException as exc:
            raise TransportError(
                self.vendor, endpoint, "transport", f"{type(exc).__name__}: {scrub(str(exc))[:300]}"
            ) from None
        source_uri = redact_url(resp.url)
        if not 200 <= resp.status_code < 300:
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            snippet = scrub(body[:200].decode("utf-8", "replace")).strip().replace("\n", " ")
            raise HttpStatusError(
                self.vendor,
                endpoint,
                resp.status_code,
                f"{resp.reason or ''} from {source_uri}: {snippet!r}",
                retry_after,
            )
        return body, resp.headers.get("Content-Type", ""), source_uri

    def _retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, TransportError):
            return True
        if isinstance(exc, HttpStatusError) and exc.retryable:
            return exc.retry_after is None or exc.retry_after <= self.retry.max_retry_after
        return False

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, HttpStatusError) and exc.retry_after is not None:
            return exc.retry_after
        return wait_exponential_jitter(
            initial=self.retry.backoff, max=self.retry.max_backoff, jitter=self.retry.jitter
        )(state)

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "%s: attempt %d failed (%s); retrying in %.2f s", self.vendor, state.attempt_number, scrub(str(exc)), wait
        )

    def get(self, endpoint: str, params: Mapping[str, Any] | None = None) -> tuple[bytes, str, str]:
        """``(body, content_type, redacted source URI)`` of a 2xx response, retried as configured."""
        if self.offline:
            raise MissingPage(self.vendor, endpoint, "body", "offline replay: this page was never stored")
        retrying = Retrying(
            stop=stop_after_attempt(self.retry.attempts),
            wait=self._wait,
            retry=retry_if_exception(self._retryable),
            reraise=True,
            sleep=self._sleep,
            before_sleep=self._log_retry,
        )
        return retrying(self._send_once, endpoint, dict(params or {}))

    # ------------------------------------------------------------------ paging
    def paginate(
        self,
        endpoint: str,
        params: Mapping[str, Any],
        *,
        parse: Callable[[bytes], Any],
        next_params: Callable[[Any, dict], dict | None],
        page_field: str,
        transform_id: str,
        max_pages: int = 10_000,
        tag: Mapping[str, Any] | None = None,
    ) -> Iterator[Page]:
        """Pages of a query to the end, stored as they arrive, resumed from the store.

        ``parse(body)`` validates and decodes a page (raising
        :class:`~quant_assets.connectors.errors.BadResponse`); ``next_params(parsed, params)``
        gives the next request's parameters or None at the end. ``page_field`` names the paging
        field in errors (a next request seen before is an error: a repeated page token loops).
        ``tag`` adds to the stored pages' address without being sent (e.g. the session of a
        snapshot endpoint that takes no date).
        """
        base = {**params, **{f"@{k}": v for k, v in (tag or {}).items()}}
        request = dict(params)
        seen = {json.dumps(request, sort_keys=True, default=str)}
        for number in range(max_pages):
            key = PageKey(self.vendor, endpoint, base, number)
            stored = self.store.get(key) if self.store is not None else None
            if stored is not None:
                parsed = parse(stored)
                page = Page(number, stored, parsed, self.store.meta(key).source_uri, True)
            else:
                body, content_type, source_uri = self.get(endpoint, request)
                parsed = parse(body)
                if self.store is not None:
                    self.store.put(
                        key, body, source_uri=source_uri, transform_id=transform_id, content_type=content_type
                    )
                page = Page(number, body, parsed, source_uri, False)
            yield page
            following = next_params(parsed, request)
            if following is None:
                return
            signature = json.dumps(following, sort_keys=True, default=str)
            if signature in seen:
                raise BadResponse(
                    self.vendor,
                    endpoint,
                    page_field,
                    f"page {number} points back to an earlier page (repeated page token); paging would loop",
                )
            seen.add(signature)
            request = following
        raise BadResponse(self.vendor, endpoint, page_field, f"more than {max_pages} pages")

    def fetch_all(self, endpoint: str, params: Mapping[str, Any], **kwargs) -> list[Page]:
        """All pages of :meth:`paginate` as a list."""
        return list(self.paginate(endpoint, params, **kwargs))

    def one(
        self,
        endpoint: str,
        params: Mapping[str, Any],
        *,
        parse: Callable[[bytes], Any],
        transform_id: str,
        tag: Mapping[str, Any] | None = None,
    ) -> Page:
        """A single (unpaged) response, stored and resumed like a one-page query."""
        return self.fetch_all(
            endpoint,
            params,
            parse=parse,
            next_params=lambda parsed, request: None,
            page_field="",
            transform_id=transform_id,
            tag=tag,
        )[0]
