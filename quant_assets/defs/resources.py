"""Injected resources: the market-data source and the point-in-time Parquet IO manager.

External systems are ``ConfigurableResource`` interfaces with a local implementation (the
seeded synthetic market) and, later, vendor implementations with the same methods.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import ClassVar

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from quant_assets.calendars import sessions_in_range
from quant_assets.config import Profile, load_profile
from quant_assets.market.store import ParquetStore

RAW_LAYERS = frozenset({"raw", "reference", "oracle"})


@lru_cache(maxsize=4)
def _synthetic_market(profile_name: str):
    from quant_assets.market.synthetic import MarketConfig, SyntheticMarket

    profile = load_profile(profile_name)
    cfg = MarketConfig.from_dict(profile.market)
    return SyntheticMarket(cfg, sessions_in_range(cfg.start, cfg.end))


class MarketDataSource(dg.ConfigurableResource):
    """Where raw market data comes from (the interface vendor connectors implement)."""

    profile: str

    def fetch(self, dataset: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        raise NotImplementedError

    def source_uri(self, dataset: str) -> str:
        raise NotImplementedError

    def fingerprint(self) -> str:
        raise NotImplementedError

    def symbol_master(self) -> pd.DataFrame:
        raise NotImplementedError


class SyntheticMarketSource(MarketDataSource):
    """The embedded, seeded synthetic market of the profile (the default offline source)."""

    DATASETS: ClassVar[tuple[str, ...]] = (
        "bars",
        "corporate_actions",
        "delistings",
        "fundamentals",
        "earnings_calendar",
        "symbols",
        "rates",
        "option_quotes",
        "oracle",
        "option_oracle",
    )

    def _market(self):
        return _synthetic_market(self.profile)

    def fetch(self, dataset: str, start, end) -> pd.DataFrame:
        if dataset not in self.DATASETS:
            raise ValueError(f"unknown dataset {dataset!r}; expected one of {self.DATASETS}")
        return getattr(self._market(), dataset)(pd.Timestamp(start), pd.Timestamp(end))

    def source_uri(self, dataset: str) -> str:
        cfg = self._market().config
        return f"synthetic://{self.profile}/{dataset}?seed={cfg.seed}&config={cfg.fingerprint()[:12]}"

    def fingerprint(self) -> str:
        return self._market().config.fingerprint()

    def symbol_master(self) -> pd.DataFrame:
        return self._market().symbol_master()


class PITParquetIOManager(dg.ConfigurableIOManager):
    """Partitioned Parquet, one file per session, with a DuckDB view over each dataset.

    The asset's ``layer`` metadata picks the directory; raw, reference and oracle layers are
    immutable (identical re-ingestion is a no-op, different content is an error unless
    ``force_raw`` is set, and the old file is kept). ``partition_expr`` metadata names the
    date column that assigns rows to session partitions. Each run writes exactly the
    partitions of its window, so re-runs and backfills are safe.
    """

    profile: str
    force_raw: bool = False

    def store(self) -> ParquetStore:
        return ParquetStore(load_profile(self.profile).data_dir / "store", sessions=sessions_in_range)

    @staticmethod
    def _layer_and_date_col(metadata) -> tuple[str, str]:
        layer = metadata.get("layer")
        date_col = metadata.get("partition_expr")
        if not layer or not date_col:
            raise dg.DagsterInvariantViolationError(
                "assets stored by PITParquetIOManager need 'layer' and 'partition_expr' metadata"
            )
        return str(layer), str(date_col)

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        layer, date_col = self._layer_and_date_col(context.definition_metadata or {})
        dataset = context.asset_key.path[-1]
        keys = sorted(context.asset_partition_keys)
        store = self.store()
        results = store.write_window(
            layer,
            dataset,
            obj,
            date_col,
            [pd.Timestamp(k) for k in keys],
            immutable=layer in RAW_LAYERS,
            force=self.force_raw,
        )
        statuses = pd.Series([r.status for r in results]).value_counts().to_dict()
        context.add_output_metadata(
            {
                "path": dg.MetadataValue.path(str(store.dataset_dir(layer, dataset))),
                "row_count": int(len(obj)),
                "partitions_written": int(statuses.get("written", 0) + statuses.get("replaced", 0)),
                "partitions_unchanged": int(statuses.get("unchanged", 0)),
                "duckdb_view": f"{layer}_{dataset}",
            }
        )

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        upstream = context.upstream_output
        layer, _ = self._layer_and_date_col(upstream.definition_metadata or {})
        dataset = context.asset_key.path[-1]
        keys = sorted(context.asset_partition_keys)
        return self.store().read_window(layer, dataset, keys[0], keys[-1], expected=keys)


def catalog_path(profile: Profile | str) -> Path:
    """The DuckDB catalog of a profile's store: views over every stored dataset."""
    return (load_profile(profile) if isinstance(profile, str) else profile).data_dir / "catalog.duckdb"


def build_resources(profile: Profile | str, *, force_raw: bool = False) -> dict:
    """The resources of a profile, as injected into ``Definitions`` and tests."""
    name = profile if isinstance(profile, str) else profile.name
    return {
        "market_source": SyntheticMarketSource(profile=name),
        "io_manager": PITParquetIOManager(profile=name, force_raw=force_raw),
        # SQL over the curated and raw layers for assets that prefer it to frames.
        "duckdb": DuckDBResource(database=str(catalog_path(name))),
    }
