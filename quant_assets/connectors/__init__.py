"""Vendor data connectors: pure client code (no Dagster), one module per vendor.

Shared parts: :mod:`~quant_assets.connectors.http` (timeouts, retries, rate limits, paging),
:mod:`~quant_assets.connectors.pages` (immutable raw responses), :mod:`~quant_assets.connectors.redact`
(key redaction), :mod:`~quant_assets.connectors.bodies` (body decoding) and
:mod:`~quant_assets.connectors.errors`. Each vendor module maps its documented response
format onto the delivery contracts of :mod:`quant_assets.schemas`.
"""

from quant_assets.connectors.base import ClientOptions
from quant_assets.connectors.errors import (
    BadResponse,
    ConnectorError,
    HttpStatusError,
    MissingPage,
    PageStoreError,
    TransportError,
)
from quant_assets.connectors.http import RetryPolicy, VendorHttp, parse_retry_after
from quant_assets.connectors.pages import PageKey, PageStore

__all__ = [
    "BadResponse",
    "ClientOptions",
    "ConnectorError",
    "HttpStatusError",
    "MissingPage",
    "PageKey",
    "PageStore",
    "PageStoreError",
    "RetryPolicy",
    "TransportError",
    "VendorHttp",
    "parse_retry_after",
]
