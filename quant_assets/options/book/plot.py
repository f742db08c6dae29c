"""Cumulative Greeks attribution of each options sleeve (PNG)."""

from __future__ import annotations

import io

import pandas as pd
from matplotlib.figure import Figure

from quant_assets.options.book.engine import BUCKETS

__all__ = ["attribution_png"]


def attribution_png(daily: pd.DataFrame) -> bytes:
    """One panel per sleeve: cumulative delta, gamma, theta, vega, residual, costs and net PnL (USD)."""
    sleeves = sorted(daily["sleeve"].unique())
    fig = Figure(figsize=(9, 3.2 * max(len(sleeves), 1)))
    axes = fig.subplots(max(len(sleeves), 1), 1, squeeze=False)[:, 0]
    for ax, sleeve in zip(axes, sleeves, strict=False):
        d = daily[daily["sleeve"] == sleeve].set_index("date").sort_index()
        for col in BUCKETS:
            ax.plot(d.index, d[col].cumsum(), label=col, lw=1)
        ax.plot(d.index, -d["costs"].cumsum(), label="costs", lw=1, ls="--")
        ax.plot(d.index, d["net"].cumsum(), label="net", lw=2, color="black")
        ax.set_title(f"{sleeve} sleeve: cumulative PnL attribution (USD)")
        ax.legend(ncol=4, fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()
