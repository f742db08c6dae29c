"""Reports: human-readable markdown and figures, machine-readable JSON."""

from quant_assets.reporting.market_summary import MarketSummary, write_market_summary

__all__ = ["MarketSummary", "write_market_summary"]
