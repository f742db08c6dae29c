"""quant_assets: equities + options research and paper trading as a Dagster asset graph."""

__version__ = "0.1.0"
