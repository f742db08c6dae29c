"""Performance stability of a live book: information ratio by month and time under water.

``monthly_ir`` is the annualised information ratio of each calendar month, ``sqrt(P) *
mean(a) / std(a)`` over the month's daily active returns ``a = r - b`` (Grinold & Kahn 2000,
*Active Portfolio Management*, ch. 5); a month with fewer than ``min_obs`` sessions or no
dispersion is NaN. Time under water is counted in sessions below the running peak of the NAV
(drawdown as in :func:`quant_assets.backtest.metrics.drawdown`).

Example
-------
>>> nav = pd.Series([100.0, 101, 99, 100, 102, 101])
>>> time_under_water(nav)
{'current_sessions': 1, 'longest_sessions': 2}
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from quant_assets.backtest.metrics import drawdown

PERIODS_PER_YEAR = 252

__all__ = ["monthly_ir", "time_under_water"]


def monthly_ir(
    returns: pd.Series, benchmark: pd.Series | None = None, *, periods: int = PERIODS_PER_YEAR, min_obs: int = 5
) -> pd.Series:
    """Annualised information ratio per calendar month, indexed by the month (``Period[M]``)."""
    active = returns if benchmark is None else returns - benchmark.reindex(returns.index).fillna(0.0)
    active = active.dropna()
    if active.empty:
        return pd.Series(dtype=float, name="ir")
    months = pd.DatetimeIndex(active.index).to_period("M")
    grouped = active.groupby(months)
    mean, std, n = grouped.mean(), grouped.std(ddof=1), grouped.count()
    ir = np.sqrt(periods) * mean / std.where(std > 0)
    return ir.where(n >= min_obs).rename("ir")


def time_under_water(nav: pd.Series) -> dict[str, int]:
    """Sessions below the running peak: the current spell and the longest one."""
    under = (drawdown(nav.dropna()) < 0).to_numpy()
    longest = current = 0
    for flag in under:
        current = current + 1 if flag else 0
        longest = max(longest, current)
    return {"current_sessions": int(current), "longest_sessions": int(longest)}
