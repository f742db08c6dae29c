"""A small market served in the vendors' formats, for the ``vendor`` profile's graph tests.

Sessions 2023-12-29 .. 2024-01-09, names AAA, BBB, CCC. AAA splits 2-for-1 (ex 2024-01-04,
its price halves), BBB pays a 0.50 dividend (ex 2024-01-05), CCC stops trading after
2024-01-04 and Alpha Vantage lists it as delisted on 2024-01-05 (no reason, no return).
Alpaca answers one symbol per page (``next_page_token``), FRED pages by ``offset``.
"""

from __future__ import annotations

import base64
import json

import numpy as np
import pandas as pd
from werkzeug import Request, Response

from quant_assets.calendars import sessions_in_range

SESSIONS = sessions_in_range("2023-12-29", "2024-01-09")
SYMBOLS = ("AAA", "BBB", "CCC")
SPLIT = ("AAA", pd.Timestamp("2024-01-04"), 2.0)
DIVIDEND = ("BBB", pd.Timestamp("2024-01-05"), 0.5)
DELISTED = ("CCC", pd.Timestamp("2024-01-05"))


def _bars() -> dict[str, list[dict]]:
    rng = np.random.default_rng(18)
    out: dict[str, list[dict]] = {}
    for sym, start in zip(SYMBOLS, (100.0, 50.0, 20.0)):
        close = start * np.exp(np.cumsum(rng.normal(0, 0.01, len(SESSIONS))))
        rows = []
        for d, c in zip(SESSIONS, close):
            if sym == DELISTED[0] and d >= DELISTED[1]:
                break
            c = c / SPLIT[2] if sym == SPLIT[0] and d >= SPLIT[1] else c
            o = c * (1 + rng.normal(0, 0.003))
            h, lo = max(o, c) * (1 + rng.uniform(0.002, 0.01)), min(o, c) * (1 - rng.uniform(0.002, 0.01))
            t = d.tz_localize("America/New_York").tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
            rows.append(
                {
                    "t": t,
                    "o": round(o, 2),
                    "h": round(h, 2),
                    "l": round(lo, 2),
                    "c": round(c, 2),
                    "v": int(rng.integers(10_000, 100_000)),
                    "n": int(rng.integers(100, 1000)),
                    "vw": round((h + lo + c) / 3, 4),
                }
            )
        out[sym] = rows
    return out


BARS = _bars()


def _json(doc, status: int = 200) -> Response:
    return Response(json.dumps(doc), status=status, content_type="application/json")


def alpaca(request: Request) -> Response:
    """``/v2/stocks/bars``: the requested symbols' bars in ``[start, end]``, one symbol a page."""
    wanted = sorted(request.args["symbols"].split(","))
    token = request.args.get("page_token")
    i = int(base64.b64decode(token)) if token else 0
    a, b = pd.Timestamp(request.args["start"]), pd.Timestamp(request.args["end"])
    sym = wanted[i]
    bars = [r for r in BARS.get(sym, []) if a <= pd.Timestamp(r["t"][:10]) <= b]
    nxt = base64.b64encode(str(i + 1).encode()).decode() if i + 1 < len(wanted) else None
    return _json({"bars": {sym: bars} if bars else {}, "next_page_token": nxt})


def fred(request: Request) -> Response:
    """``/fred/series/observations``: a flat curve by tenor, paged by ``offset`` / ``limit``."""
    a, b = request.args["observation_start"], request.args["observation_end"]
    days = [d for d in SESSIONS if pd.Timestamp(a) <= d <= pd.Timestamp(b)]
    level = 4.0 + 0.01 * len(request.args["series_id"])
    obs = [
        {"realtime_start": "2024-01-31", "realtime_end": "2024-01-31", "date": f"{d:%Y-%m-%d}", "value": f"{level:.2f}"}
        for d in days
    ]
    offset, limit = int(request.args["offset"]), int(request.args["limit"])
    return _json({"count": len(obs), "offset": offset, "limit": limit, "observations": obs[offset : offset + limit]})


def alphavantage(request: Request) -> Response:
    """``/query``: ``LISTING_STATUS`` (CSV), ``SPLITS`` and ``DIVIDENDS`` (JSON)."""
    function, symbol = request.args["function"], request.args.get("symbol", "")
    if function == "LISTING_STATUS":
        sym, day = DELISTED
        body = "symbol,name,exchange,assetType,ipoDate,delistingDate,status\r\n"
        if pd.Timestamp(request.args.get("date", "2099-01-01")) >= day:
            body += f"{sym},{sym} Corp,NYSE,Stock,2001-05-10,{day:%Y-%m-%d},Delisted\r\n"
        return Response(body, content_type="application/x-download")
    data = []
    if function == "SPLITS" and symbol == SPLIT[0]:
        data = [{"effective_date": f"{SPLIT[1]:%Y-%m-%d}", "split_factor": f"{SPLIT[2]:.4f}"}]
    if function == "DIVIDENDS" and symbol == DIVIDEND[0]:
        data = [
            {
                "ex_dividend_date": f"{DIVIDEND[1]:%Y-%m-%d}",
                "declaration_date": "2023-12-20",
                "record_date": "2024-01-08",
                "payment_date": "2024-01-20",
                "amount": f"{DIVIDEND[2]:.2f}",
            }
        ]
    return _json({"symbol": symbol, "data": data})


ROUTES = {
    "alpaca": ("/v2/stocks/bars", alpaca),
    "fred": ("/fred/series/observations", fred),
    "alphavantage": ("/query", alphavantage),
}
