"""Market data: point-in-time Parquet store, lineage, boundary validation, adjustments."""

from quant_assets.market.adjustments import (
    ADJUSTED_COLUMNS,
    CURATED_COLUMNS,
    curate_prices,
    pit_adjusted_history,
)
from quant_assets.market.errors import (
    BadVendorData,
    ImmutablePartitionError,
    MissingPartitionsError,
)
from quant_assets.market.lineage import (
    LINEAGE_COLUMNS,
    add_lineage,
    config_fingerprint,
    transform_id_for,
    validate_lineage,
)
from quant_assets.market.quality import (
    QC_FLAGS,
    flag_option_quotes,
    ingest_validated,
    usable_option_quotes,
    validate_feed,
)
from quant_assets.market.store import (
    ParquetStore,
    PartitionMismatch,
    StoreIntegrityError,
    WriteResult,
    parquet_bytes,
)

__all__ = [
    "ADJUSTED_COLUMNS",
    "CURATED_COLUMNS",
    "LINEAGE_COLUMNS",
    "QC_FLAGS",
    "BadVendorData",
    "StoreIntegrityError",
    "ImmutablePartitionError",
    "MissingPartitionsError",
    "ParquetStore",
    "PartitionMismatch",
    "WriteResult",
    "add_lineage",
    "config_fingerprint",
    "curate_prices",
    "flag_option_quotes",
    "ingest_validated",
    "parquet_bytes",
    "pit_adjusted_history",
    "transform_id_for",
    "usable_option_quotes",
    "validate_feed",
    "validate_lineage",
]
