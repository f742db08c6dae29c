"""Option fill costs (quoted half-spread or worse, fee, impact scaled by option volume) and
the early-assignment flag of short American calls before ex-dividend dates.

Costs go through the core :class:`quant_assets.execution.CostModel` (one cost model): a fill of
``n`` contracts is ``n x multiplier`` shares of the option at its mid, paying
``spread_worse x`` the quoted half-spread, the per-contract fee and square-root impact
(Tóth et al. 2011) with the option's own daily volume as ADV and the daily volatility of its
delta-hedged value as the price volatility: ``vega x nu x sigma / V`` with ``nu`` the daily
relative vol of implied vol (``vol_of_vol_daily``): the risk a market maker warehouses once the
delta is hedged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from quant_assets.execution.cost_model import CostModel
from quant_assets.options.strategies.policy import StrategyPolicy

__all__ = ["assignment_risk", "hedge_cost", "option_fill_costs", "option_daily_vol", "projected_ex_dividends"]

_MIN_PRICE = 0.01


def option_daily_vol(price: ArrayLike, vega: ArrayLike, vol: ArrayLike, vol_of_vol_daily: float) -> np.ndarray:
    """Daily volatility of an option's delta-hedged value as a fraction of its price:
    ``vega x vol_of_vol_daily x vol / price``."""
    p = np.maximum(np.asarray(price, float), _MIN_PRICE)
    return np.abs(np.asarray(vega, float)) * vol_of_vol_daily * np.asarray(vol, float) / p


def _model(policy: StrategyPolicy) -> CostModel:
    return CostModel(
        fee_per_share=policy.fee_per_contract / policy.multiplier, impact_y=policy.impact_y, max_participation=1.0
    )


def option_fill_costs(
    mid: ArrayLike,
    half_spread: ArrayLike,
    contracts: ArrayLike,
    volume: ArrayLike,
    daily_vol: ArrayLike,
    policy: StrategyPolicy,
) -> np.ndarray:
    """USD cost of filling ``contracts`` (either sign) of each option: spread, fee and impact.

    Parameters
    ----------
    mid, half_spread : array_like
        Quoted mid and half-spread per share of the option.
    contracts : array_like
        Contracts traded (the absolute value is used).
    volume : array_like
        The option's daily volume in contracts (floored at one contract).
    daily_vol : array_like
        Daily price volatility of the option, fraction (:func:`option_daily_vol`).
    """
    m = policy.multiplier
    shares = np.abs(np.asarray(contracts, float)) * m
    price = np.maximum(np.asarray(mid, float), _MIN_PRICE)
    spread = 2.0 * np.maximum(np.asarray(half_spread, float), 0.0) * policy.spread_worse
    adv = np.maximum(np.asarray(volume, float), 1.0) * m
    c = _model(policy).costs(shares, price, spread, adv, np.asarray(daily_vol, float))
    return np.asarray(c.total, float)


def hedge_cost(shares: ArrayLike, spot: ArrayLike, policy: StrategyPolicy) -> np.ndarray:
    """USD half-spread paid re-hedging ``shares`` of the underlier at ``hedge_spread_bps``."""
    s = np.asarray(spot, float)
    return np.asarray(_model(policy).spread_cost(shares, s * 1e-4 * policy.hedge_spread_bps), float)


def projected_ex_dividends(corporate_actions: pd.DataFrame, asof, horizon_days: int = 400) -> pd.DataFrame:
    """Ex-dividend dates after ``asof`` projected from the announced history known by ``asof``.

    Each underlier's next ex-dates repeat its last known dividend amount at the median interval
    between its known ex-dates (91 days with a single one) until ``asof + horizon_days``; an
    announced ex-date after ``asof`` is kept as announced.
    Returns ``underlier, ex_date, amount``.
    """
    asof = pd.Timestamp(asof)
    ca = corporate_actions[
        (corporate_actions["event_type"] == "dividend") & (pd.DatetimeIndex(corporate_actions["announce_date"]) <= asof)
    ]
    rows = []
    for name, g in ca.sort_values("ex_date").groupby("symbol"):
        ex = pd.DatetimeIndex(g["ex_date"])
        step = pd.Timedelta(days=float(np.median(np.diff(ex.asi8)) / 86_400e9) if len(ex) > 1 else 91.0)
        rows += [(name, d, float(a)) for d, a in zip(ex[ex > asof], g["amount"][ex > asof], strict=True)]
        nxt, amount = ex[-1], float(g["amount"].iloc[-1])
        while nxt <= asof + pd.Timedelta(days=horizon_days):
            nxt = nxt + step
            if nxt > asof and nxt > ex[-1]:
                rows.append((name, nxt.normalize(), amount))
    return pd.DataFrame(rows, columns=["underlier", "ex_date", "amount"])


def assignment_risk(underlier: str, asof, legs, values: dict, spot: float, qty: float, dividends) -> bool:
    """True when a short call leg may be exercised early: an ex-dividend date falls in
    ``(asof, expiry]`` and the call's time value is below the dividend (Merton 1973: early
    exercise of an American call is optimal only just before an ex-date, when the dividend
    exceeds the remaining time value)."""
    if dividends is None or dividends.empty:
        return False
    d = dividends[dividends["underlier"] == underlier]
    contracts = legs.ratio * qty
    for i in np.flatnonzero(legs.is_call & (contracts < 0)):
        expiry = pd.Timestamp(legs.expiry[i])
        div = d[(d["ex_date"] > pd.Timestamp(asof)) & (d["ex_date"] <= expiry)]
        if len(div):
            time_value = float(values["price"][i]) - max(spot - float(legs.strike[i]), 0.0)
            if time_value < float(div["amount"].max()):
                return True
    return False
