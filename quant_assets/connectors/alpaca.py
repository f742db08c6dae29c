"""Alpaca Market Data API v2: historical stock bars (``GET /v2/stocks/bars``).

Documented format: the query takes ``symbols`` (comma separated), ``timeframe`` (``1Day``,
``1Min``, ...), ``start``/``end`` (RFC 3339 or date), ``limit`` (<= 10,000), ``adjustment``
(``raw`` here: unadjusted prices, the curated layer adjusts), ``feed`` (``sip`` or ``iex``),
``sort`` and ``page_token``. The answer is ``{"bars": {SYMBOL: [bar, ...]}, "next_page_token":
str | null}`` with bars ``{"t": RFC 3339 UTC, "o", "h", "l", "c", "v": shares, "n": trades,
"vw": VWAP}``. Keys go in the ``APCA-API-KEY-ID`` / ``APCA-API-SECRET-KEY`` headers (a
market-data key pair; the trading permissions of the account are not needed). The free plan
allows 200 requests per minute.

Alpaca bars carry no quote: the ``nbbo_spread`` of :meth:`AlpacaBars.daily_bars` is an
estimate, the Corwin-Schultz high-low estimator of :mod:`quant_assets.connectors.spread`
(floored at one cent; one cent where the name has no bar on the previous session), named by
:data:`SPREAD_ESTIMATOR` in the lineage of the bars (the IEX HIST connector measures it).
"""

from __future__ import annotations

import pandas as pd

from quant_assets.calendars import sessions_in_range
from quant_assets.calendars.sessions import CALENDAR_END, CALENDAR_START
from quant_assets.connectors.base import ClientOptions, ny_date
from quant_assets.connectors.bodies import json_body, number
from quant_assets.connectors.errors import BadResponse
from quant_assets.connectors.http import VendorHttp
from quant_assets.connectors.spread import ESTIMATOR, with_estimated_spread

__all__ = ["AlpacaBars", "BAR_FIELDS", "SPREAD_ESTIMATOR"]

VENDOR = "alpaca"
ENDPOINT = "v2/stocks/bars"
BASE_URL = "https://data.alpaca.markets"
RATE = (200, 60.0)
TRANSFORM_ID = "alpaca-bars-v1"
BAR_FIELDS = {"t": "ts", "o": "open", "h": "high", "l": "low", "c": "close", "v": "volume", "n": "trades", "vw": "vwap"}
SPREAD_ESTIMATOR = ESTIMATOR
"""How the ``nbbo_spread`` of Alpaca daily bars is obtained (estimated: the bars carry no quote)."""


class AlpacaBars:
    """Daily and minute bars, ``adjustment=raw``, paged with ``next_page_token``."""

    def __init__(
        self,
        key_id: str,
        secret_key: str,
        *,
        base_url: str = BASE_URL,
        feed: str = "sip",
        options: ClientOptions = ClientOptions(),
    ):
        self.feed = feed
        self.http = VendorHttp(
            VENDOR,
            base_url,
            auth_headers={"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": secret_key},
            **options.http_kwargs(RATE),
        )

    def _parse(self, symbols: set[str]):
        def parse(body: bytes) -> dict:
            doc = json_body(VENDOR, ENDPOINT, body)
            if not isinstance(doc, dict) or "bars" not in doc:
                raise BadResponse(VENDOR, ENDPOINT, "bars", "missing")
            if "next_page_token" not in doc:
                raise BadResponse(VENDOR, ENDPOINT, "next_page_token", "missing (a truncated or foreign page)")
            bars = doc["bars"] or {}
            if not isinstance(bars, dict):
                raise BadResponse(VENDOR, ENDPOINT, "bars", f"expected an object by symbol, got {type(bars).__name__}")
            for sym, rows in bars.items():
                if sym not in symbols:
                    raise BadResponse(
                        VENDOR, ENDPOINT, f"bars.{sym}", f"symbol not requested (asked {sorted(symbols)})"
                    )
                if not isinstance(rows, list):
                    raise BadResponse(VENDOR, ENDPOINT, f"bars.{sym}", "expected a list of bars")
                for i, bar in enumerate(rows):
                    for f in BAR_FIELDS:
                        if not isinstance(bar, dict) or f not in bar:
                            raise BadResponse(VENDOR, ENDPOINT, f"bars.{sym}[{i}].{f}", "missing")
                        if f != "t":
                            number(bar[f], VENDOR, ENDPOINT, f"bars.{sym}[{i}].{f}")
            return {"bars": bars, "next_page_token": doc["next_page_token"]}

        return parse

    def bars(self, symbols: list[str], start: str, end: str, timeframe: str = "1Day") -> pd.DataFrame:
        """``ts`` (UTC), ``symbol`` and the bar fields, every page, sorted by symbol and time."""
        params = {
            "symbols": ",".join(sorted(symbols)),
            "timeframe": timeframe,
            "start": str(start),
            "end": str(end),
            "limit": 10_000,
            "adjustment": "raw",
            "feed": self.feed,
            "sort": "asc",
        }

        def next_params(parsed, request):
            token = parsed["next_page_token"]
            return None if not token else {**params, "page_token": token}

        rows = []
        for page in self.http.paginate(
            ENDPOINT,
            params,
            parse=self._parse(set(symbols)),
            next_params=next_params,
            page_field="next_page_token",
            transform_id=TRANSFORM_ID,
        ):
            for sym, bars in page.parsed["bars"].items():
                rows.extend({"symbol": sym, **{BAR_FIELDS[k]: b[k] for k in BAR_FIELDS}} for b in bars)
        df = pd.DataFrame(rows, columns=["symbol", *BAR_FIELDS.values()])
        df["ts"] = pd.to_datetime(df["ts"], utc=True)
        for col in ("open", "high", "low", "close", "vwap"):
            df[col] = df[col].astype("float64")
        df[["volume", "trades"]] = df[["volume", "trades"]].astype("int64")
        df = df.sort_values(["symbol", "ts"], kind="stable").reset_index(drop=True)
        dup = df.duplicated(["symbol", "ts"])
        if dup.any():
            raise BadResponse(VENDOR, ENDPOINT, "bars.t", f"{int(dup.sum())} bar(s) delivered twice across pages")
        return df

    def daily_bars(self, symbols: list[str], start: str, end: str) -> pd.DataFrame:
        """Daily bars in the ``bars`` delivery columns (without ``session_id``, which the source numbers).

        ``nbbo_spread`` is the Corwin-Schultz estimate from each bar and the name's bar of the
        previous XNYS session if it is among those fetched (ask from the session before the
        first one wanted to have it for every bar), else one cent.
        """
        df = self.bars(symbols, start, end, "1Day")
        out = df.assign(date=ny_date(df["ts"]))
        out["nbbo_spread"] = with_estimated_spread(out, sessions_in_range(CALENDAR_START, CALENDAR_END))
        return out[["date", "symbol", "open", "high", "low", "close", "vwap", "volume", "nbbo_spread", "trades"]]
