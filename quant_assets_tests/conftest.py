"""Test-wide settings: the graph is built for the small `tiny` profile, data goes to a temp dir."""

from __future__ import annotations

import os
import tempfile

# Must be set before quant_assets.defs is imported: a code location serves one profile.
os.environ["QUANT_ASSETS_PROFILE"] = "tiny"
os.environ.setdefault("QUANT_ASSETS_DATA", tempfile.mkdtemp(prefix="quant_assets_test_data_"))
os.environ.setdefault("MPLBACKEND", "Agg")
