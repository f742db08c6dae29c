"""Seeded synthetic market: vendor-shaped equity, corporate-action, reference and option feeds
with a known planted truth (the oracle)."""

from quant_assets.market.synthetic.config import SECTORS, MarketConfig
from quant_assets.market.synthetic.generator import SyntheticMarket

__all__ = ["SECTORS", "MarketConfig", "SyntheticMarket"]
