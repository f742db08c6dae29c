"""The vendor market-data source: the connectors of :mod:`quant_assets.connectors` behind ``MarketDataSource``.

Selected by a profile's ``source: {kind: vendor, ...}`` block (``quant_assets/config/vendor.yaml``).
Datasets come from: ``bars`` Alpaca (daily, ``adjustment=raw``); ``rates`` FRED (constant-
maturity Treasury curve); ``corporate_actions`` Alpha Vantage (splits, dividends);
``fundamentals`` SEC EDGAR (dated by the filing); ``option_quotes`` Finnhub (chain snapshots
of ``options_underliers``). ``delistings``, ``earnings_calendar`` and ``symbols`` have no
vendor feed with the contract's fields yet and are delivered empty; the symbol master is the
configured universe. Every raw response is kept in ``pages_dir`` (replay with ``offline``).
Keys are read from the environment through ``dg.EnvVar`` and never logged.
"""

from __future__ import annotations

import dagster as dg
import pandas as pd

from quant_assets.calendars import sessions_in_range
from quant_assets.calendars.sessions import CALENDAR_END, CALENDAR_START
from quant_assets.connectors import ClientOptions, PageStore
from quant_assets.connectors.alpaca import AlpacaBars
from quant_assets.connectors.alphavantage import AlphaVantage
from quant_assets.connectors.edgar import Edgar
from quant_assets.connectors.finnhub import Finnhub
from quant_assets.connectors.fred import CURVE_SERIES, Fred
from quant_assets.connectors.http import RetryPolicy
from quant_assets.defs.resources import MarketDataSource
from quant_assets.market.lineage import config_fingerprint
from quant_assets.market.local_files import empty_frame

__all__ = ["KEY_ENV", "VendorMarketSource", "vendor_source"]

KEY_ENV = {
    "alpaca_key_id": "ALPACA_API_KEY_ID",
    "alpaca_secret_key": "ALPACA_API_SECRET_KEY",
    "fred_api_key": "FRED_API_KEY",
    "alphavantage_api_key": "ALPHAVANTAGE_API_KEY",
    "finnhub_api_key": "FINNHUB_API_KEY",
    "edgar_user_agent": "SEC_EDGAR_USER_AGENT",
}
"""Resource field -> environment variable holding it (read-only keys suffice)."""
SOURCE_VERSION = "1"


class VendorMarketSource(MarketDataSource):
    """Vendor data through the same interface as the synthetic and local-files sources."""

    start: str
    end: str
    symbols: list[str]
    ciks: dict[str, int] = {}
    options_underliers: list[str] = []
    base_urls: dict[str, str] = {}
    pages_dir: str
    offline: bool = False
    curve_series: dict[str, int] = dict(CURVE_SERIES)
    retry_backoff: float = RetryPolicy.backoff
    alpaca_key_id: str = ""
    alpaca_secret_key: str = ""
    fred_api_key: str = ""
    alphavantage_api_key: str = ""
    finnhub_api_key: str = ""
    edgar_user_agent: str = ""

    def _options(self) -> ClientOptions:
        retry = RetryPolicy(
            backoff=self.retry_backoff, max_backoff=max(self.retry_backoff, 1e-3) * 60, jitter=self.retry_backoff
        )
        return ClientOptions(store=PageStore(self.pages_dir), offline=self.offline, retry=retry)

    def _url(self, vendor: str) -> dict:
        return {"base_url": self.base_urls[vendor]} if vendor in self.base_urls else {}

    def _sessions(self, start, end) -> pd.DatetimeIndex:
        return sessions_in_range(
            max(pd.Timestamp(start), pd.Timestamp(self.start)), min(pd.Timestamp(end), pd.Timestamp(self.end))
        )

    def _on_sessions(self, df: pd.DataFrame, col: str, start, end, roll: bool = False) -> pd.DataFrame:
        """Rows whose ``col`` is a session of the window (``roll``: a non-session date moves to the next session)."""
        if roll and len(df):
            everyday = sessions_in_range(CALENDAR_START, CALENDAR_END)
            df = df.assign(**{col: everyday[everyday.searchsorted(df[col])]})
        return df[df[col].isin(self._sessions(start, end))].reset_index(drop=True)

    def fetch(self, dataset: str, start, end) -> pd.DataFrame:
        a, b = str(pd.Timestamp(start).date()), str(pd.Timestamp(end).date())
        opt = self._options()
        if dataset == "bars":
            client = AlpacaBars(self.alpaca_key_id, self.alpaca_secret_key, options=opt, **self._url("alpaca"))
            df = self._on_sessions(client.daily_bars(self.symbols, a, b), "date", a, b)
            everyday = sessions_in_range(CALENDAR_START, CALENDAR_END)
            df["session_id"] = (
                everyday.get_indexer(df["date"]) - everyday.get_loc(sessions_in_range(self.start, self.end)[0])
            ).astype("int64")
            return df
        if dataset == "rates":
            curve = Fred(self.fred_api_key, options=opt, **self._url("fred")).curve(a, b, self.curve_series)
            return self._on_sessions(curve, "date", a, b)
        if dataset == "corporate_actions":
            client = AlphaVantage(self.alphavantage_api_key, options=opt, **self._url("alphavantage"))
            return self._on_sessions(client.corporate_actions(self.symbols), "ex_date", a, b)
        if dataset == "fundamentals":
            client = Edgar(self.edgar_user_agent, options=opt, **self._url("edgar"))
            parts = [client.fundamentals(s, self.ciks[s]) for s in self.symbols if s in self.ciks]
            df = pd.concat(parts, ignore_index=True) if parts else empty_frame("fundamentals", fetched=True)
            return self._on_sessions(df, "report_date", a, b, roll=True)
        if dataset == "option_quotes":
            client = Finnhub(self.finnhub_api_key, options=opt, **self._url("finnhub"))
            parts = [
                client.option_quotes(u, str(d.date())) for u in self.options_underliers for d in self._sessions(a, b)
            ]
            return pd.concat(parts, ignore_index=True) if parts else empty_frame("option_quotes", fetched=True)
        if dataset in ("delistings", "earnings_calendar", "symbols"):
            return empty_frame(dataset, fetched=True)
        raise ValueError(
            f"dataset {dataset!r} has no vendor feed (planted-truth oracles exist for the synthetic market only)"
        )

    def source_uri(self, dataset: str) -> str:
        return f"vendor://{self.profile}/{dataset}"

    def fingerprint(self) -> str:
        return config_fingerprint(
            {
                "source": "vendor",
                "version": SOURCE_VERSION,
                "symbols": sorted(self.symbols),
                "ciks": self.ciks,
                "options_underliers": sorted(self.options_underliers),
            }
        )

    def symbol_master(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "symbol": sorted(self.symbols),
                "sector": None,
                "list_date": pd.Timestamp(self.start),
                "delist_date": pd.NaT,
                "delist_reason": None,
            }
        )


def vendor_source(profile) -> VendorMarketSource:
    """The vendor source of a profile; keys from the environment (``dg.EnvVar``, see :data:`KEY_ENV`)."""
    src = profile.source
    return VendorMarketSource(
        profile=profile.name,
        start=str(profile.start.date()),
        end=str(profile.end.date()),
        symbols=list(src["symbols"]),
        ciks=dict(src.get("ciks") or {}),
        options_underliers=list(src.get("options_underliers") or []),
        base_urls=dict(src.get("base_urls") or {}),
        pages_dir=str(src.get("pages_dir") or profile.data_dir / "vendor_pages"),
        offline=bool(src.get("offline")),
        **{field: dg.EnvVar(env) for field, env in KEY_ENV.items()},
    )
