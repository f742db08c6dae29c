"""Finnhub: option chains (``GET /api/v1/stock/option-chain``), a snapshot per underlier.

Documented format: ``symbol`` in the query, the key in the ``X-Finnhub-Token`` header (a
read-only key; the free plan allows 60 calls per minute and 30 per second). The answer is
``{"code": underlier, "exchange", "lastTradeDate", "lastTradePrice", "data":
[{"expirationDate", "options": {"CALL": [contract, ...], "PUT": [...]}}]}`` with contracts
``{"contractName", "expirationDate", "strike", "bid", "ask", "lastPrice", "volume",
"openInterest", "impliedVolatility", "type", ...}``.

The chain is the current snapshot (no history): it is taken after the close and stamped
with the session close (``ts_ns``). Finnhub gives no quote sizes nor exchange bitmap:
``bid_size``, ``ask_size`` and ``exchs_bitmap`` are 0.
"""

from __future__ import annotations

import pandas as pd

from quant_assets.calendars import session_close_utc
from quant_assets.connectors.base import ClientOptions
from quant_assets.connectors.bodies import json_body, number, require
from quant_assets.connectors.errors import BadResponse
from quant_assets.connectors.http import VendorHttp

__all__ = ["CONTRACT_FIELDS", "Finnhub"]

VENDOR = "finnhub"
ENDPOINT = "stock/option-chain"
BASE_URL = "https://finnhub.io/api/v1"
RATE = (30, 1.0)
TRANSFORM_ID = "finnhub-option-chain-v1"
CONTRACT_FIELDS = ("strike", "bid", "ask", "volume", "openInterest")


class Finnhub:
    """Option chain snapshots."""

    def __init__(self, api_key: str, *, base_url: str = BASE_URL, options: ClientOptions = ClientOptions()):
        self.http = VendorHttp(VENDOR, base_url, auth_headers={"X-Finnhub-Token": api_key}, **options.http_kwargs(RATE))

    def _parser(self, underlier: str):
        def parse(body: bytes) -> list[dict]:
            doc = json_body(VENDOR, ENDPOINT, body)
            if isinstance(doc, dict) and "error" in doc:
                raise BadResponse(VENDOR, ENDPOINT, "error", str(doc["error"])[:200])
            code = require(doc, "code", VENDOR, ENDPOINT, str)
            if code.upper() != underlier.upper():
                raise BadResponse(VENDOR, ENDPOINT, "code", f"chain is for {code!r}, asked {underlier!r}")
            rows = []
            for i, exp in enumerate(require(doc, "data", VENDOR, ENDPOINT, list)):
                expiry = require(exp, "expirationDate", VENDOR, ENDPOINT, str)
                chain = require(exp, "options", VENDOR, ENDPOINT, dict)
                for side, flag in (("CALL", "C"), ("PUT", "P")):
                    for j, c in enumerate(chain.get(side, [])):
                        where = f"data[{i}].options.{side}[{j}]"
                        values = {}
                        for f in CONTRACT_FIELDS:
                            if not isinstance(c, dict) or f not in c:
                                raise BadResponse(VENDOR, ENDPOINT, f"{where}.{f}", "missing")
                            values[f] = number(c[f], VENDOR, ENDPOINT, f"{where}.{f}")
                        rows.append({"expiry": expiry, "cp_flag": flag, **values})
            return rows

        return parse

    def option_quotes(self, underlier: str, date: str) -> pd.DataFrame:
        """The chain in the ``option_quotes`` delivery columns, for the session ``date``."""
        page = self.http.one(
            ENDPOINT,
            {"symbol": underlier},
            parse=self._parser(underlier),
            transform_id=TRANSFORM_ID,
            tag={"session": str(pd.Timestamp(date).date())},
        )
        df = pd.DataFrame(page.parsed, columns=["expiry", "cp_flag", *CONTRACT_FIELDS])
        day = pd.Timestamp(date)
        out = pd.DataFrame(
            {
                "date": day,
                "ts_ns": int(session_close_utc(day).value),
                "underlier": underlier,
                "expiry": pd.to_datetime(df["expiry"], format="%Y-%m-%d"),
                "strike": df["strike"].astype("float64"),
                "cp_flag": df["cp_flag"],
                "bid": df["bid"].astype("float64"),
                "ask": df["ask"].astype("float64"),
                "bid_size": 0,
                "ask_size": 0,
                "nbbo_mid": ((df["bid"] + df["ask"]) / 2).astype("float64"),
                "exchs_bitmap": 0,
                "volume": df["volume"].astype("int64"),
                "open_interest": df["openInterest"].astype("int64"),
            }
        )
        for col in ("ts_ns", "bid_size", "ask_size", "exchs_bitmap"):
            out[col] = out[col].astype("int64")
        return out.sort_values(["expiry", "strike", "cp_flag"], kind="stable").reset_index(drop=True)
