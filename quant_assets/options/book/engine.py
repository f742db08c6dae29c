"""Options backtest with daily re-hedging and Greeks attribution per sleeve.

Each session ``d`` (a close), for every underlier without an open position in a sleeve, the
signal formed before the open of ``d`` (``vol_forecasts`` of ``d`` for the vol sleeve; the
latest ``equity_scores`` dated ``<= d`` for the spread sleeve) is turned into a
structure by the same candidate functions as the daily ``options_strategies``
(:func:`~quant_assets.options.strategies.vol_sleeve.vol_candidate`,
:func:`~quant_assets.options.strategies.spread_sleeve.spread_candidate`) and opened at the
close of ``d`` when its expected PnL after round-trip costs is positive, scaled so that the
book's net vega and gamma (at entry) stay within the policy caps; a side of the book within a
tenth of a strategy's vega of its cap takes no new vol position that day. It is held
``holding_sessions`` (vol) or ``spread_horizon_sessions`` (spread) sessions, never into its
nearest expiry, then closed.

Marks: every leg at Black–Scholes–Merton with its implied vol read off each session's surface
(:class:`~quant_assets.options.strategies.panel.SurfacePanel`); the nearest leg's rate and
parity-implied dividend yield serve every leg. The vol sleeve is re-hedged in shares to
delta-neutral at every close (``daily``) or when ``|net delta|`` exceeds ``delta_threshold``
per contract (``threshold``); the spread sleeve is not hedged. The PnL of each step is split by
:func:`quant_assets.options.attribution.greeks_attribution` (delta, gamma, theta, vega,
residual: they sum to the gross total). Costs: option fills at the quoted half-spread (times
``spread_worse``) with fee and volume-scaled impact at entry and exit, share hedges at the
hedge half-spread; ``net = total - costs``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from quant_assets.options.attribution import greeks_attribution
from quant_assets.options.black_scholes import bs_greeks, bs_price
from quant_assets.options.strategies.build import scaled_to_caps
from quant_assets.options.strategies.costs import hedge_cost, option_daily_vol, option_fill_costs
from quant_assets.options.strategies.evaluate import leg_quotes
from quant_assets.options.strategies.legs import Legs
from quant_assets.options.strategies.panel import SurfacePanel
from quant_assets.options.strategies.policy import StrategyPolicy
from quant_assets.options.strategies.spread_sleeve import spread_candidate
from quant_assets.options.strategies.vol_sleeve import vol_candidate

__all__ = ["BUCKETS", "DAILY_COLUMNS", "OptionsBacktest", "run_options_backtest"]

BUCKETS = ("delta", "gamma", "theta", "vega", "residual")
DAILY_COLUMNS = ("date", "sleeve", "total", *BUCKETS, "costs", "net", "net_vega", "net_gamma", "positions")


@dataclass(frozen=True)
class OptionsBacktest:
    """Daily PnL per sleeve (:data:`DAILY_COLUMNS`, USD) and the trade list."""

    daily: pd.DataFrame
    trades: pd.DataFrame


@dataclass
class _Trade:
    sleeve: str
    underlier: str
    kind: str
    entry: int
    exit: int
    qty: int
    legs: Legs
    vega: float
    gamma_s2: float


def _quotes_index(quotes: pd.DataFrame | None):
    if quotes is None or quotes.empty:
        return None, {}
    q = quotes.reset_index(drop=True)
    return q, q.groupby([pd.DatetimeIndex(q["date"]), q["underlier"].astype(str)]).indices


def _day_quotes(qidx, date, name):
    q, idx = qidx
    pos = idx.get((pd.Timestamp(date), name))
    return None if pos is None else q.iloc[pos]


def _exit_index(panel: SurfacePanel, i: int, hold: int, legs: pd.DataFrame) -> int:
    last_before = panel.sessions.searchsorted(pd.Timestamp(legs.expiry.min()), side="left") - 1
    return int(min(i + hold, last_before, len(panel.sessions) - 1))


def _open(panel, policy, sleeve, c, i, hold, book) -> _Trade | None:
    units = scaled_to_caps(c, book["vega"], book["gamma"], policy)
    ev = c["evaluated"]
    x = _exit_index(panel, i, hold, ev.legs)
    if units < 1 or x <= i:
        return None
    qty = int(np.sign(c["qty"]) * units)
    return _Trade(sleeve, c["underlier"], c["type"], i, x, qty, ev.legs, ev.vega * qty, ev.gamma * ev.spot**2 * qty)


def _hedge_path(net_delta: np.ndarray, contracts: float, policy: StrategyPolicy) -> np.ndarray:
    """Shares held from each mark under the threshold rule (re-hedge when ``|net| > threshold``)."""
    h = np.empty(net_delta.size + 1)
    h[0] = -net_delta[0]
    limit = policy.delta_threshold * policy.multiplier * contracts
    for j in range(1, net_delta.size):
        h[j] = -net_delta[j] if abs(net_delta[j] + h[j - 1]) > limit else h[j - 1]
    h[-1] = h[-2]
    return h


def _leg_costs(panel, qidx, policy, t: _Trade, j_date: int, spot, vol, tt, r, q) -> float:
    date = panel.sessions[j_date]
    k, call = t.legs.strike, t.legs.is_call
    price = np.asarray(bs_price(spot, k, tt, r, q, vol, call), float)
    vega = np.asarray(bs_greeks(spot, k, tt, r, q, vol, call).vega, float)
    half, volume = leg_quotes(t.legs, _day_quotes(qidx, date, t.underlier), price, policy)
    contracts = t.legs.ratio * t.qty
    return float(
        option_fill_costs(
            price, half, contracts, volume, option_daily_vol(price, vega, vol, policy.vol_of_vol_daily), policy
        ).sum()
    )


_SUMMED = ("total", *BUCKETS, "costs", "net_vega", "net_gamma", "positions")


def _mark(panel: SurfacePanel, qidx, policy: StrategyPolicy, t: _Trade) -> np.ndarray:
    """Attributed PnL of one trade per session of its life (rows), :data:`_SUMMED` columns.

    Each step's PnL is booked on the step's end session; ``net_vega``, ``net_gamma`` and
    ``positions`` are those held from the session's close."""
    sessions = panel.sessions[t.entry : t.exit + 1]
    spot = panel.spot[t.underlier].to_numpy(float)[t.entry : t.exit + 1]
    marks = [panel.marks(t.underlier, e, k, sessions) for e, k in zip(t.legs.expiry, t.legs.strike, strict=True)]
    tt = np.column_stack([m["t_years"] for m in marks])
    vol = np.column_stack([m["vol"] for m in marks])
    near = int(np.argmin(tt[0]))
    r = marks[near]["rate"]
    q = r - np.log(marks[near]["forward"] / spot) / tt[:, near]
    args = (spot, tt, vol, t.legs.strike, t.legs.is_call, t.legs.ratio * t.qty, r, q)
    if t.sleeve == "spread":
        hedge = np.zeros(spot.size)
    elif policy.rebalance == "daily":
        hedge = None
    else:
        nd = greeks_attribution(*args, multiplier=policy.multiplier)["net_delta"].to_numpy()
        hedge = _hedge_path(nd, float(np.abs(t.legs.ratio).sum() * abs(t.qty)), policy)
    out = greeks_attribution(*args, multiplier=policy.multiplier, hedge=hedge)
    held = np.r_[0.0, out["hedge"].to_numpy(), 0.0]  # flat before entry and after the exit
    costs = hedge_cost(np.abs(np.diff(held)), spot, policy)
    costs[0] += _leg_costs(panel, qidx, policy, t, t.entry, spot[0], vol[0], tt[0], r[0], q[0])
    costs[-1] += _leg_costs(panel, qidx, policy, t, t.exit, spot[-1], vol[-1], tt[-1], r[-1], q[-1])
    rows = np.zeros((spot.size, len(_SUMMED)))
    for j, c in enumerate(("total", *BUCKETS)):
        rows[1:, j] = out[c].to_numpy()
    rows[:, _SUMMED.index("costs")] = costs
    rows[:-1, _SUMMED.index("net_vega")] = out["net_vega"].to_numpy()
    rows[:-1, _SUMMED.index("net_gamma")] = out["net_gamma"].to_numpy()
    rows[:-1, _SUMMED.index("positions")] = 1.0
    return rows


def _vega_room(book: dict, forecast: dict, policy: StrategyPolicy) -> bool:
    """Whether the book's net vega leaves room for a tenth of a strategy on the forecast's side
    (a full book skips evaluating the candidate: it could not be opened)."""
    side = np.sign(forecast["forecast_straddle_pnl_bps"])
    return policy.vega_limit - side * book["vega"] >= 0.1 * policy.vega_per_strategy * policy.book_size


def _signals(vol_forecasts, equity_scores):
    fc = {}
    if vol_forecasts is not None and len(vol_forecasts):
        f = vol_forecasts.assign(
            asof=pd.DatetimeIndex(vol_forecasts["asof"]), underlier=vol_forecasts["underlier"].astype(str)
        )
        fc = {k: row for k, row in zip(zip(f["asof"], f["underlier"], strict=True), f.to_dict("records"), strict=True)}
    sc = None
    if equity_scores is not None and len(equity_scores):
        sc = equity_scores.assign(
            asof=pd.DatetimeIndex(equity_scores["asof"]), symbol=equity_scores["symbol"].astype(str)
        )
        sc = sc.sort_values("asof", kind="stable")
    return fc, sc


def run_options_backtest(
    surfaces: pd.DataFrame,
    spots: pd.DataFrame,
    policy: StrategyPolicy,
    *,
    vol_forecasts: pd.DataFrame | None = None,
    equity_scores: pd.DataFrame | None = None,
    quotes: pd.DataFrame | None = None,
) -> OptionsBacktest:
    """Backtest both sleeves over the sessions of ``surfaces`` (module docstring).

    Parameters
    ----------
    surfaces : DataFrame
        ``vol_surfaces`` rows over the window.
    spots : DataFrame
        ``date, underlier, spot``.
    vol_forecasts, equity_scores : DataFrame, optional
        Signals of the vol and spread sleeves (a sleeve without signals does not trade).
    quotes : DataFrame, optional
        Option quotes (``date, underlier, expiry, strike, cp_flag, bid, ask, volume``) for fills;
        the policy's fallback half-spread where a leg has none.
    """
    panel = SurfacePanel(surfaces, spots)
    qidx = _quotes_index(quotes)
    fc, sc = _signals(vol_forecasts, equity_scores)
    open_until: dict[tuple[str, str], int] = {}
    live: list[_Trade] = []
    trades: list[_Trade] = []
    sessions = panel.sessions
    for i in range(1, len(sessions) - 1):
        date = sessions[i]
        live = [t for t in live if t.exit > i]
        book = {"vega": sum(t.vega for t in live), "gamma": sum(t.gamma_s2 for t in live)}
        cands = []
        for name in panel.underliers:
            f = fc.get((date, name)) if open_until.get(("vol", name), -1) <= i else None
            if f is not None and _vega_room(book, f, policy):
                c = vol_candidate(pd.Series(f), panel, date, policy, _day_quotes(qidx, date, name))
                if c is not None:
                    cands.append(("vol", c, policy.holding_sessions))
            if sc is not None and open_until.get(("spread", name), -1) <= i:
                s = sc[(sc["symbol"] == name) & (sc["asof"] <= date)]
                if len(s):
                    c = spread_candidate(s.iloc[-1], panel, date, policy, _day_quotes(qidx, date, name))
                    if c is not None:
                        cands.append(("spread", c, policy.spread_horizon_sessions))
        for sleeve, c, hold in sorted(cands, key=lambda x: -x[1]["expected_pnl_usd"]):
            if c["expected_pnl_usd"] <= 0:
                continue
            t = _open(panel, policy, sleeve, c, i, hold, book)
            if t is None:
                continue
            live.append(t)
            trades.append(t)
            book["vega"] += t.vega
            book["gamma"] += t.gamma_s2
            open_until[(sleeve, t.underlier)] = t.exit
    return OptionsBacktest(_daily(panel, qidx, policy, trades), _trade_frame(panel, trades))


def _daily(panel, qidx, policy, trades) -> pd.DataFrame:
    sleeves = ("vol", "spread")
    acc = np.zeros((len(sleeves), len(panel.sessions), len(_SUMMED)))
    for t in trades:
        acc[sleeves.index(t.sleeve), t.entry : t.exit + 1] += _mark(panel, qidx, policy, t)
    out = pd.concat(
        [
            pd.DataFrame(acc[i], columns=list(_SUMMED)).assign(date=panel.sessions, sleeve=s)
            for i, s in enumerate(sleeves)
        ],
        ignore_index=True,
    )
    out["net"] = out["total"] - out["costs"]
    return out.loc[:, list(DAILY_COLUMNS)]


def _trade_frame(panel, trades) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sleeve": [t.sleeve for t in trades],
            "underlier": [t.underlier for t in trades],
            "type": [t.kind for t in trades],
            "entry": panel.sessions[[t.entry for t in trades]],
            "exit": panel.sessions[[t.exit for t in trades]],
            "qty": np.array([t.qty for t in trades], dtype=np.int64),
            "entry_vega": [t.vega for t in trades],
            "legs": [json.dumps(t.legs.records()) for t in trades],
        }
    )
