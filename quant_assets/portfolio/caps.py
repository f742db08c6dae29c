"""Hard caps on target weights and on the trades that reach them, with a log of every bound hit.

Level caps (short-sale bound on hard-to-borrow names, single name, sector net, book net,
gross, book volatility) shape the target; trade caps (participation, turnover) then limit the
move from the current weights. Trade caps act per name (participation) and as one step
``t`` along the remaining move (turnover and any level cap the clipped move would break), so a
book that satisfies the level caps today keeps satisfying them: every level cap is convex in
the weights and holds at ``t = 0``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from quant_assets.portfolio.config import RiskConfig
from quant_assets.portfolio.risk import ex_ante_vol

__all__ = ["CONSTRAINT_COLUMNS", "CapLog", "LevelCaps", "limit_trades"]

CONSTRAINT_COLUMNS = ("symbol", "bound", "weight_before", "weight_after", "change")
_TOL = 1e-12


@dataclass
class CapLog:
    """Every weight a bound moved: which bound and by how much."""

    symbols: pd.Index
    rows: list[tuple] = field(default_factory=list)

    def record(self, bound: str, before: NDArray[np.float64], after: NDArray[np.float64]) -> None:
        """Log the names whose weight ``bound`` changed."""
        for i in np.flatnonzero(np.abs(after - before) > _TOL):
            self.rows.append(
                (str(self.symbols[i]), bound, float(before[i]), float(after[i]), float(after[i] - before[i]))
            )

    def frame(self) -> pd.DataFrame:
        """One row per (name, bound) hit, in the order applied."""
        return pd.DataFrame(self.rows, columns=list(CONSTRAINT_COLUMNS))


@dataclass(frozen=True)
class LevelCaps:
    """The level caps of one rebalance, evaluated on weight vectors aligned with ``sectors``."""

    cfg: RiskConfig
    sectors: NDArray[np.object_]
    lower: NDArray[np.float64]
    cov: NDArray[np.float64]
    other: NDArray[np.float64]

    def sector_caps(self) -> dict[str, float]:
        """Net cap of each sector present (names without a sector are outside the sector caps)."""
        present = {s for s in self.sectors.tolist() if isinstance(s, str)}
        return {s: self.cfg.cap_for_sector(s) for s in sorted(present)}

    def book_vol(self, w: NDArray[np.float64]) -> float:
        """Ex-ante annual volatility of this sleeve plus the other sleeves' weights."""
        return ex_ante_vol(w + self.other, self.cov, self.cfg.periods_per_year)

    def ratio(self, w: NDArray[np.float64]) -> float:
        """Largest ``exposure / cap`` over gross, net, sectors and book volatility (<= 1: within caps)."""
        c = self.cfg
        with np.errstate(over="ignore"):  # a vanishing cap gives an infinite ratio, as it should
            r = [np.abs(w).sum() / c.gross_cap, self.book_vol(w) / c.book_vol_cap_ann]
            r.append(abs(w.sum()) / c.net_cap if c.net_cap > 0 else (np.inf if abs(w.sum()) > _TOL else 0.0))
            for s, cap in self.sector_caps().items():
                r.append(abs(w[self.sectors == s].sum()) / cap)
        return float(max(r))

    def feasible(self, w: NDArray[np.float64], tol: float = 1e-9) -> bool:
        """All level caps hold (name, short-sale bound, sectors, net, gross, book volatility)."""
        return bool(
            self.ratio(w) <= 1.0 + tol
            and np.all(np.abs(w) <= self.cfg.name_cap + tol)
            and np.all(w >= self.lower - tol)
        )

    def apply(self, w: NDArray[np.float64], log: CapLog) -> NDArray[np.float64]:
        """Target weights within every level cap; each step logged under its bound's name."""
        c = self.cfg
        w = self._step(w, np.maximum(w, self.lower), "short_sale", log)
        w = self._step(w, np.clip(w, -c.name_cap, c.name_cap), "name", log)
        for s, cap in self.sector_caps().items():
            w = self._step(w, _shrink_dominant_side(w, self.sectors == s, cap), f"sector:{s}", log)
        w = self._step(w, _shrink_dominant_side(w, np.ones(w.size, bool), c.net_cap), "net", log)
        gross = np.abs(w).sum()
        w = self._step(w, w * min(1.0, c.gross_cap / gross) if gross > 0 else w, "gross", log)
        # Shrinking one side of a sector or the book can push another sector past its cap;
        # one uniform scale (every exposure is linear in it) settles whatever remains.
        ratio = self.ratio(w)
        w = self._step(w, w / ratio if ratio > 1.0 else w, "book_vol_or_residual", log)
        return w

    @staticmethod
    def _step(before: NDArray[np.float64], after: NDArray[np.float64], bound: str, log: CapLog):
        log.record(bound, before, after)
        return after


def _shrink_dominant_side(w: NDArray[np.float64], mask: NDArray[np.bool_], cap: float) -> NDArray[np.float64]:
    """Scale down the longs (net > cap) or the shorts (net < -cap) of ``mask`` so ``|net| = cap``."""
    net = float(w[mask].sum())
    if abs(net) <= cap:
        return w
    side = mask & ((w > 0) if net > 0 else (w < 0))
    total = float(w[side].sum())
    factor = max(0.0, (total - (net - np.sign(net) * cap)) / total)
    out = w.copy()
    out[side] *= factor
    return out


def limit_trades(
    target: NDArray[np.float64],
    current: NDArray[np.float64],
    max_trade: NDArray[np.float64],
    turnover_cap: float,
    feasible: Callable[[NDArray[np.float64]], bool],
    log: CapLog,
) -> NDArray[np.float64]:
    """Weights after the trade caps: participation per name, then one step along the move.

    ``|Δw_i| <= max_trade_i`` (participation); the clipped move ``d`` is then taken as
    ``current + t d`` with the largest ``t`` in [0, 1] such that ``sum |t d| <= turnover_cap``
    and, when ``current`` is within the level caps, ``feasible`` still holds (bisection; the
    feasible set of ``t`` is an interval because the caps are convex).
    """
    move = target - current
    clipped = np.clip(move, -max_trade, max_trade)
    log.record("participation", target, current + clipped)
    traded = float(np.abs(clipped).sum())
    t = min(1.0, turnover_cap / traded) if traded > 0 else 1.0
    w = current + t * clipped
    log.record("turnover", current + clipped, w)
    if not feasible(w) and feasible(current):
        lo, hi = 0.0, t
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if feasible(current + mid * clipped) else (lo, mid)
        before, w = w, current + lo * clipped
        log.record("level_caps_after_trade_limits", before, w)
    return w
