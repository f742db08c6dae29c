"""SEC EDGAR APIs: filing history (``submissions``) and XBRL company facts, the arrival date of fundamentals.

Documented format (``https://data.sec.gov``, no key): ``submissions/CIK##########.json``
(ten-digit, zero-padded CIK) answers ``{"cik", "name", "tickers", "filings": {"recent":
{"accessionNumber": [...], "filingDate": [...], "reportDate": [...], "acceptanceDateTime":
[...], "form": [...], ...}, "files": [...]}}`` (parallel arrays); ``api/xbrl/companyfacts/
CIK##########.json`` answers ``{"cik", "entityName", "facts": {taxonomy: {concept: {"units":
{unit: [{"start"?, "end", "val", "accn", "fy", "fp", "form", "filed", "frame"?}]}}}}}``.
The SEC requires a descriptive ``User-Agent`` (organisation and contact e-mail) and at most
10 requests per second.

Fundamentals are keyed by filing: each 10-Q/10-K (and amendments) gives ``period_end`` (the
latest ``StockholdersEquity`` date it reports), ``book_equity`` at that date, basic EPS for
the period ending then (the shortest duration reported: the quarter in a 10-Q) and the
cover-page ``EntityCommonStockSharesOutstanding``. ``report_date`` is the filing date from
``submissions`` (the authoritative arrival date). A period filed twice keeps its first
filing (what was known first). A filing lacking one of the three facts is left out.
"""

from __future__ import annotations

import pandas as pd

from quant_assets.connectors.base import ClientOptions
from quant_assets.connectors.bodies import json_body, number, require
from quant_assets.connectors.errors import BadResponse
from quant_assets.connectors.http import VendorHttp

__all__ = ["Edgar", "FORMS"]

VENDOR = "edgar"
BASE_URL = "https://data.sec.gov"
RATE = (10, 1.0)
TRANSFORM_ID = "edgar-v1"
FORMS = ("10-Q", "10-K", "10-Q/A", "10-K/A")
RECENT = ("accessionNumber", "filingDate", "form")
EQUITY = ("us-gaap", "StockholdersEquity", "USD")
EPS = ("us-gaap", "EarningsPerShareBasic", "USD/shares")
SHARES = ("dei", "EntityCommonStockSharesOutstanding", "shares")


def _cik10(cik: int | str) -> str:
    return f"CIK{int(cik):010d}"


class Edgar:
    """Submissions and company facts of one company at a time (10 requests per second)."""

    def __init__(self, user_agent: str, *, base_url: str = BASE_URL, options: ClientOptions = ClientOptions()):
        if "@" not in user_agent or len(user_agent.split()) < 2:
            raise ValueError(
                "SEC EDGAR requires a descriptive User-Agent: organisation name and contact e-mail, "
                f"e.g. 'Example Research admin@example.com' (got {user_agent!r})"
            )
        self.http = VendorHttp(VENDOR, base_url, headers={"User-Agent": user_agent}, **options.http_kwargs(RATE))

    @staticmethod
    def _check_cik(doc, endpoint: str, cik: int) -> None:
        got = require(doc, "cik", VENDOR, endpoint)
        try:
            same = int(got) == int(cik)
        except (TypeError, ValueError):
            same = False
        if not same:
            raise BadResponse(VENDOR, endpoint, "cik", f"answer is for CIK {got!r}, asked {int(cik)} (wrong company)")

    def submissions(self, cik: int | str) -> pd.DataFrame:
        """``accession, filing_date, form`` of the recent filings."""
        endpoint = f"submissions/{_cik10(cik)}.json"

        def parse(body: bytes) -> dict:
            doc = json_body(VENDOR, endpoint, body)
            self._check_cik(doc, endpoint, int(cik))
            recent = require(doc, "filings.recent", VENDOR, endpoint, dict)
            cols = {f: require(recent, f, VENDOR, endpoint, list) for f in RECENT}
            lengths = {f: len(v) for f, v in cols.items()}
            if len(set(lengths.values())) > 1:
                raise BadResponse(VENDOR, endpoint, "filings.recent", f"arrays of unequal length {lengths} (truncated)")
            return cols

        cols = self.http.one(endpoint, {}, parse=parse, transform_id=TRANSFORM_ID).parsed
        return pd.DataFrame(
            {
                "accession": cols["accessionNumber"],
                "filing_date": pd.to_datetime(cols["filingDate"], format="%Y-%m-%d"),
                "form": cols["form"],
            }
        )

    def company_facts(self, cik: int | str) -> dict:
        """The ``facts`` object of the company facts."""
        endpoint = f"api/xbrl/companyfacts/{_cik10(cik)}.json"

        def parse(body: bytes) -> dict:
            doc = json_body(VENDOR, endpoint, body)
            self._check_cik(doc, endpoint, int(cik))
            return require(doc, "facts", VENDOR, endpoint, dict)

        return self.http.one(endpoint, {}, parse=parse, transform_id=TRANSFORM_ID).parsed

    @staticmethod
    def _facts(facts: dict, concept: tuple[str, str, str], endpoint: str) -> pd.DataFrame:
        taxonomy, name, unit = concept
        rows = facts.get(taxonomy, {}).get(name, {}).get("units", {}).get(unit, [])
        field = f"facts.{taxonomy}.{name}.units.{unit}"
        out = []
        for i, r in enumerate(rows):
            for f in ("end", "val", "accn", "form"):
                if not isinstance(r, dict) or f not in r:
                    raise BadResponse(VENDOR, endpoint, f"{field}[{i}].{f}", "missing")
            out.append(
                {
                    "accn": r["accn"],
                    "form": r["form"],
                    "end": r["end"],
                    "start": r.get("start"),
                    "val": number(r["val"], VENDOR, endpoint, f"{field}[{i}].val"),
                }
            )
        df = pd.DataFrame(out, columns=["accn", "form", "end", "start", "val"])
        df["end"] = pd.to_datetime(df["end"], format="%Y-%m-%d")
        df["start"] = pd.to_datetime(df["start"], format="%Y-%m-%d")
        return df[df["form"].isin(FORMS)]

    def fundamentals(self, symbol: str, cik: int | str) -> pd.DataFrame:
        """``symbol, period_end, report_date, book_equity, shares_outstanding, eps`` (``fundamentals`` columns)."""
        endpoint = f"api/xbrl/companyfacts/{_cik10(cik)}.json"
        facts = self.company_facts(cik)
        filed = self.submissions(cik).set_index("accession")["filing_date"]
        equity = self._facts(facts, EQUITY, endpoint)
        eps = self._facts(facts, EPS, endpoint)
        shares = self._facts(facts, SHARES, endpoint)
        rows = []
        for accn, eq in equity.groupby("accn", sort=False):
            if accn not in filed.index:
                continue  # a filing outside the recent history: no authoritative date
            period_end = eq["end"].max()
            e = eps[(eps["accn"] == accn) & (eps["end"] == period_end)]
            s = shares[shares["accn"] == accn]
            if e.empty or s.empty:
                continue
            e = e.assign(days=(e["end"] - e["start"]).dt.days).sort_values("days", kind="stable")
            rows.append(
                {
                    "symbol": symbol,
                    "period_end": period_end,
                    "report_date": filed[accn],
                    "book_equity": float(eq.loc[eq["end"] == period_end, "val"].iloc[-1]),
                    "shares_outstanding": float(s.sort_values("end")["val"].iloc[-1]),
                    "eps": float(e["val"].iloc[0]),
                }
            )
        cols = ["symbol", "period_end", "report_date", "book_equity", "shares_outstanding", "eps"]
        out = pd.DataFrame(rows, columns=cols)
        out = out.sort_values(["period_end", "report_date"], kind="stable").drop_duplicates("period_end")
        return out.reset_index(drop=True)
