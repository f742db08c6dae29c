"""The code location the Dagster tools load (``dagster ... -m quant_assets.definitions``).

This module, not the library, is the process entry: it reads the profile named by
``$QUANT_ASSETS_PROFILE`` (default ``demo``; the one environment read of the graph) and makes
the local SQLite instance cheap to write to (``defs.lib.instance_tuning``; set
``QUANT_ASSETS_SQLITE_DURABLE=1`` to keep SQLite's defaults). Everything else is built by
:func:`quant_assets.defs.build_definitions`.
"""

from __future__ import annotations

from quant_assets.config import load_profile
from quant_assets.defs import build_definitions
from quant_assets.defs.lib.instance_tuning import tune_local_sqlite

PROFILE = load_profile()  # $QUANT_ASSETS_PROFILE, else "demo"
tune_local_sqlite()

defs = build_definitions(PROFILE)
