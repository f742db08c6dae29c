"""Execution health: realized against modeled market impact.

The ratio of total realized to total modeled impact (1 when the square-root model is right on
average) and the mean per-fill residual in basis points of traded notional (the square-root
residuals of blueprint §13; Almgren, Thum, Hauptmann & Li 2005 for the model).

Example
-------
>>> modeled_vs_realized([10.0, 10.0], [12.0, 13.0], notional=[1e5, 1e5])
{'impact_ratio': 1.25, 'impact_residual_bps': 0.25, 'n_fills': 2}
"""

from __future__ import annotations

import numpy as np

__all__ = ["modeled_vs_realized"]


def modeled_vs_realized(modeled, realized, *, notional) -> dict[str, float]:
    """Impact ratio ``sum(realized) / sum(modeled)`` and mean residual ``(realized - modeled) / notional`` in bps.

    Amounts are in currency per fill; fills with a non-finite value are dropped. NaN when no
    fill remains or the model predicts no impact.
    """
    m, r, n = (np.asarray(v, dtype=float) for v in (modeled, realized, notional))
    keep = np.isfinite(m) & np.isfinite(r) & np.isfinite(n) & (n > 0)
    m, r, n = m[keep], r[keep], n[keep]
    if not m.size:
        return {"impact_ratio": float("nan"), "impact_residual_bps": float("nan"), "n_fills": 0}
    ratio = float(r.sum() / m.sum()) if m.sum() > 0 else float("nan")
    return {"impact_ratio": ratio, "impact_residual_bps": float(np.mean((r - m) / n) * 1e4), "n_fills": int(m.size)}
