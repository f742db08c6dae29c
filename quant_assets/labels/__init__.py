"""Execution-aligned labels (blueprint §4.1); see :mod:`quant_assets.labels.barrier`."""

from quant_assets.labels.barrier import (
    LABEL_COLUMNS,
    OUTCOMES,
    LabelConfig,
    build_label_panel,
    label_columns,
    triple_barrier,
)
from quant_assets.research.frames import MarketFrames

__all__ = [
    "LABEL_COLUMNS",
    "OUTCOMES",
    "LabelConfig",
    "MarketFrames",
    "build_label_panel",
    "label_columns",
    "triple_barrier",
]
