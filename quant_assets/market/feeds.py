"""The vendor feeds stored as raw assets, and the window functions that ingest and curate them.

A feed is fetched for a window of sessions from any object with the :class:`FeedSource`
methods, rejected at the boundary if it breaks its data contract, flagged where flags apply,
and stamped with lineage. Curated prices derive from the raw feeds only. The graph
(``quant_assets.defs.market``) and the pipeline benchmark call these same functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import pandas as pd

import quant_assets
from quant_assets import schemas
from quant_assets.calendars import previous_session
from quant_assets.market import adjustments, quality
from quant_assets.market.ingest import stamp_lineage
from quant_assets.market.lineage import transform_id_for

__all__ = ["RAW_FEEDS", "FeedSource", "RawFeed", "curate_window", "ingest_feed"]


class FeedSource(Protocol):
    """What a market-data source offers the ingestion (the graph's ``MarketDataSource``)."""

    def fetch(self, dataset: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame: ...

    def source_uri(self, dataset: str) -> str: ...

    def fingerprint(self) -> str: ...

    def symbol_master(self) -> pd.DataFrame: ...


@dataclass(frozen=True)
class RawFeed:
    """A vendor feed stored as a raw asset; its contract is ``schemas.DELIVERIES[dataset]``."""

    name: str
    dataset: str
    known_at: str
    layer: str = "raw"
    group: str = "raw"
    prepare: Callable[[pd.DataFrame], pd.DataFrame] | None = None

    @property
    def schema(self) -> type:
        """Pandera model of the stored artifact."""
        return schemas.DELIVERIES[self.dataset].schema

    @property
    def date_col(self) -> str:
        """Partition column."""
        return schemas.DELIVERIES[self.dataset].date_col


RAW_FEEDS = (
    RawFeed("raw_bars", "bars", "date"),
    RawFeed("raw_corporate_actions", "corporate_actions", "announce_date"),
    RawFeed("raw_delistings", "delistings", "delist_date"),
    RawFeed("raw_fundamentals", "fundamentals", "report_date"),
    RawFeed("raw_earnings_calendar", "earnings_calendar", "announce_date"),
    RawFeed("raw_option_quotes", "option_quotes", "date", prepare=quality.flag_option_quotes),
    RawFeed("symbols", "symbols", "date", layer="reference", group="reference"),
    RawFeed("rates", "rates", "date", layer="reference", group="reference"),
    RawFeed("oracle_expected_returns", "oracle", "date", layer="oracle", group="oracle"),
    RawFeed("oracle_option_surface", "option_oracle", "date", layer="oracle", group="oracle"),
)


def _context(feed: RawFeed, source: FeedSource, sessions: pd.DatetimeIndex) -> dict:
    """What :func:`~quant_assets.market.quality.validate_feed` needs beyond the delivery."""
    if feed.dataset != "corporate_actions":
        return {}
    before = sessions[0] - pd.Timedelta(days=1)
    closes = source.fetch("bars", previous_session(sessions[0]), sessions[-1])
    history = source.fetch(feed.dataset, sessions[0] - quality.SPLIT_REDELIVERY_LOOKBACK, before)
    return {"closes": closes[["date", "symbol", "close"]], "history": history}


def ingest_feed(feed: RawFeed, source: FeedSource, sessions: pd.DatetimeIndex) -> pd.DataFrame:
    """Fetch a window of a feed, reject bad input at the boundary, flag, stamp lineage.

    Validation is :func:`~quant_assets.market.quality.validate_feed` against the symbol master;
    corporate actions are also checked against the bars' previous closes and the source's
    earlier deliveries (a split delivered again with a moved ex-date is rejected).
    """
    df = source.fetch(feed.dataset, sessions[0], sessions[-1])
    quality.validate_feed(
        feed.dataset,
        df,
        sessions=sessions,
        known_symbols=set(source.symbol_master()["symbol"]),
        **_context(feed, source, sessions),
    )
    if feed.prepare is not None:
        df = feed.prepare(df)
    return stamp_lineage(
        df,
        known_at=feed.known_at,
        source_uri=source.source_uri(feed.dataset),
        transform_id=transform_id_for(feed.name, quant_assets.__version__, source.fingerprint()),
    )


def curate_window(
    sessions: pd.DatetimeIndex,
    raw_bars: pd.DataFrame,
    raw_corporate_actions: pd.DataFrame,
    raw_delistings: pd.DataFrame,
    *,
    config_fingerprint: str,
) -> pd.DataFrame:
    """Curated prices for ``sessions``; ``raw_bars`` may include the session before them.

    ``config_fingerprint`` identifies the configuration the rows are produced under (it goes
    into their ``transform_id``).
    """
    first = sessions[0]
    window = raw_bars[raw_bars["date"] >= first]
    prev = raw_bars[raw_bars["date"] < first]
    prev_close = prev.sort_values("date").groupby("symbol", as_index=False).last()[["symbol", "close"]]
    out = adjustments.curate_prices(window, prev_close, raw_corporate_actions, raw_delistings)
    return stamp_lineage(
        out,
        known_at="date",
        source_uri="quant_assets://curated/adjusted_prices",
        transform_id=transform_id_for("adjusted_prices", quant_assets.__version__, config_fingerprint),
    )
