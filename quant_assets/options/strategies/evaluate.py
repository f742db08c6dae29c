"""One structure on one session: per-unit Greeks, premium, sizing under the Greeks budgets, costs.

Greeks of a structure are per unit (the legs' ratios times the contract multiplier): ``delta``
in shares, ``gamma`` in shares per USD, ``vega`` in USD per 1.00 of vol, ``theta`` in USD per
calendar day. Costs are the round trip (open now, close later at the same quotes) through
:func:`~quant_assets.options.strategies.costs.option_fill_costs`; ``worst_case_slippage_bps``
states them over the structure's gross premium.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from quant_assets.options.strategies.costs import option_daily_vol, option_fill_costs
from quant_assets.options.strategies.legs import Legs, leg_values
from quant_assets.options.strategies.policy import StrategyPolicy
from quant_assets.options.strategies_json import MAX_STRATEGIES

__all__ = ["Evaluated", "better_candidate", "evaluate", "leg_quotes", "size_units"]


@dataclass(frozen=True)
class Evaluated:
    """A structure's legs, leg values and per-unit figures on one session."""

    legs: Legs
    values: dict[str, np.ndarray]
    delta: float
    gamma: float
    vega: float
    theta: float
    premium: float  # gross premium per unit, USD (sum of |ratio| x price x multiplier)
    half_spread: np.ndarray
    volume: np.ndarray
    spot: float

    def round_trip_cost(self, units: float, policy: StrategyPolicy) -> float:
        """USD cost of opening and closing ``units`` of the structure."""
        contracts = self.legs.ratio * units
        dv = option_daily_vol(self.values["price"], self.values["vega"], self.values["vol"], policy.vol_of_vol_daily)
        return 2.0 * float(
            option_fill_costs(self.values["price"], self.half_spread, contracts, self.volume, dv, policy).sum()
        )


def leg_quotes(legs: Legs, quotes: pd.DataFrame | None, prices: np.ndarray, policy: StrategyPolicy):
    """Quoted half-spread and volume of each leg; the policy's fallbacks where no usable quote matches."""
    half = policy.fallback_half_spread * np.maximum(prices, 0.01)
    volume = np.full(legs.strike.size, float(policy.fallback_volume))
    if quotes is not None and len(quotes):
        exp = quotes["expiry"].to_numpy("datetime64[ns]")
        k, cp = quotes["strike"].to_numpy(float), quotes["cp_flag"].to_numpy()
        bid, ask, vol = (quotes[c].to_numpy(float) for c in ("bid", "ask", "volume"))
        for j in range(legs.strike.size):
            m = np.flatnonzero(
                (exp == legs.expiry[j]) & (k == legs.strike[j]) & (cp == ("C" if legs.is_call[j] else "P"))
            )
            if m.size and ask[m[0]] > bid[m[0]]:
                half[j] = 0.5 * (ask[m[0]] - bid[m[0]])
                volume[j] = max(vol[m[0]], 1.0)
    return half, volume


def evaluate(legs: Legs, slices: dict, spot: float, quotes, policy: StrategyPolicy) -> Evaluated:
    """Leg values and per-unit Greeks of ``legs`` on the session of ``slices``."""
    v = leg_values(legs, slices, spot)
    units = legs.ratio * policy.multiplier
    half, volume = leg_quotes(legs, quotes, v["price"], policy)
    return Evaluated(
        legs=legs,
        values=v,
        delta=float((units * v["delta"]).sum()),
        gamma=float((units * v["gamma"]).sum()),
        vega=float((units * v["vega"]).sum()),
        theta=float((units * v["theta"]).sum()) / 365.0,
        premium=float((np.abs(units) * v["price"]).sum()),
        half_spread=half,
        volume=volume,
        spot=float(spot),
    )


def size_units(ev: Evaluated, policy: StrategyPolicy, *, hedged: bool) -> int:
    """Units (>= 0) of the structure within its share of every Greeks budget.

    Vega up to ``vega_per_strategy`` of the book; gamma and (unhedged structures) dollar delta up
    to a :data:`MAX_STRATEGIES`-th of the caps."""
    book = policy.book_size
    limits = [
        (abs(ev.vega), policy.vega_per_strategy * book),
        (abs(ev.gamma) * ev.spot**2, policy.gamma_limit / MAX_STRATEGIES),
    ]
    if not hedged:
        limits.append((abs(ev.delta) * ev.spot, policy.delta_cap * book / MAX_STRATEGIES))
    units = [lim / x for x, lim in limits if x > 1e-12]
    return int(np.floor(min(units))) if units else 0


def better_candidate(
    best: dict | None, ev: Evaluated, units: int, gross: float, policy: StrategyPolicy, conf: float, **ids
) -> dict:
    """``best`` or ``units`` of the structure ``ev``, whichever nets more after round-trip costs.

    ``gross`` is the candidate's expected P&L before costs; ``ids`` (``sleeve, underlier, type, qty``)
    lead its row.
    """
    cost = ev.round_trip_cost(units, policy)
    net = gross - cost
    if best is not None and net <= best["expected_pnl_usd"]:
        return best
    return {**ids, "evaluated": ev, "expected_pnl_usd": net, "cost_usd": cost, "conf": conf}
