"""Smile plots (quotes against the fitted slices) as PNG bytes, for asset metadata and reports."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from quant_assets.options.surfaces.fit import SVI_KEYS
from quant_assets.options.svi import svi_total_variance

__all__ = ["smile_png"]


def smile_png(points: pd.DataFrame, slices: pd.DataFrame, underlier: str, max_expiries: int = 4) -> bytes:
    """PNG of ``underlier``'s implied vols (dots: used quotes) and fitted smiles (lines) per expiry."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.0, 3.2), dpi=80)
    ax = fig.add_subplot()
    s = slices[slices["underlier"] == underlier].sort_values("expiry")
    step = max(1, int(np.ceil(len(s) / max_expiries)))
    used = points[(points["underlier"] == underlier) & (points["reason"] == "used")]
    for row in s.iloc[::step].itertuples(index=False):
        q = used[used["expiry"] == row.expiry]
        grid = np.linspace(row.k_min, row.k_max, 80)
        w = np.asarray(svi_total_variance(grid, *(getattr(row, c) for c in SVI_KEYS)), float)
        line = ax.plot(
            grid,
            100 * np.sqrt(np.maximum(w, 0) / row.t_years),
            label=f"{pd.Timestamp(row.expiry):%Y-%m-%d} ({row.source})",
        )[0]
        ax.plot(q["k"], 100 * q["iv"], "o", ms=3, color=line.get_color())
    ax.set_xlabel("log-moneyness ln(K/F)")
    ax.set_ylabel("implied vol (%)")
    ax.set_title(f"{underlier}: quotes vs SVI fit")
    ax.legend(fontsize=6)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
