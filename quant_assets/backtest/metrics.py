"""Headline numbers of a backtest: net Sharpe/Sortino, drawdown, turnover, capacity, costs, impact."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from quant_assets.validation import probabilistic_sharpe_ratio

__all__ = ["capacity", "drawdown", "summarize"]


def drawdown(nav: pd.Series) -> pd.Series:
    """Drawdown from the running peak, ``nav / cummax(nav) - 1`` (<= 0)."""
    return nav / nav.cummax() - 1.0


def _longest_run(mask: np.ndarray) -> int:
    best = run = 0
    for m in mask:
        run = run + 1 if m else 0
        best = max(best, run)
    return best


def capacity(book_size: float, gross_edge: float, impact_cost: float) -> float:
    r"""Book size at which impact eats half the gross edge.

    Per trade, square-root impact costs ``|q| P Y σ sqrt(|q| / ADV)``: at a book ``B`` scaled
    from ``B_0`` with the same weights, impact dollars grow like ``B^{3/2}`` and as a fraction
    of the book like ``sqrt(B / B_0)``, while the gross edge (fraction of the book) stays put,
    so ``i_0 sqrt(B / B_0) = g / 2`` gives ``B = B_0 (g / (2 i_0))^2``. ``gross_edge`` and
    ``impact_cost`` are in the same units (e.g. currency over the backtest). Participation caps
    and partial fills at larger sizes are ignored (the estimate is optimistic there); 0 when
    the gross edge is not positive, infinite without impact.
    """
    if gross_edge <= 0:
        return 0.0
    if impact_cost <= 0:
        return math.inf
    return float(book_size * (gross_edge / (2.0 * impact_cost)) ** 2)


def summarize(equity: pd.DataFrame, orders: pd.DataFrame, initial_capital: float, periods_per_year: int) -> dict:
    """Metrics of an equity curve (``nav`` and the cost columns) and its order log.

    Modeled impact is the ex-ante square-root estimate of each order at arrival, as if filled
    at once, over the notional requested; realized impact is measured from the fill prices,
    ``± (fill - reference) q -`` half-spread, over the notional filled.
    """
    nav = pd.concat([pd.Series([initial_capital]), equity["nav"].reset_index(drop=True)], ignore_index=True)
    r = nav.pct_change().iloc[1:].to_numpy()
    n = r.size
    mean, sd = (float(r.mean()), float(r.std(ddof=1))) if n > 1 else (0.0, 0.0)
    downside = float(np.sqrt(np.mean(np.minimum(r, 0.0) ** 2))) if n else 0.0
    ann = math.sqrt(periods_per_year)
    sr = mean / sd if sd > 0 else 0.0
    dd = drawdown(nav).iloc[1:].to_numpy()
    costs = {k: float(equity[k].sum()) for k in ("fee", "spread", "impact", "borrow")}
    net_pnl = float(nav.iloc[-1] - initial_capital)
    gross_pnl = net_pnl + sum(costs.values())
    skew = float(stats.skew(r)) if n > 2 and sd > 0 else 0.0
    kurt = float(stats.kurtosis(r, fisher=False)) if n > 3 and sd > 0 else 3.0
    psr = float(probabilistic_sharpe_ratio(sr, n, skew, kurt)) if n > 1 and sd > 0 else math.nan
    filled = orders["filled_notional"].sum() if len(orders) else 0.0
    ordered = orders["requested_notional"].sum() if len(orders) else 0.0
    avg_nav = float(nav.mean())
    years = n / periods_per_year if n else math.nan
    return {
        "sessions": int(n),
        "net_pnl": net_pnl,
        "gross_pnl": gross_pnl,
        "total_return": float(nav.iloc[-1] / initial_capital - 1.0),
        "net_sharpe": sr * ann,
        "net_sortino": mean / downside * ann if downside > 0 else 0.0,
        "psr": psr,
        "skew": skew,
        "kurtosis": kurt,
        "max_drawdown": float(dd.min()) if n else 0.0,
        "time_under_water_sessions": _longest_run(dd < 0),
        "time_under_water_share": float(np.mean(dd < 0)) if n else 0.0,
        "turnover_ann": float(equity["traded_notional"].sum() / avg_nav / years) if n else 0.0,
        "costs": costs,
        "costs_bps_of_traded": {k: 1e4 * v / filled if filled else 0.0 for k, v in costs.items() if k != "borrow"},
        "capacity": capacity(initial_capital, gross_pnl, costs["impact"]),
        "modeled_impact_bps": float(1e4 * orders["modeled_impact"].sum() / ordered) if ordered else 0.0,
        "realized_impact_bps": float(1e4 * equity["impact_realized"].sum() / filled) if filled else 0.0,
    }
