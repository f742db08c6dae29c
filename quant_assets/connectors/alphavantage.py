"""Alpha Vantage: listings (``LISTING_STATUS``, CSV), split and dividend history (JSON).

Documented format: ``GET /query?function=...&apikey=...`` (a free, read-only key; the free
plan allows a few requests per minute). ``LISTING_STATUS`` with ``state=active|delisted``
(and an optional ``date``) answers a CSV ``symbol,name,exchange,assetType,ipoDate,
delistingDate,status`` (``delistingDate`` is ``null`` for active names). ``SPLITS`` answers
``{"symbol", "data": [{"effective_date", "split_factor"}]}`` and ``DIVIDENDS`` answers
``{"symbol", "data": [{"ex_dividend_date", "declaration_date", "record_date",
"payment_date", "amount"}]}`` (``"None"`` for unknown dates). Throttling and errors arrive
with status 200 as ``{"Note": ...}``, ``{"Information": ...}`` or ``{"Error Message": ...}``.

Corporate actions: ``split_factor`` is new shares per old share (the ``ratio`` convention).
A split's only date is its effective (ex) date, so announce, record and pay dates are set to
it: the split is known no earlier than it takes effect. A dividend whose declaration, record
or payment date is unknown takes its ex-date for it.
"""

from __future__ import annotations

import pandas as pd

from quant_assets.connectors.base import ClientOptions
from quant_assets.connectors.bodies import csv_body, json_body, number, require
from quant_assets.connectors.errors import BadResponse
from quant_assets.connectors.http import VendorHttp

__all__ = ["AlphaVantage", "LISTING_COLUMNS"]

VENDOR = "alphavantage"
ENDPOINT = "query"
BASE_URL = "https://www.alphavantage.co"
RATE = (5, 60.0)
TRANSFORM_ID = "alphavantage-v1"
LISTING_COLUMNS = ("symbol", "name", "exchange", "assetType", "ipoDate", "delistingDate", "status")
_MESSAGES = ("Note", "Information", "Error Message")
_MISSING = {"", "None", "null", "none"}


def _date(value: str, field: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(pd.to_datetime(value, format="%Y-%m-%d"))
    except (ValueError, TypeError):
        raise BadResponse(VENDOR, ENDPOINT, field, f"not a YYYY-MM-DD date: {str(value)[:40]!r}") from None


class AlphaVantage:
    """Listing status and corporate actions."""

    def __init__(self, api_key: str, *, base_url: str = BASE_URL, options: ClientOptions = ClientOptions()):
        self.http = VendorHttp(VENDOR, base_url, auth_params={"apikey": api_key}, **options.http_kwargs(RATE))

    def listing_status(self, state: str = "delisted", date: str | None = None) -> pd.DataFrame:
        """The listing CSV as delivered (strings), ``state`` ``active`` or ``delisted``."""
        if state not in ("active", "delisted"):
            raise ValueError(f"state must be 'active' or 'delisted', got {state!r}")
        params = {"function": "LISTING_STATUS", "state": state, **({"date": date} if date else {})}

        def parse(body: bytes) -> pd.DataFrame:
            df = csv_body(VENDOR, ENDPOINT, body, LISTING_COLUMNS)
            for i, row in df.iterrows():
                if not row["symbol"]:
                    raise BadResponse(VENDOR, ENDPOINT, f"symbol (CSV line {i + 2})", "empty")
                if state == "delisted":
                    _date(row["delistingDate"], f"delistingDate (CSV line {i + 2})")
            return df

        return self.http.one(ENDPOINT, params, parse=parse, transform_id=TRANSFORM_ID).parsed

    def _events(self, function: str, symbol: str, fields: tuple[str, ...], as_of: str | None) -> list[dict]:
        def parse(body: bytes) -> list[dict]:
            doc = json_body(VENDOR, ENDPOINT, body)
            if isinstance(doc, dict):
                for key in _MESSAGES:
                    if key in doc:
                        raise BadResponse(VENDOR, ENDPOINT, key, f"{function} {symbol}: {str(doc[key])[:200]}")
            got = require(doc, "symbol", VENDOR, ENDPOINT, str)
            if got.upper() != symbol.upper():
                raise BadResponse(VENDOR, ENDPOINT, "symbol", f"answer is for {got!r}, asked {symbol!r}")
            data = require(doc, "data", VENDOR, ENDPOINT, list)
            for i, row in enumerate(data):
                for f in fields:
                    if not isinstance(row, dict) or f not in row:
                        raise BadResponse(VENDOR, ENDPOINT, f"data[{i}].{f}", "missing")
            return data

        params = {"function": function, "symbol": symbol}
        tag = {"as_of": as_of} if as_of else None
        return self.http.one(ENDPOINT, params, parse=parse, transform_id=TRANSFORM_ID, tag=tag).parsed

    def corporate_actions(self, symbols: list[str], as_of: str | None = None) -> pd.DataFrame:
        """Splits and dividends in the ``corporate_actions`` delivery columns.

        The endpoints take no date and answer the whole history as of the request: ``as_of``
        (the last date the caller needs) tags the stored answers, so a later window asks again
        instead of replaying a history stored before its events were announced.
        """
        rows = []
        for sym in symbols:
            for i, s in enumerate(self._events("SPLITS", sym, ("effective_date", "split_factor"), as_of)):
                ex = _date(s["effective_date"], f"data[{i}].effective_date")
                rows.append(
                    {
                        "symbol": sym,
                        "event_type": "split",
                        "announce_date": ex,
                        "ex_date": ex,
                        "record_date": ex,
                        "pay_date": ex,
                        "amount": 0.0,
                        "ratio": number(s["split_factor"], VENDOR, ENDPOINT, f"data[{i}].split_factor"),
                    }
                )
            fields = ("ex_dividend_date", "declaration_date", "record_date", "payment_date", "amount")
            for i, d in enumerate(self._events("DIVIDENDS", sym, fields, as_of)):
                ex = _date(d["ex_dividend_date"], f"data[{i}].ex_dividend_date")

                def when(f, default):
                    return default if str(d[f]) in _MISSING else _date(d[f], f"data[{i}].{f}")

                record = when("record_date", ex)
                rows.append(
                    {
                        "symbol": sym,
                        "event_type": "dividend",
                        "announce_date": when("declaration_date", ex),
                        "ex_date": ex,
                        "record_date": record,
                        "pay_date": when("payment_date", record),
                        "ratio": 1.0,
                        "amount": number(d["amount"], VENDOR, ENDPOINT, f"data[{i}].amount"),
                    }
                )
        cols = ["symbol", "event_type", "announce_date", "ex_date", "record_date", "pay_date", "ratio", "amount"]
        out = pd.DataFrame(rows, columns=cols)
        return out.sort_values(["ex_date", "symbol", "event_type"], kind="stable").reset_index(drop=True)
