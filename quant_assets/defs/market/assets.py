"""Raw vendor feeds and the curated layer built from them.

Raw assets store exactly what the source delivered for a window of sessions (validated at
the boundary, stamped with lineage, immutable once written). Curated assets derive from raw
ones only, session by session, so every curated row is as known at its date.
"""


from dataclasses import dataclass
from typing import Callable

import dagster as dg
import pandas as pd

from quant_assets import schemas
from quant_assets.defs.partitions import PREVIOUS_SESSION_AND_WINDOW
from quant_assets.defs.resources import MarketDataSource
from quant_assets.defs.runtime import transform_id, window_sessions
from quant_assets.defs.session_asset import session_asset
from quant_assets.market import adjustments, quality
from quant_assets.market.ingest import stamp_lineage


@dataclass(frozen=True)
class RawFeed:
    """A vendor feed stored as a raw asset."""

    name: str
    dataset: str
    schema: type
    date_col: str
    known_at: str
    # Boundary checks beyond the schema: (frame, window sessions, known symbols) -> None or raise.
    validate: Callable[[pd.DataFrame, pd.DatetimeIndex, set], None] | None = None
    layer: str = "raw"
    group: str = "raw"
    prepare: Callable[[pd.DataFrame], pd.DataFrame] | None = None


def _symbols_only(fn):
    return lambda df, sessions, known: fn(df, known_symbols=known)


def _frame_only(fn):
    return lambda df, sessions, known: fn(df)


RAW_FEEDS = (
    RawFeed(
        "raw_bars", "bars", schemas.RawBars, "date", "date",
        lambda df, sessions, known: quality.validate_bars(
            df, known_symbols=known, expected_sessions=sessions
        ),
    ),
    RawFeed(
        "raw_corporate_actions", "corporate_actions", schemas.CorporateActions, "ex_date",
        "announce_date", _symbols_only(quality.validate_corporate_actions),
    ),
    RawFeed(
        "raw_delistings", "delistings", schemas.Delistings, "delist_date", "delist_date",
        _symbols_only(quality.validate_delistings),
    ),
    RawFeed(
        "raw_fundamentals", "fundamentals", schemas.Fundamentals, "report_date", "report_date",
        _symbols_only(quality.validate_fundamentals),
    ),
    RawFeed(
        "raw_earnings_calendar", "earnings_calendar", schemas.EarningsCalendar, "announce_date",
        "announce_date",
    ),
    RawFeed(
        "raw_option_quotes", "option_quotes", schemas.RawOptionQuotes, "date", "date",
        _frame_only(quality.validate_option_quotes), prepare=quality.flag_option_quotes,
    ),
    RawFeed("symbols", "symbols", schemas.Symbols, "date", "date", layer="reference", group="reference"),
    RawFeed(
        "rates", "rates", schemas.Rates, "date", "date", _frame_only(quality.validate_rates),
        layer="reference", group="reference",
    ),
    RawFeed(
        "oracle_expected_returns", "oracle", schemas.OracleExpectedReturns, "date", "date",
        layer="oracle", group="oracle",
    ),
    RawFeed(
        "oracle_option_surface", "option_oracle", schemas.OracleOptionSurface, "date", "date",
        layer="oracle", group="oracle",
    ),
)


def ingest_feed(feed: RawFeed, source: MarketDataSource, sessions: pd.DatetimeIndex) -> pd.DataFrame:
    """Fetch a window of a feed, reject bad input at the boundary, flag, stamp lineage."""
    df = source.fetch(feed.dataset, sessions[0], sessions[-1])
    if feed.validate is not None:
        feed.validate(df, sessions, set(source.symbol_master()["symbol"]))
    if feed.prepare is not None:
        df = feed.prepare(df)
    return stamp_lineage(
        df,
        known_at=feed.known_at,
        source_uri=source.source_uri(feed.dataset),
        transform_id=transform_id(feed.name, source.fingerprint()),
    )


def curate_window(
    sessions: pd.DatetimeIndex,
    raw_bars: pd.DataFrame,
    raw_corporate_actions: pd.DataFrame,
    raw_delistings: pd.DataFrame,
) -> pd.DataFrame:
    """Curated prices for ``sessions``; ``raw_bars`` may include the session before them."""
    first = sessions[0]
    window = raw_bars[raw_bars["date"] >= first]
    prev = raw_bars[raw_bars["date"] < first]
    prev_close = prev.sort_values("date").groupby("symbol", as_index=False).last()[["symbol", "close"]]
    out = adjustments.curate_prices(window, prev_close, raw_corporate_actions, raw_delistings)
    return stamp_lineage(
        out, known_at="date", source_uri="quant_assets://curated/adjusted_prices",
        transform_id=transform_id("adjusted_prices"),
    )


def raw_feed_asset(feed: RawFeed) -> dg.AssetsDefinition:
    @session_asset(
        name=feed.name,
        schema=feed.schema,
        layer=feed.layer,
        group=feed.group,
        date_col=feed.date_col,
        fresh=feed.group != "oracle",
        metadata={"source_dataset": feed.dataset},
        description=(feed.schema.__doc__ or "").strip().splitlines()[0],
    )
    def _asset(context: dg.AssetExecutionContext, market_source: MarketDataSource):
        sessions = window_sessions(context)
        df = ingest_feed(feed, market_source, sessions)
        context.log.info("%s: %d rows over %d sessions", feed.name, len(df), len(sessions))
        return df, {}

    return _asset


raw_assets = [raw_feed_asset(feed) for feed in RAW_FEEDS]


@session_asset(
    schema=schemas.AdjustedPrices,
    layer="curated",
    group="curated",
    ins={
        "raw_bars": dg.AssetIn(partition_mapping=PREVIOUS_SESSION_AND_WINDOW),
        "raw_corporate_actions": dg.AssetIn(),
        "raw_delistings": dg.AssetIn(),
    },
)
def adjusted_prices(
    context: dg.AssetExecutionContext,
    raw_bars: pd.DataFrame,
    raw_corporate_actions: pd.DataFrame,
    raw_delistings: pd.DataFrame,
):
    """Raw OHLCV with split/dividend events and split-adjusted and total returns, as known each session."""
    out = curate_window(window_sessions(context), raw_bars, raw_corporate_actions, raw_delistings)
    return out, {
        "splits": int((out["split_ratio"] != 1.0).sum()),
        "dividends": int((out["dividend"] > 0).sum()),
        "delistings": int(out["is_delisting"].sum()),
    }


@session_asset(
    schema=schemas.OptionQuotes,
    layer="curated",
    group="curated",
)
def option_quotes(raw_option_quotes: pd.DataFrame):
    """Option NBBO quotes usable downstream: crossed, locked and zero-bid quotes excluded."""
    out = quality.usable_option_quotes(raw_option_quotes).reset_index(drop=True)
    out["transform_id"] = transform_id("option_quotes")
    return out, {"excluded_by_qc": int(len(raw_option_quotes) - len(out))}


curated_assets = [adjusted_prices, option_quotes]
