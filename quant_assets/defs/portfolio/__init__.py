"""The portfolio assets of the equities sleeve: daily targets, the backtest of the stored targets, the blotter.

See :mod:`quant_assets.defs.portfolio.assets` for the partitioning and where each artifact lives.
"""
