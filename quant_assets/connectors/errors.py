"""Errors raised by the vendor connectors.

Every error names the vendor, the endpoint and the field (or ``"http"``/``"body"`` when the
problem is the response itself) and what went wrong. Messages never carry a secret: they are
built from redacted URLs only and passed through :func:`quant_assets.connectors.redact.scrub`,
and transport exceptions are not chained (``from None``), since their text embeds the request
URL with its query string.

Example
-------
>>> err = BadResponse("fred", "series/observations", "observations[3].value", "not a number: 'abc'")
>>> str(err)
"fred series/observations: field 'observations[3].value': not a number: 'abc'"
"""

from __future__ import annotations

from quant_assets.connectors.redact import scrub

__all__ = [
    "BadResponse",
    "ConnectorError",
    "HttpStatusError",
    "MissingPage",
    "PageStoreError",
    "TransportError",
]


class ConnectorError(RuntimeError):
    """A vendor request or response that cannot be used.

    Parameters
    ----------
    vendor, endpoint : str
        Which vendor and endpoint (path, without host or query string).
    field : str
        The offending field of the response (``"http"`` for the status, ``"body"`` for the
        whole body, ``"transport"`` for the connection).
    problem : str
        What is wrong.
    """

    def __init__(self, vendor: str, endpoint: str, field: str, problem: str):
        self.vendor, self.endpoint, self.field = vendor, endpoint, field
        self.problem = scrub(problem)
        super().__init__(f"{vendor} {endpoint}: field {field!r}: {self.problem}")


class TransportError(ConnectorError):
    """Connection refused or reset, timeout, truncated transfer (retried, then raised)."""


class HttpStatusError(ConnectorError):
    """A non-2xx status; ``status`` and, for 429/503, ``retry_after`` seconds (or None)."""

    def __init__(self, vendor: str, endpoint: str, status: int, problem: str, retry_after: float | None = None):
        self.status, self.retry_after = status, retry_after
        super().__init__(vendor, endpoint, "http", f"status {status}: {problem}")

    @property
    def retryable(self) -> bool:
        """429 and 5xx are transient."""
        return self.status == 429 or self.status >= 500


class BadResponse(ConnectorError):
    """A 2xx response whose body breaks the vendor's documented format (never stored)."""


class MissingPage(ConnectorError):
    """Replay asked for a page that was never stored."""


class PageStoreError(ConnectorError):
    """A stored raw page is corrupt (checksum) or would be overwritten with other bytes."""
