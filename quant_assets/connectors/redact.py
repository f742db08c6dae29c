"""Redaction of API keys: the one place that decides what a secret looks like.

Keys travel in query parameters or headers. Anything that leaves a connector (log lines,
exception texts, stored URIs and metadata) goes through :func:`redact_url`,
:func:`redact_headers` or :func:`scrub`. Parameter and header names below are the vendors'
documented key carriers; every key value handed to a client is also registered so that it
is scrubbed wherever it appears, whatever carried it.

Example
-------
>>> register_secret("s3cr3t-KEY")
>>> redact_url("https://api.example.com/x?series_id=DGS10&api_key=s3cr3t-KEY")
'https://api.example.com/x?series_id=DGS10&api_key=REDACTED'
>>> scrub("failed: GET /x?token=s3cr3t-KEY")
'failed: GET /x?token=REDACTED'
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "REDACTED",
    "ScrubFilter",
    "scrub_library_logs",
    "SECRET_HEADERS",
    "SECRET_PARAMS",
    "redact_headers",
    "redact_params",
    "redact_url",
    "register_secret",
    "scrub",
]

REDACTED = "REDACTED"
SECRET_PARAMS = frozenset({"api_key", "apikey", "token", "key", "access_token", "secret"})
"""Query parameters that carry a key (FRED ``api_key``, Alpha Vantage/FMP ``apikey``, Finnhub ``token``)."""
SECRET_HEADERS = frozenset(
    {"apca-api-key-id", "apca-api-secret-key", "x-finnhub-token", "authorization", "apikey", "x-api-key", "cookie"}
)
"""Headers that carry a key (Alpaca's two ``APCA-API-*`` headers, Finnhub ``X-Finnhub-Token``)."""

_SECRETS: set[str] = set()
_LOCK = threading.Lock()
_PARAM_RE = re.compile(r"(?i)\b(" + "|".join(sorted(SECRET_PARAMS, key=len, reverse=True)) + r")=([^&\s'\"]+)")
_MIN_SECRET = 4  # shorter values would scrub ordinary words


def register_secret(value: str | None) -> None:
    """Remember ``value`` as a secret: :func:`scrub` replaces it wherever it appears."""
    if value and len(value) >= _MIN_SECRET:
        with _LOCK:
            _SECRETS.add(value)


def scrub(text: str) -> str:
    """``text`` without any registered secret nor any ``<secret param>=<value>`` pair."""
    text = _PARAM_RE.sub(lambda m: f"{m.group(1)}={REDACTED}", str(text))
    with _LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def redact_params(params: Mapping[str, object] | None) -> dict[str, str]:
    """Query parameters with key-carrying values replaced."""
    return {k: (REDACTED if k.lower() in SECRET_PARAMS else scrub(str(v))) for k, v in (params or {}).items()}


def redact_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """Headers with key-carrying values replaced."""
    return {k: (REDACTED if k.lower() in SECRET_HEADERS else scrub(v)) for k, v in (headers or {}).items()}


def redact_url(url: str) -> str:
    """``url`` with key-carrying query parameters (and any registered secret) replaced."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)  # a list: repeated parameters are kept
    query = urlencode([(k, REDACTED if k.lower() in SECRET_PARAMS else v) for k, v in pairs])
    return scrub(urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment)))


class ScrubFilter(logging.Filter):
    """A logging filter that rewrites each record's message through :func:`scrub`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = scrub(record.getMessage()), ()
        return True


LIBRARY_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry", "requests")
"""Loggers of the HTTP stack that write request lines (urllib3 logs ``"GET /path?query"`` at DEBUG)."""


def scrub_library_logs() -> None:
    """Attach :class:`ScrubFilter` to the HTTP stack's loggers (idempotent)."""
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ScrubFilter) for f in logger.filters):
            logger.addFilter(ScrubFilter())
