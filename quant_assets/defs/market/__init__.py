"""The market data assets: raw feeds as delivered, curated prices, their checks and schedules."""

EQUITY_MARKET_ASSETS = (
    "sessions",
    "symbols",
    "rates",
    "raw_bars",
    "raw_corporate_actions",
    "raw_delistings",
    "raw_fundamentals",
    "raw_earnings_calendar",
    "adjusted_prices",
)
"""Keys of the market assets the equity sleeve reads (calendar, reference data, equity feeds, adjusted prices)."""
