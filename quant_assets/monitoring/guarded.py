"""A backtest under the tripwires: de-risk bands scale each decision, the kill freezes the book.

:func:`run_guarded_backtest` drives :func:`quant_assets.backtest.run_backtest` as the daily
book would run: the decision at the close of ``t`` sees the tripwires at that close. Its
gross is scaled by the de-risk band; on the session the kill fires the book is frozen (the
targets become the positions just marked, so nothing trades at the next open: no new order
goes out) and later decisions are dropped until a person clears the switch (``clearances``:
session -> (name, reason), applied during that session, so its close decides again).

The decision at ``t`` changes only what trades from ``t + 1``, so the curve through ``t`` is
final once the decisions before ``t`` are. The run therefore walks forward and re-runs the
backtest only when a decision differs from the one assumed (the previous decision carried
on): as many runs as band changes, kills and clearances, plus one. The kill switch on disk
(``root``) is tripped and cleared in session order, as in daily operation, and a switch
already tripped before the run keeps the book flat until cleared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from quant_assets.backtest import BacktestConfig, BacktestResult, run_backtest
from quant_assets.monitoring.tripwires import TripwireConfig, clear_kill, evaluate_tripwires, kill_state, trip_kill

__all__ = ["GuardedRun", "run_guarded_backtest"]

_OFF = ("off", None)


@dataclass
class GuardedRun:
    """The final backtest, the tripwire table with each session's action, and the kill sessions."""

    result: BacktestResult
    tripwires: pd.DataFrame
    kill_sessions: list[pd.Timestamp]
    n_runs: int


def _carry(action: tuple) -> tuple:
    return _OFF if action[0] in ("freeze", "off") else action


def _apply(targets: pd.DataFrame, actions: dict, sessions: pd.DatetimeIndex, start: tuple) -> pd.DataFrame:
    parts, current = [], start
    by_date = dict(iter(targets.groupby("date", sort=True)))
    for s in sessions:
        current = actions.get(s, _carry(current))
        kind, arg = current
        if kind == "trade" and s in by_date:
            g = by_date[s]
            parts.append(g.assign(target_w=g["target_w"].astype(float) * arg) if arg != 1.0 else g)
        elif kind == "freeze":
            parts.append(arg)
    cols = list(targets.columns)
    return pd.concat(parts, ignore_index=True)[cols] if parts else targets.iloc[0:0]


def run_guarded_backtest(
    targets: pd.DataFrame,
    prices: pd.DataFrame,
    symbols: pd.DataFrame | None = None,
    config: BacktestConfig | Mapping | None = None,
    tripwires: TripwireConfig | None = None,
    *,
    root: str | Path | None = None,
    clearances: Mapping | None = None,
) -> GuardedRun:
    """Run ``targets`` through the backtester with the tripwires in the loop (see the module docstring)."""
    cfg = BacktestConfig.coerce(config)
    tw = tripwires or TripwireConfig()
    clear = {pd.Timestamp(k): v for k, v in (clearances or {}).items()}
    targets = targets.assign(date=pd.to_datetime(targets["date"]))
    sessions = pd.DatetimeIndex(sorted(pd.to_datetime(prices["date"]).unique()))
    killed_before = root is not None and kill_state(root).killed
    start = _OFF if killed_before else ("trade", 1.0)
    actions: dict = {}
    fixed, n_runs = -1, 0
    while True:
        res = run_backtest(_apply(targets, actions, sessions, start), prices, symbols, cfg)
        n_runs += 1
        table = evaluate_tripwires(res.equity, tw, cfg.initial_capital, resets=list(clear))
        changed, prev = False, start
        for i, s in enumerate(sessions):
            have = actions.get(s, _carry(prev))
            was_killed = prev[0] in ("freeze", "off") and s not in clear
            prev = have
            if i <= fixed:
                continue
            row = table.iloc[i]
            fired = bool(row["kill"]) and not was_killed
            if fired:
                pos = res.positions[res.positions["date"] == s]
                frozen = pd.DataFrame({"date": s, "symbol": pos["symbol"].to_numpy(), "target_w": pos["weight"]})
                want = ("freeze", frozen.reindex(columns=targets.columns))
            elif was_killed or bool(row["kill"]):
                want = _OFF
            else:
                want = ("trade", float(row["gross_scale"]))
            if want[0] != have[0] or (want[0] == "trade" and want[1] != have[1]) or want[0] == "freeze":
                actions[s] = want
                changed = True
            fixed = i
            if root is not None and s in clear:
                clear_kill(root, *clear[s])
            if root is not None and fired:
                trip_kill(root, s, row["reason"] or "tripwire", source="tripwires")
            if changed:
                prev = actions[s]
                break
        if not changed:
            break
    applied, prev = [], start
    for s in sessions:
        prev = actions.get(s, _carry(prev))
        applied.append(prev[0] if prev[0] != "trade" else f"trade x{prev[1]:g}")
    kills = [s for s in sessions if actions.get(s, _OFF)[0] == "freeze"]
    return GuardedRun(res, table.assign(action=applied), kills, n_runs)
