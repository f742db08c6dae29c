"""The day's options strategies: both sleeves' candidates ranked, capped and shaped for §10.2.

:func:`build_strategies` takes the latest forecast and score of each underlier known at
``asof`` and the session's surfaces, keeps the structures whose expected PnL after round-trip
costs is positive (and at least ``min_edge_bps`` of premium), ranks them by that expected PnL
and walks down the ranking adding each one only as far as the book's net vega and net gamma
stay within the policy caps (a strategy that would breach is scaled down, or dropped; the kept
ones are ranked again by their expected PnL at their final size). The
top :data:`~quant_assets.options.strategies_json.MAX_STRATEGIES` become the rows of the
``options_strategies`` asset; :func:`document_from_rows` turns them into the validated §10.2
document.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from quant_assets.options.strategies.costs import assignment_risk
from quant_assets.options.strategies.panel import SurfacePanel
from quant_assets.options.strategies.policy import StrategyPolicy
from quant_assets.options.strategies.spread_sleeve import spread_candidate
from quant_assets.options.strategies.vol_sleeve import vol_candidate
from quant_assets.options.strategies_json import MAX_STRATEGIES, strategies_document

__all__ = ["STRATEGY_COLUMNS", "build_strategies", "document_from_rows", "empty_strategies", "scaled_to_caps"]

STRATEGY_COLUMNS = {
    "asof": "datetime64[ns]",
    "rank": "int64",
    "sleeve": object,
    "underlier": object,
    "type": object,
    "expiry": "datetime64[ns]",
    "qty": "int64",
    "target_vega": float,
    "expected_pnl_bps": float,
    "expected_pnl_usd": float,
    "conf": float,
    "hedge_rebalance": object,
    "hedge_delta_threshold": float,
    "net_delta": float,
    "net_gamma": float,
    "net_vega": float,
    "net_theta": float,
    "worst_case_slippage_bps": float,
    "assignment_risk": bool,
    "legs": object,
    "book_net_vega": float,
    "vega_cap": float,
    "gamma_cap": float,
}
SPREAD_HEDGE = {"rebalance": "threshold", "delta_threshold": 1.0}
"""Spread structures are not delta-hedged: re-hedged only past a full share of delta per contract."""


def empty_strategies() -> pd.DataFrame:
    """No strategies, with the columns and dtypes of :data:`STRATEGY_COLUMNS`."""
    return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in STRATEGY_COLUMNS.items()})


def _latest(frame: pd.DataFrame | None, date_col: str, key: str, asof) -> pd.DataFrame:
    if frame is None or frame.empty:
        return pd.DataFrame()
    f = frame[pd.DatetimeIndex(frame[date_col]) <= pd.Timestamp(asof)]
    return f.sort_values(date_col, kind="stable").drop_duplicates(key, keep="last")


def _candidates(asof, forecasts, scores, panel, policy, quotes) -> list[dict]:
    out = []
    day_q = None if quotes is None or quotes.empty else quotes[pd.DatetimeIndex(quotes["date"]) == asof]
    iv_change = {}
    for _, f in forecasts.iterrows():
        q = None if day_q is None else day_q[day_q["underlier"] == f["underlier"]]
        iv_change[str(f["underlier"])] = float(f.get("forecast_iv_change", 0.0)) / 100.0
        c = vol_candidate(f, panel, asof, policy, q)
        if c is not None:
            out.append(c)
    for _, s in scores.iterrows():
        if str(s["symbol"]) not in panel.underliers:
            continue
        q = None if day_q is None else day_q[day_q["underlier"] == s["symbol"]]
        c = spread_candidate(s, panel, asof, policy, q, iv_change.get(str(s["symbol"]), 0.0))
        if c is not None:
            out.append(c)
    return out


def scaled_to_caps(c: dict, net_vega: float, net_gamma: float, policy: StrategyPolicy) -> int:
    """Largest ``|units| <= |qty|`` keeping the book's net vega and net Gamma S^2 within the caps."""
    ev, qty = c["evaluated"], c["qty"]
    units = abs(qty)
    for net, per_unit, limit in (
        (net_vega, ev.vega * np.sign(qty), policy.vega_limit),
        (net_gamma, ev.gamma * ev.spot**2 * np.sign(qty), policy.gamma_limit),
    ):
        if abs(net + per_unit * units) > limit and per_unit != 0:
            room = (np.sign(per_unit) * limit - net) / per_unit
            units = min(units, int(np.floor(max(room, 0.0))))
    return units


def build_strategies(
    asof,
    vol_forecasts: pd.DataFrame | None,
    equity_scores: pd.DataFrame | None,
    surfaces: pd.DataFrame,
    policy: StrategyPolicy,
    *,
    quotes: pd.DataFrame | None = None,
    spots: pd.DataFrame | None = None,
    dividends: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Rows of the day's top strategies (:data:`STRATEGY_COLUMNS`), best first.

    Parameters
    ----------
    asof : date
        The session: its surfaces, and forecasts/scores dated ``<= asof`` (the latest per name).
    vol_forecasts, equity_scores : DataFrame or None
        ``vol_forecasts`` rows and ``equity_scores`` rows (either may be empty).
    surfaces : DataFrame
        ``vol_surfaces`` rows of ``asof``.
    quotes, spots, dividends : DataFrame, optional
        The session's option quotes (half-spreads and volumes; else the policy's fallback),
        spots (else the discounted nearest forward), projected ex-dividends
        (:func:`~quant_assets.options.strategies.costs.projected_ex_dividends`).
    """
    asof = pd.Timestamp(asof)
    day = surfaces[pd.DatetimeIndex(surfaces["date"]) == asof]
    if day.empty:
        return empty_strategies()
    panel = SurfacePanel(day, None if spots is None else spots[pd.DatetimeIndex(spots["date"]) == asof])
    forecasts = _latest(vol_forecasts, "asof", "underlier", asof)
    scores = _latest(equity_scores, "asof", "symbol", asof)
    cands = sorted(_candidates(asof, forecasts, scores, panel, policy, quotes), key=lambda c: -c["expected_pnl_usd"])
    rows, net_vega, net_gamma = [], 0.0, 0.0
    for c in cands:
        if len(rows) == MAX_STRATEGIES:
            break
        units = scaled_to_caps(c, net_vega, net_gamma, policy)
        if units < 1:
            continue
        ev, qty = c["evaluated"], int(np.sign(c["qty"]) * units)
        cost = ev.round_trip_cost(units, policy)
        per_unit_edge = (c["expected_pnl_usd"] + c["cost_usd"]) / abs(c["qty"])
        net = per_unit_edge * units - cost
        premium = ev.premium * units
        bps = 1e4 * net / premium
        if net <= 0 or bps < policy.min_edge_bps:
            continue
        net_vega += ev.vega * qty
        net_gamma += ev.gamma * ev.spot**2 * qty
        hedge = policy.hedge_rules() if c["sleeve"] == "vol" else SPREAD_HEDGE
        rows.append(
            {
                "asof": asof,
                "rank": len(rows) + 1,
                "sleeve": c["sleeve"],
                "underlier": c["underlier"],
                "type": c["type"],
                "expiry": pd.Timestamp(ev.legs.expiry.min()),
                "qty": qty,
                "target_vega": ev.vega * qty,
                "expected_pnl_bps": bps,
                "expected_pnl_usd": net,
                "conf": c["conf"],
                "hedge_rebalance": hedge["rebalance"],
                "hedge_delta_threshold": hedge["delta_threshold"],
                "net_delta": 0.0 if c["sleeve"] == "vol" else ev.delta * qty,
                "net_gamma": ev.gamma * qty,
                "net_vega": ev.vega * qty,
                "net_theta": ev.theta * qty,
                "worst_case_slippage_bps": 1e4 * cost / premium,
                "assignment_risk": assignment_risk(c["underlier"], asof, ev.legs, ev.values, ev.spot, qty, dividends),
                "legs": json.dumps(ev.legs.records()),
            }
        )
    if not rows:
        return empty_strategies()
    out = pd.DataFrame(rows).sort_values("expected_pnl_usd", ascending=False, kind="stable")
    out = out.assign(
        rank=np.arange(1, len(out) + 1),
        book_net_vega=net_vega / policy.book_size,
        vega_cap=policy.vega_cap,
        gamma_cap=policy.gamma_cap,
    )
    return out.astype(STRATEGY_COLUMNS)[list(STRATEGY_COLUMNS)]


def document_from_rows(rows: pd.DataFrame, asof, policy: StrategyPolicy) -> dict:
    """The validated §10.2 document of one session's rows (empty strategies when there are none,
    also for a frame without columns: a missing upstream partition)."""
    if "asof" not in rows.columns:
        rows = empty_strategies()
    day = rows[pd.DatetimeIndex(rows["asof"]) == pd.Timestamp(asof)].sort_values("rank")
    docs = pd.DataFrame(
        {
            "underlier": day["underlier"],
            "type": day["type"],
            "expiry": day["expiry"],
            "qty": day["qty"],
            "target_vega": day["target_vega"],
            "expected_pnl_bps": day["expected_pnl_bps"],
            "conf": day["conf"],
            "hedge_rules": [
                {"rebalance": r, "delta_threshold": float(t)}
                for r, t in zip(day["hedge_rebalance"], day["hedge_delta_threshold"], strict=True)
            ],
            "net_greeks": [
                {"delta": float(d), "gamma": float(g), "vega": float(v), "theta": float(t)}
                for d, g, v, t in zip(
                    day["net_delta"], day["net_gamma"], day["net_vega"], day["net_theta"], strict=True
                )
            ],
            "worst_case_slippage_bps": day["worst_case_slippage_bps"],
        }
    )
    net_vega = float(day["book_net_vega"].iloc[0]) if len(day) else 0.0
    risk = {"net_vega": net_vega, "vega_cap": policy.vega_cap, "gamma_cap": policy.gamma_cap}
    return strategies_document(asof, docs, risk)
