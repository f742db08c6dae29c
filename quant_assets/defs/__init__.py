"""The Dagster graph, one folder per domain; ``quant_assets.definitions`` assembles it.

The graph deliberately uses Dagster APIs marked beta or preview (single-run backfill
policies, ``dagster-pandera`` types, partition mappings that tolerate the first session);
their warnings are silenced here once instead of on every import.
"""

import warnings

import dagster as dg

for _category in (dg.BetaWarning, dg.PreviewWarning):
    warnings.filterwarnings("ignore", category=_category)
