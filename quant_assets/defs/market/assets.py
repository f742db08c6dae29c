"""Raw vendor feeds and the curated layer built from them.

Raw assets store exactly what the source delivered for a window of sessions (validated at
the boundary, stamped with lineage, immutable once written). Curated assets derive from raw
ones only, session by session, so every curated row is as known at its date.
"""

import dagster as dg
import pandas as pd

from quant_assets import schemas
from quant_assets.config import Profile
from quant_assets.defs.lib.partitions import previous_session_and_window
from quant_assets.defs.lib.runtime import transform_id, window_sessions
from quant_assets.defs.lib.session_asset import session_asset
from quant_assets.defs.market.checks import CURATED_PRICE_CHECKS, arrival_check
from quant_assets.defs.market.schedules import MARKET_FRESHNESS
from quant_assets.defs.resources import MarketDataSource
from quant_assets.market import quality
from quant_assets.market.feeds import RAW_FEEDS, RawFeed, curate_window, ingest_feed


def raw_feed_asset(feed: RawFeed, partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The raw asset of a vendor feed: fetched, validated at the boundary, stamped, stored."""

    @session_asset(
        name=feed.name,
        schema=feed.schema,
        layer=feed.layer,
        group=feed.group,
        partitions_def=partitions_def,
        date_col=feed.date_col,
        freshness_policy=MARKET_FRESHNESS if feed.group != "oracle" else None,
        checks=[arrival_check(feed.known_at)],
        metadata={"source_dataset": feed.dataset},
        description=(feed.schema.__doc__ or "").strip().splitlines()[0],
    )
    def _asset(context: dg.AssetExecutionContext, market_source: MarketDataSource):
        sessions = window_sessions(context)
        df = ingest_feed(feed, market_source, sessions)
        context.log.info("%s: %d rows over %d sessions", feed.name, len(df), len(sessions))
        return df, market_source.window_metadata(feed.dataset, sessions)

    return _asset


def build_market_assets(profile: Profile, partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The raw feeds and the curated assets of the market-data graph for ``profile``."""
    fingerprint = profile.fingerprint()

    @session_asset(
        schema=schemas.AdjustedPrices,
        layer="curated",
        group="curated",
        partitions_def=partitions_def,
        freshness_policy=MARKET_FRESHNESS,
        checks=CURATED_PRICE_CHECKS,
        ins={
            "raw_bars": dg.AssetIn(partition_mapping=previous_session_and_window()),
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
        out = curate_window(
            window_sessions(context), raw_bars, raw_corporate_actions, raw_delistings, config_fingerprint=fingerprint
        )
        return out, {
            "splits": int((out["split_ratio"] != 1.0).sum()),
            "dividends": int((out["dividend"] > 0).sum()),
            "delistings": int(out["is_delisting"].sum()),
        }

    @session_asset(
        schema=schemas.OptionQuotes,
        layer="curated",
        group="curated",
        partitions_def=partitions_def,
        freshness_policy=MARKET_FRESHNESS,
    )
    def option_quotes(raw_option_quotes: pd.DataFrame):
        """Option NBBO quotes usable downstream: crossed, locked and zero-bid quotes excluded."""
        out = quality.usable_option_quotes(raw_option_quotes).reset_index(drop=True)
        out["transform_id"] = transform_id("option_quotes", fingerprint)
        return out, {"excluded_by_qc": int(len(raw_option_quotes) - len(out))}

    # Real data has no planted truth: the oracle feeds exist for the synthetic market only.
    raw = [raw_feed_asset(feed, partitions_def) for feed in RAW_FEEDS if profile.synthetic or feed.group != "oracle"]
    return [*raw, adjusted_prices, option_quotes]
