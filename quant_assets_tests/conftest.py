"""Test-wide settings: the graph is built for the small `tiny` profile, data goes to a temp dir."""

from __future__ import annotations

import os
import tempfile

# The profile the code location (quant_assets.definitions) serves in tests.
os.environ["QUANT_ASSETS_PROFILE"] = "tiny"
os.environ.setdefault("QUANT_ASSETS_DATA", tempfile.mkdtemp(prefix="quant_assets_test_data_"))
os.environ.setdefault("MPLBACKEND", "Agg")

# CI runs the property tests on a fixed example sequence (reproducible results); local runs
# keep exploring new examples.
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
