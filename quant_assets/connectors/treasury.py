"""U.S. Treasury Fiscal Data API: paged datasets, e.g. average interest rates on Treasury securities.

Documented format: ``GET /services/api/fiscal_service/<version>/<dataset>`` with ``fields``,
``filter`` (``record_date:gte:2024-01-01,record_date:lte:...``), ``sort``, ``format=json``,
``page[number]`` (1-based) and ``page[size]`` (<= 10,000). The answer is ``{"data": [...],
"meta": {"count": rows in this page, "total-count", "total-pages", "labels", "dataTypes",
...}, "links": {"self", "first", "prev", "next", "last"}}`` with ``links.next`` null on the
last page; every value is a string (``"null"`` when absent). No key is needed.

:meth:`FiscalData.average_rates` reads ``v2/accounting/od/avg_interest_rates`` (monthly
average rates of outstanding marketable securities): a coarse, monthly cross-check of the
daily FRED curve, mapped to tenors by :data:`AVERAGE_RATE_TENORS` (a representative remaining
maturity per security class, an approximation stated here, not a vendor fact).
"""

from __future__ import annotations

import pandas as pd

from quant_assets.connectors.base import ClientOptions
from quant_assets.connectors.bodies import json_body, number, require
from quant_assets.connectors.errors import BadResponse
from quant_assets.connectors.fred import cmt_to_continuous
from quant_assets.connectors.http import VendorHttp

__all__ = ["AVERAGE_RATE_TENORS", "FiscalData"]

VENDOR = "treasury"
BASE_URL = "https://api.fiscaldata.treasury.gov/services/api/fiscal_service"
AVG_RATES = "v2/accounting/od/avg_interest_rates"
RATE = (10, 1.0)
TRANSFORM_ID = "treasury-fiscal-data-v1"
AVERAGE_RATE_TENORS = {"Treasury Bills": 182, "Treasury Notes": 1826, "Treasury Bonds": 7305}


class FiscalData:
    """Any Fiscal Data dataset, paged with ``page[number]`` to ``meta.total-pages``."""

    def __init__(self, *, base_url: str = BASE_URL, page_size: int = 10_000, options: ClientOptions = ClientOptions()):
        self.page_size = page_size
        self.http = VendorHttp(VENDOR, base_url, **options.http_kwargs(RATE))

    def _parser(self, endpoint: str, fields: tuple[str, ...]):
        def parse(body: bytes) -> dict:
            doc = json_body(VENDOR, endpoint, body)
            if isinstance(doc, dict) and "error" in doc:
                raise BadResponse(VENDOR, endpoint, "error", str(doc.get("message") or doc["error"])[:200])
            data = require(doc, "data", VENDOR, endpoint, list)
            count = require(doc, "meta.count", VENDOR, endpoint, int)
            pages = require(doc, "meta.total-pages", VENDOR, endpoint, int)
            links = require(doc, "links", VENDOR, endpoint, dict)
            if "next" not in links:
                raise BadResponse(VENDOR, endpoint, "links.next", "missing")
            if count != len(data):
                raise BadResponse(
                    VENDOR,
                    endpoint,
                    "meta.count",
                    f"announces {count} rows, the page holds {len(data)} (truncated page)",
                )
            for i, row in enumerate(data):
                for f in fields:
                    if not isinstance(row, dict) or f not in row:
                        raise BadResponse(VENDOR, endpoint, f"data[{i}].{f}", "missing")
            return {"data": data, "total_pages": pages, "next": links["next"]}

        return parse

    def records(self, endpoint: str, *, fields: tuple[str, ...], filter: str = "", sort: str = "") -> pd.DataFrame:
        """Every row of a dataset (all values as delivered: strings)."""
        params = {
            "fields": ",".join(fields),
            "filter": filter,
            "sort": sort,
            "format": "json",
            "page[number]": 1,
            "page[size]": self.page_size,
        }

        def next_params(parsed, request):
            number_ = int(request["page[number]"])
            if number_ >= parsed["total_pages"]:
                if parsed["next"]:
                    raise BadResponse(
                        VENDOR, endpoint, "links.next", f"set on page {number_} of {parsed['total_pages']}"
                    )
                return None
            return {**params, "page[number]": number_ + 1}

        rows = [
            row
            for page in self.http.paginate(
                endpoint,
                params,
                parse=self._parser(endpoint, fields),
                next_params=next_params,
                page_field="page[number]",
                transform_id=TRANSFORM_ID,
            )
            for row in page.parsed["data"]
        ]
        return pd.DataFrame(rows, columns=list(fields))

    def average_rates(self, start: str, end: str) -> pd.DataFrame:
        """``date, tenor_days, rate`` from the monthly average rates (see the module docstring)."""
        fields = ("record_date", "security_type_desc", "security_desc", "avg_interest_rate_amt")
        df = self.records(
            AVG_RATES, fields=fields, sort="record_date", filter=f"record_date:gte:{start},record_date:lte:{end}"
        )
        df = df[(df["security_type_desc"] == "Marketable") & df["security_desc"].isin(AVERAGE_RATE_TENORS)]
        rate = [
            cmt_to_continuous(number(v, VENDOR, AVG_RATES, "avg_interest_rate_amt"))
            for v in df["avg_interest_rate_amt"]
        ]
        out = pd.DataFrame(
            {
                "date": pd.to_datetime(df["record_date"], format="%Y-%m-%d"),
                "tenor_days": df["security_desc"].map(AVERAGE_RATE_TENORS).astype("int64"),
                "rate": pd.Series(rate, index=df.index, dtype="float64"),
            }
        )
        return out.sort_values(["date", "tenor_days"], kind="stable").reset_index(drop=True)
