"""``data_freshness``: the 07:00 verification that every feed's previous session is stored.

Partitioned by session ``t``: for each feed (the raw, reference and curated assets) the row
says whether session ``t - 1`` is committed in the profile's Parquet store (the data the day
will read, whichever Dagster instance wrote it), and the latest stored session up to ``t``. A stale feed
fails the asset with a message naming it; nothing is stored, so the later morning steps of
``t`` skip (:mod:`quant_assets.defs.operations.runbook`). The feeds are upstream dependencies
(``t - 1``), so the lineage view shows what the verification covers and a backfill runs it after
them. The first session of the profile has no previous session to verify.
"""

from collections.abc import Mapping

import dagster as dg
import pandas as pd

from quant_assets import schemas
from quant_assets.config import Profile
from quant_assets.defs.lib.runtime import stamp_rows, window_sessions
from quant_assets.defs.lib.session_asset import session_asset
from quant_assets.market.profile_store import profile_store
from quant_assets.market.store import ParquetStore

__all__ = ["FEED_GROUPS", "build_freshness_asset", "stale_feeds"]

FEED_GROUPS = ("raw", "reference", "curated")
GROUP = "operations"


def stale_feeds(rows: pd.DataFrame) -> str:
    """``'raw_bars (expected 2024-01-04, last stored 2024-01-03), ...'`` for the stale rows, else ``''``."""
    bad = rows[~rows["fresh"]]
    return ", ".join(
        f"{r.feed} (expected {r.expected:%Y-%m-%d}, last stored "
        f"{'never' if pd.isna(r.last_stored) else f'{r.last_stored:%Y-%m-%d}'})"
        for r in bad.itertuples()
    )


def _verify(store: ParquetStore, feeds: Mapping[str, str], day: pd.Timestamp, prev: str | None) -> pd.DataFrame:
    rows = []
    for feed, layer in sorted(feeds.items()):
        stored = [f"{d:%Y-%m-%d}" for d in store.partitions(layer, feed) if d <= day]
        last = pd.Timestamp(stored[-1]) if stored else pd.NaT
        rows.append(
            {
                "date": day,
                "feed": feed,
                "expected": pd.Timestamp(prev) if prev else pd.NaT,
                "last_stored": last,
                "fresh": prev is None or prev in stored,
            }
        )
    return pd.DataFrame(rows)


def build_freshness_asset(
    profile: Profile, partitions_def: dg.TimeWindowPartitionsDefinition, feeds: Mapping[str, str]
) -> dg.AssetsDefinition:
    """The ``data_freshness`` asset over ``feeds`` (asset key -> store layer of the graph's feeds)."""
    previous = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1, allow_nonexistent_upstream_partitions=True)
    keys = partitions_def.get_partition_keys()
    before = {k: (keys[i - 1] if i else None) for i, k in enumerate(keys)}
    fingerprint = profile.fingerprint()

    @session_asset(
        schema=schemas.DataFreshness,
        layer="monitoring",
        group=GROUP,
        partitions_def=partitions_def,
        deps=[dg.AssetDep(feed, partition_mapping=previous) for feed in sorted(feeds)],
    )
    def data_freshness(context: dg.AssetExecutionContext):
        """Every feed's previous session is stored before the day starts (else the day stops, naming the feed)."""
        store = profile_store(profile)
        frames = [_verify(store, feeds, day, before[f"{day:%Y-%m-%d}"]) for day in window_sessions(context)]
        df = pd.concat(frames, ignore_index=True)
        stale = stale_feeds(df)
        if stale:
            raise dg.Failure(
                description=f"stale feeds, the day stops: {stale}",
                metadata={"stale": stale, "sessions": ", ".join(f"{d:%Y-%m-%d}" for d in window_sessions(context))},
            )
        df = stamp_rows(df, "monitoring", "data_freshness", "date", fingerprint)
        return df, {"feeds": len(feeds), "stale": "none"}

    return data_freshness
