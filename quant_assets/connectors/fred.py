"""FRED (Federal Reserve Bank of St. Louis): ``GET /fred/series/observations``, the daily Treasury curve.

Documented format: query ``series_id``, ``observation_start``/``observation_end``
(YYYY-MM-DD), ``file_type=json``, ``sort_order``, ``limit`` (<= 100,000) and ``offset``,
with the key in ``api_key`` (a free, read-only key). The answer is ``{"count": total,
"offset": n, "limit": m, "observations": [{"realtime_start", "realtime_end", "date",
"value"}, ...]}``; a missing value is ``"."`` (e.g. a bond-market holiday on which the stock
exchange trades). Pages are followed by ``offset`` until ``count`` observations are read.

The curve uses the constant-maturity Treasury yields ``DGS1MO`` ... ``DGS30`` (percent,
bond-equivalent, i.e. semiannually compounded), converted to the continuously compounded
rates of the ``rates`` contract: ``r = 2 ln(1 + y / 200)``.
"""

from __future__ import annotations

import math

import pandas as pd

from quant_assets.connectors.base import ClientOptions
from quant_assets.connectors.bodies import json_body, number, require
from quant_assets.connectors.errors import BadResponse
from quant_assets.connectors.http import VendorHttp

__all__ = ["CURVE_SERIES", "Fred", "cmt_to_continuous"]

VENDOR = "fred"
ENDPOINT = "fred/series/observations"
BASE_URL = "https://api.stlouisfed.org"
RATE = (120, 60.0)
TRANSFORM_ID = "fred-observations-v1"
PAGE_LIMIT = 100_000
CURVE_SERIES = {
    "DGS1MO": 30,
    "DGS3MO": 91,
    "DGS6MO": 182,
    "DGS1": 365,
    "DGS2": 730,
    "DGS5": 1826,
    "DGS10": 3652,
    "DGS30": 10957,
}
"""FRED constant-maturity series -> tenor in calendar days."""


def cmt_to_continuous(percent: float) -> float:
    """A semiannually compounded yield in percent as a continuously compounded fraction.

    >>> round(cmt_to_continuous(5.0), 6)
    0.049385
    """
    return 2.0 * math.log1p(percent / 200.0)


class Fred:
    """Series observations, paged by ``offset``."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = BASE_URL,
        page_limit: int = PAGE_LIMIT,
        options: ClientOptions = ClientOptions(),
    ):
        self.page_limit = page_limit
        self.http = VendorHttp(VENDOR, base_url, auth_params={"api_key": api_key}, **options.http_kwargs(RATE))

    @staticmethod
    def _parse(body: bytes) -> dict:
        doc = json_body(VENDOR, ENDPOINT, body)
        if isinstance(doc, dict) and "error_message" in doc:
            raise BadResponse(VENDOR, ENDPOINT, "error_message", str(doc["error_message"])[:200])
        count = require(doc, "count", VENDOR, ENDPOINT, int)
        offset = require(doc, "offset", VENDOR, ENDPOINT, int)
        obs = require(doc, "observations", VENDOR, ENDPOINT, list)
        for i, row in enumerate(obs):
            for f in ("date", "value"):
                if not isinstance(row, dict) or f not in row:
                    raise BadResponse(VENDOR, ENDPOINT, f"observations[{i}].{f}", "missing")
            number(row["value"], VENDOR, ENDPOINT, f"observations[{i}].value", allow_missing=True)
        if offset + len(obs) > count:
            raise BadResponse(VENDOR, ENDPOINT, "count", f"{offset + len(obs)} observations read, {count} announced")
        return {"count": count, "offset": offset, "observations": obs}

    def observations(self, series_id: str, start: str, end: str) -> pd.DataFrame:
        """``date, value`` (float, NaN where FRED has ``"."``) of a series, every page."""
        params = {
            "series_id": series_id,
            "observation_start": str(start),
            "observation_end": str(end),
            "file_type": "json",
            "sort_order": "asc",
            "limit": self.page_limit,
            "offset": 0,
        }

        def next_params(parsed, request):
            read = parsed["offset"] + len(parsed["observations"])
            if read >= parsed["count"]:
                return None
            if not parsed["observations"]:
                raise BadResponse(
                    VENDOR,
                    ENDPOINT,
                    "observations",
                    f"empty page at offset {parsed['offset']} before {parsed['count']} observations",
                )
            return {**params, "offset": read}

        rows = [
            row
            for page in self.http.paginate(
                ENDPOINT,
                params,
                parse=self._parse,
                next_params=next_params,
                page_field="offset",
                transform_id=TRANSFORM_ID,
            )
            for row in page.parsed["observations"]
        ]
        df = pd.DataFrame(
            {
                "date": pd.to_datetime([r["date"] for r in rows], format="%Y-%m-%d"),
                "value": [number(r["value"], VENDOR, ENDPOINT, "value", allow_missing=True) for r in rows],
            }
        )
        return df

    def curve(self, start: str, end: str, series: dict[str, int] = CURVE_SERIES) -> pd.DataFrame:
        """``date, tenor_days, rate`` (continuously compounded fraction), the ``rates`` delivery columns.

        Dates on which FRED has no value (``"."``) have no row for that tenor.
        """
        parts = []
        for series_id, tenor in series.items():
            obs = self.observations(series_id, start, end).dropna()
            parts.append(
                pd.DataFrame({"date": obs["date"], "tenor_days": tenor, "rate": obs["value"].map(cmt_to_continuous)})
            )
        out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["date", "tenor_days", "rate"])
        out["tenor_days"] = out["tenor_days"].astype("int64")
        out["rate"] = out["rate"].astype("float64")
        return out.sort_values(["date", "tenor_days"], kind="stable").reset_index(drop=True)
