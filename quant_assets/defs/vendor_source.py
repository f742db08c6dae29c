"""The vendor market-data source: the connectors of :mod:`quant_assets.connectors` behind ``MarketDataSource``.

Selected by a profile's ``source: {kind: vendor, ...}`` block (``quant_assets/config/vendor.yaml``).
Datasets come from: ``bars`` Alpaca (daily, ``adjustment=raw``); ``rates`` FRED (constant-
maturity Treasury curve); ``corporate_actions`` Alpha Vantage (splits, dividends);
``fundamentals`` SEC EDGAR (dated by the filing); ``option_quotes`` Finnhub (chain snapshots
of ``options_underliers``). ``earnings_calendar`` and ``symbols`` have no vendor feed with
the contract's fields yet and are delivered empty; the symbol master is the configured universe.

Two contract fields no connected vendor delivers are handled explicitly, never invented:

* ``bars.nbbo_spread``: Alpaca bars carry no quote; the spread is the Corwin-Schultz (2012)
  high-low estimate (:mod:`quant_assets.connectors.spread`), named in the bars' lineage
  (``source_uri`` ``...?nbbo_spread=corwin_schultz_2012``, and the source fingerprint that
  enters their ``transform_id``) and in the raw asset's metadata.
* ``delistings``: Alpha Vantage ``LISTING_STATUS`` (like FMP's delisted companies) gives the
  date but neither the reason nor the delisting return, which the contract requires and the
  curated total return compounds. Those events are not delivered (a guessed return would
  enter every backtest); the universe names delisted in a window are reported on
  ``raw_delistings`` (``delisted_without_return``) and logged as a warning. Without a
  delisting row a name's bars simply end; the last price stands for the exit value.

Every raw response is kept in ``pages_dir`` (replay with ``offline``). Keys are read from the
environment through ``dg.EnvVar`` and never logged.
"""

from __future__ import annotations

import dagster as dg
import pandas as pd

from quant_assets.calendars import previous_session, sessions_in_range
from quant_assets.calendars.sessions import CALENDAR_END, CALENDAR_START
from quant_assets.connectors import ClientOptions, PageStore
from quant_assets.connectors.alpaca import SPREAD_ESTIMATOR, AlpacaBars
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
SOURCE_VERSION = "2"


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
    rate_limits: dict[str, list[float]] = {}
    """Vendor -> ``[requests, per seconds]`` overriding its documented default (e.g. a paid plan)."""
    alpaca_key_id: str = ""
    alpaca_secret_key: str = ""
    fred_api_key: str = ""
    alphavantage_api_key: str = ""
    finnhub_api_key: str = ""
    edgar_user_agent: str = ""

    def _options(self, vendor: str) -> ClientOptions:
        retry = RetryPolicy(
            backoff=self.retry_backoff, max_backoff=max(self.retry_backoff, 1e-3) * 60, jitter=self.retry_backoff
        )
        rate = self.rate_limits.get(vendor)
        return ClientOptions(
            store=PageStore(self.pages_dir),
            offline=self.offline,
            retry=retry,
            rate=(int(rate[0]), float(rate[1])) if rate else None,
        )

    def _client(self, cls, vendor: str, *keys: str):
        return cls(*keys, options=self._options(vendor), **self._url(vendor))

    def _url(self, vendor: str) -> dict:
        return {"base_url": self.base_urls[vendor]} if vendor in self.base_urls else {}

    def _sessions(self, start, end) -> pd.DatetimeIndex:
        """Sessions of ``[start, end]`` within the profile's range (none if they do not meet)."""
        a, b = max(pd.Timestamp(start), pd.Timestamp(self.start)), min(pd.Timestamp(end), pd.Timestamp(self.end))
        return sessions_in_range(a, b) if a <= b else pd.DatetimeIndex([], name="date")

    def _on_sessions(self, df: pd.DataFrame, col: str, start, end, roll: bool = False) -> pd.DataFrame:
        """Rows whose ``col`` is a session of the window (``roll``: a non-session date moves to the next session)."""
        if roll and len(df):
            everyday = sessions_in_range(CALENDAR_START, CALENDAR_END)
            df = df.assign(**{col: everyday[everyday.searchsorted(df[col])]})
        return df[df[col].isin(self._sessions(start, end))].reset_index(drop=True)

    def fetch(self, dataset: str, start, end) -> pd.DataFrame:
        a, b = str(pd.Timestamp(start).date()), str(pd.Timestamp(end).date())
        if dataset == "bars":
            client = self._client(AlpacaBars, "alpaca", self.alpaca_key_id, self.alpaca_secret_key)
            # from the session before: every bar's spread estimate pairs it with its previous session
            before = str(previous_session(pd.Timestamp(a)).date())
            df = self._on_sessions(client.daily_bars(self.symbols, before, b), "date", a, b)
            everyday = sessions_in_range(CALENDAR_START, CALENDAR_END)
            df["session_id"] = (
                everyday.get_indexer(df["date"]) - everyday.get_loc(sessions_in_range(self.start, self.end)[0])
            ).astype("int64")
            return df
        if dataset == "rates":
            curve = self._client(Fred, "fred", self.fred_api_key).curve(a, b, self.curve_series)
            return self._on_sessions(curve, "date", a, b)
        if dataset == "corporate_actions":
            if self._sessions(a, b).empty:
                return empty_frame(dataset, fetched=True)
            client = self._client(AlphaVantage, "alphavantage", self.alphavantage_api_key)
            return self._on_sessions(client.corporate_actions(self.symbols, as_of=b), "ex_date", a, b)
        if dataset == "fundamentals":
            client = self._client(Edgar, "edgar", self.edgar_user_agent)
            parts = [client.fundamentals(s, self.ciks[s]) for s in self.symbols if s in self.ciks]
            df = pd.concat(parts, ignore_index=True) if parts else empty_frame("fundamentals", fetched=True)
            return self._on_sessions(df, "report_date", a, b, roll=True)
        if dataset == "option_quotes":
            client = self._client(Finnhub, "finnhub", self.finnhub_api_key)
            parts = [
                client.option_quotes(u, str(d.date())) for u in self.options_underliers for d in self._sessions(a, b)
            ]
            return pd.concat(parts, ignore_index=True) if parts else empty_frame("option_quotes", fetched=True)
        if dataset in ("delistings", "earnings_calendar", "symbols"):
            return empty_frame(dataset, fetched=True)  # delistings: see the module docstring
        raise ValueError(
            f"dataset {dataset!r} has no vendor feed (planted-truth oracles exist for the synthetic market only)"
        )

    def delisted_without_return(self, start, end) -> pd.DataFrame:
        """Universe names Alpha Vantage lists as delisted in ``[start, end]`` (as of ``end``): no reason, no return."""
        client = self._client(AlphaVantage, "alphavantage", self.alphavantage_api_key)
        listing = client.listing_status("delisted", date=str(pd.Timestamp(end).date()))
        out = pd.DataFrame(
            {"symbol": listing["symbol"], "delist_date": pd.to_datetime(listing["delistingDate"], format="%Y-%m-%d")}
        )
        inside = out["symbol"].isin(self.symbols) & out["delist_date"].between(pd.Timestamp(start), pd.Timestamp(end))
        return out[inside].sort_values(["delist_date", "symbol"]).reset_index(drop=True)

    def window_metadata(self, dataset: str, sessions: pd.DatetimeIndex) -> dict:
        """Bars: how their spread was obtained. Delistings: the events left out for want of a return."""
        if dataset == "bars":
            return {"nbbo_spread": f"estimated ({SPREAD_ESTIMATOR}, floor one cent): Alpaca bars carry no quote"}
        if dataset != "delistings":
            return {}
        left_out = self.delisted_without_return(sessions[0], sessions[-1])
        names = [f"{s} {d:%Y-%m-%d}" for s, d in left_out.itertuples(index=False)]
        if names:
            dg.get_dagster_logger().warning(
                f"delistings not delivered (the vendor gives no reason nor delisting return): {', '.join(names)}"
            )
        return {"delisted_without_return": len(names), "delisted_without_return_names": ", ".join(names) or "none"}

    def source_uri(self, dataset: str) -> str:
        suffix = f"?vendor=alpaca&nbbo_spread={SPREAD_ESTIMATOR}" if dataset == "bars" else ""
        return f"vendor://{self.profile}/{dataset}{suffix}"

    def fingerprint(self) -> str:
        return config_fingerprint(
            {
                "source": "vendor",
                "version": SOURCE_VERSION,
                "symbols": sorted(self.symbols),
                "ciks": self.ciks,
                "options_underliers": sorted(self.options_underliers),
                "nbbo_spread": SPREAD_ESTIMATOR,
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


def vendor_source(profile, **overrides) -> VendorMarketSource:
    """The vendor source of a profile; keys from the environment (``dg.EnvVar``, see :data:`KEY_ENV`).

    ``overrides`` replace resource fields (e.g. ``rate_limits``, ``retry_backoff``).
    """
    src = profile.source
    fields = dict(
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
    return VendorMarketSource(**{**fields, **overrides})
