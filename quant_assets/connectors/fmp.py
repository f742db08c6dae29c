"""Financial Modeling Prep: delisted companies (``GET /api/v3/delisted-companies``).

Documented format: ``page`` (0-based) and ``apikey`` (a read-only key) in the query; the
answer is a JSON list of ``{"symbol", "companyName", "exchange", "ipoDate",
"delistedDate"}``, an empty list after the last page; errors arrive as ``{"Error Message":
...}`` with status 200 or 401/403.

The feed gives the delisting date but neither the reason nor the delisting return that the
``delistings`` contract records: :meth:`Fmp.delisted` delivers what the vendor knows.
"""

from __future__ import annotations

import pandas as pd

from quant_assets.connectors.base import ClientOptions
from quant_assets.connectors.bodies import json_body
from quant_assets.connectors.errors import BadResponse
from quant_assets.connectors.http import VendorHttp

__all__ = ["FIELDS", "Fmp"]

VENDOR = "fmp"
ENDPOINT = "api/v3/delisted-companies"
BASE_URL = "https://financialmodelingprep.com"
RATE = (5, 1.0)
TRANSFORM_ID = "fmp-delisted-v1"
FIELDS = ("symbol", "companyName", "exchange", "ipoDate", "delistedDate")


class Fmp:
    """Delisted companies, paged by ``page`` until an empty page."""

    def __init__(self, api_key: str, *, base_url: str = BASE_URL, options: ClientOptions = ClientOptions()):
        self.http = VendorHttp(VENDOR, base_url, auth_params={"apikey": api_key}, **options.http_kwargs(RATE))

    @staticmethod
    def _parse(body: bytes) -> list[dict]:
        doc = json_body(VENDOR, ENDPOINT, body)
        if isinstance(doc, dict):
            message = doc.get("Error Message") or doc.get("message")
            raise BadResponse(
                VENDOR,
                ENDPOINT,
                "Error Message" if message else "body",
                str(message)[:200] if message else "expected a list of companies, got an object",
            )
        if not isinstance(doc, list):
            raise BadResponse(VENDOR, ENDPOINT, "body", f"expected a list, got {type(doc).__name__}")
        for i, row in enumerate(doc):
            for f in FIELDS:
                if not isinstance(row, dict) or f not in row:
                    raise BadResponse(VENDOR, ENDPOINT, f"[{i}].{f}", "missing")
            try:
                pd.to_datetime(row["delistedDate"], format="%Y-%m-%d")
            except (ValueError, TypeError):
                raise BadResponse(
                    VENDOR, ENDPOINT, f"[{i}].delistedDate", f"not a YYYY-MM-DD date: {str(row['delistedDate'])[:40]!r}"
                ) from None
        return doc

    def delisted(self, start: str | None = None, end: str | None = None) -> pd.DataFrame:
        """``symbol, name, exchange, ipo_date, delist_date`` of every page, optionally within dates."""

        def next_params(parsed, request):
            return None if not parsed else {"page": int(request["page"]) + 1}

        rows = [
            r
            for page in self.http.paginate(
                ENDPOINT,
                {"page": 0},
                parse=self._parse,
                next_params=next_params,
                page_field="page",
                transform_id=TRANSFORM_ID,
            )
            for r in page.parsed
        ]
        df = pd.DataFrame(rows, columns=list(FIELDS)).rename(
            columns={"companyName": "name", "ipoDate": "ipo_date", "delistedDate": "delist_date"}
        )
        df["delist_date"] = pd.to_datetime(df["delist_date"], format="%Y-%m-%d")
        df["ipo_date"] = pd.to_datetime(df["ipo_date"], errors="coerce")
        if start is not None:
            df = df[df["delist_date"] >= pd.Timestamp(start)]
        if end is not None:
            df = df[df["delist_date"] <= pd.Timestamp(end)]
        dup = df.duplicated(["symbol", "delist_date"])
        if dup.any():
            raise BadResponse(VENDOR, ENDPOINT, "symbol", f"{int(dup.sum())} row(s) delivered twice across pages")
        return df.sort_values(["delist_date", "symbol"], kind="stable").reset_index(drop=True)
