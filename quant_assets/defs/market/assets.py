"""Raw vendor feeds and the curated layer built from them.

Raw assets store exactly what the source delivered for a window of sessions (validated at
the boundary, stamped with lineage, immutable once written). Curated assets derive from raw
ones only, session by session, so every curated row is as known at its date.
"""

import dagster as dg
import pandas as pd

from quant_assets import schemas
from quant_assets.defs.partitions import PREVIOUS_SESSION_AND_WINDOW
from quant_assets.defs.resources import MarketDataSource
from quant_assets.defs.runtime import PROFILE, transform_id, window_sessions
from quant_assets.defs.session_asset import session_asset
from quant_assets.market import quality
from quant_assets.market.feeds import RAW_FEEDS, RawFeed, curate_window, ingest_feed


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
    out = curate_window(window_sessions(context), raw_bars, raw_corporate_actions, raw_delistings,
                        config_fingerprint=PROFILE.fingerprint())
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
