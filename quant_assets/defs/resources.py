"""Injected resources: the market-data source and the point-in-time Parquet IO manager.

External systems are ``ConfigurableResource`` interfaces with local implementations (the
seeded synthetic market; a directory of your own files) and, later, vendor implementations
with the same methods. The profile's ``source`` block picks one (:func:`market_source`).
"""

from __future__ import annotations

import json
import warnings
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from quant_assets.calendars import sessions_in_range
from quant_assets.config import Profile, load_profile
from quant_assets.defs.models.resources import build_model_resources
from quant_assets.market.lineage import config_fingerprint
from quant_assets.market.local_files import LAYOUT_VERSION, LAYOUTS, LocalFiles, MissingSessionsWarning
from quant_assets.market.profile_store import profile_store
from quant_assets.market.store import ParquetStore, view_name

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

    def window_metadata(self, dataset: str, sessions: pd.DatetimeIndex) -> dict:
        """Headline numbers about a fetched window, reported on the raw asset (none by default)."""
        return {}


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


@lru_cache(maxsize=2)
def _local_files(path: str, start: str, end: str, columns: str, signature: tuple) -> LocalFiles:
    # ``signature`` (name, size, mtime of every file) makes a changed directory a new entry.
    return LocalFiles(path, start, end, json.loads(columns))


class LocalFilesSource(MarketDataSource):
    """Your own daily data: a directory of CSV/Parquet files (:mod:`quant_assets.market.local_files`).

    Optional datasets that are absent are delivered empty with their columns. Real data has
    no planted truth: the oracle datasets do not exist (a local profile builds no oracle
    assets). Sessions a listed name has no bar on are logged and counted, never filled.
    """

    path: str
    start: str
    end: str
    columns: dict[str, str | None] = {}

    def files(self) -> LocalFiles:
        """The reader of the directory (parsed once; read again when a file changes)."""
        root = Path(self.path)
        signature = tuple(
            (str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*"))
            if p.is_file()
        )
        return _local_files(self.path, self.start, self.end, json.dumps(self.columns, sort_keys=True), signature)

    def fetch(self, dataset: str, start, end) -> pd.DataFrame:
        if dataset not in LAYOUTS:
            raise ValueError(
                f"dataset {dataset!r} does not exist in local files (they hold {sorted(LAYOUTS)}); "
                "planted-truth oracle datasets exist for the synthetic market only"
            )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", MissingSessionsWarning)
            df = self.files().fetch(dataset, start, end)
        for warning in caught:
            dg.get_dagster_logger().warning(f"{self.path}: {warning.message}")
        return df

    def missing_sessions(self, start=None, end=None) -> pd.DataFrame:
        """``symbol, date`` of the sessions listed names have no bar on (see ``LocalFiles``)."""
        return self.files().missing_sessions(start, end)

    def window_metadata(self, dataset: str, sessions: pd.DatetimeIndex) -> dict:
        """For bars: the window's gaps (sessions listed names have no bar on), counted and listed."""
        if dataset != "bars":
            return {}
        gaps = self.missing_sessions(sessions[0], sessions[-1])
        first = [f"{s} {d:%Y-%m-%d}" for s, d in gaps.head(20).itertuples(index=False)]
        return {
            "missing_sessions": int(len(gaps)),
            "names_with_gaps": int(gaps["symbol"].nunique()),
            "missing_sessions_first": ", ".join(first) or "none",
        }

    def source_uri(self, dataset: str) -> str:
        return f"local_files://{self.profile}/{dataset}"

    def fingerprint(self) -> str:
        # The reading rules, not the location nor the content (stored windows guard the content).
        return config_fingerprint({"source": "local_files", "layout": LAYOUT_VERSION, "columns": self.columns})

    def symbol_master(self) -> pd.DataFrame:
        return self.files().symbol_master()


class PITParquetIOManager(dg.ConfigurableIOManager):
    """Partitioned Parquet, one file per session, with a DuckDB view over each dataset.

    The asset's ``layer`` metadata picks the directory; raw, reference and oracle layers are
    immutable (identical re-ingestion is a no-op, different content is an error unless
    ``force_raw`` is set, and the old file is kept). ``partition_expr`` metadata names the
    date column that assigns rows to session partitions. Each run writes exactly the
    partitions of its window, so re-runs and backfills are safe. Inputs are read back with
    every file checked against the store's manifest.

    After each write, the dataset's view in the profile's DuckDB catalog (:func:`catalog_path`,
    the ``duckdb`` resource) is refreshed to list exactly the committed files; its name is
    reported as ``duckdb_view`` metadata.
    """

    profile: str
    force_raw: bool = False

    def store(self) -> ParquetStore:
        return profile_store(self.profile)

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
        # views list the committed files; duckdb_connect() and verify() re-check their bytes
        store.write_duckdb_catalog(catalog_path(self.profile), verify=False, datasets=[(layer, dataset)])
        statuses = pd.Series([r.status for r in results]).value_counts().to_dict()
        context.add_output_metadata(
            {
                "path": dg.MetadataValue.path(str(store.dataset_dir(layer, dataset))),
                "row_count": int(len(obj)),
                "partitions_written": int(sum(statuses.get(s, 0) for s in ("written", "replaced", "restored"))),
                "partitions_unchanged": int(statuses.get("unchanged", 0)),
                "duckdb_view": view_name(layer, dataset),
            }
        )

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        upstream = context.upstream_output
        layer, _ = self._layer_and_date_col(upstream.definition_metadata or {})
        dataset = context.asset_key.path[-1]
        keys = sorted(context.asset_partition_keys)
        # An input declared with ``allow_missing_partitions`` (e.g. a model reading all history)
        # reads the partitions stored so far instead of failing on those not yet materialized.
        allow_missing = bool((context.definition_metadata or {}).get("allow_missing_partitions"))
        return self.store().read_window(layer, dataset, keys[0], keys[-1], expected=keys, allow_missing=allow_missing)


def catalog_path(profile: Profile | str) -> Path:
    """The DuckDB catalog of a profile's store: views over every stored dataset."""
    return (load_profile(profile) if isinstance(profile, str) else profile).data_dir / "catalog.duckdb"


def market_source(profile: Profile) -> MarketDataSource:
    """The source named by the profile's ``source`` block (default: the synthetic market)."""
    if profile.source["kind"] == "vendor":
        from quant_assets.defs.vendor_source import vendor_source  # imports this module

        return vendor_source(profile)
    if profile.source["kind"] == "local_files":
        return LocalFilesSource(
            profile=profile.name,
            path=profile.source["path"],
            columns=profile.source["columns"],
            start=str(profile.start.date()),
            end=str(profile.end.date()),
        )
    return SyntheticMarketSource(profile=profile.name)


def build_resources(profile: Profile | str, *, force_raw: bool = False) -> dict:
    """The resources of a profile, as injected into ``Definitions`` and tests."""
    profile = load_profile(profile) if isinstance(profile, str) else profile
    name = profile.name
    return {
        "market_source": market_source(profile),
        "io_manager": PITParquetIOManager(profile=name, force_raw=force_raw),
        # SQL over the curated and raw layers for assets that prefer it to frames.
        "duckdb": DuckDBResource(database=str(catalog_path(name))),
        **build_model_resources(profile),
    }
