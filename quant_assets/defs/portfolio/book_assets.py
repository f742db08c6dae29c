"""The daily paper book: ``positions``, ``orders``, ``fills`` and ``pnl``, each partitioned by session.

``positions`` is the book after the close of ``t``. It depends on its own previous session (a
self-dependency through a time-window partition mapping with offsets ``-1, -1``; only the stored
partition before the run's window is read, the first session starts flat with the book size)
and advances it session by session toward the ``target_portfolio`` of ``t`` with
:func:`quant_assets.portfolio.book.run_sessions` (corporate actions at the open, fills through the
execution simulator, delistings, marks, borrow).

``orders`` of ``t`` are rebuilt from the stored ``positions`` of ``t - 1`` and the targets of
``t`` (:func:`~quant_assets.portfolio.book.replay_sessions`: the step is deterministic, so the
replay sends the orders the book traded); ``fills`` sends those orders through the simulator
(:func:`~quant_assets.portfolio.book.fill_orders`); ``pnl`` replays the session and is checked
against the stored positions and fills. Orders cannot feed ``positions`` as an input: ``orders``
of ``t`` need ``positions`` of ``t - 1``, which would make the graph cyclic.

Checks (blocking, on ``pnl``): ``positions_follow_fills`` (stored shares at ``t`` = shares at
``t - 1`` x split ratio + the stored fills of ``t``, zero on delisting) and ``pnl_reconciles``
(NAV = sum of the stored market values, net = NAV change, gross - costs = net, cash change =
cash flows, continuity across sessions, fees equal the fills' fees).
"""

from collections.abc import Callable
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd

from quant_assets import schemas
from quant_assets.backtest import BacktestConfig, MarketPanel
from quant_assets.defs.lib.frame_checks import FrameCheck, check_result
from quant_assets.defs.lib.runtime import window_sessions
from quant_assets.defs.lib.session_asset import session_asset
from quant_assets.defs.market.schedules import MARKET_FRESHNESS
from quant_assets.monitoring.tripwires import KillState, halt_targets, kill_state
from quant_assets.portfolio.book import fill_orders, pnl_breaks, position_breaks, replay_sessions, run_sessions

__all__ = ["CHECK_PNL", "CHECK_POSITIONS", "build_book_assets", "traded_targets"]

CHECK_POSITIONS = "positions_follow_fills"
CHECK_PNL = "pnl_reconciles"
LAYER = "portfolio"


def _lineage_free(schema: type, df: pd.DataFrame) -> pd.DataFrame:
    lineage = schemas.Lineage.to_schema().columns
    return df.loc[:, [c for c in schema.to_schema().columns if c not in lineage]]


def _stored_before(positions: pd.DataFrame, first) -> pd.DataFrame:
    """The stored positions of the latest session before ``first`` (empty: none)."""
    if positions.empty:
        return positions
    before = positions[positions["date"] < first]
    return before[before["date"] == before["date"].max()] if len(before) else before.iloc[:0]


def _fees_differ(pnl: pd.DataFrame, fills: pd.DataFrame) -> pd.DataFrame:
    fees = fills.groupby("date")["fee"].sum().reindex(pnl["date"]).fillna(0.0).to_numpy()
    bad = ~np.isclose(pnl["fee"].to_numpy(), fees, rtol=1e-9, atol=1e-9)
    what = "fee = fills' fees"
    return pd.DataFrame({"date": pnl["date"][bad], "what": what, "lhs": pnl["fee"][bad], "rhs": fees[bad]})


def traded_targets(target_portfolio: pd.DataFrame, kill: KillState | None = None) -> pd.DataFrame:
    """The targets the book trades toward: the one place ``positions``, ``orders`` and ``pnl`` read them.

    A halt (no new orders) belongs here, so the book, its orders and its PnL stay consistent:
    a session without targets holds the book. While the kill switch ``kill`` is tripped, no target
    dated after its session is traded (:func:`quant_assets.monitoring.tripwires.halt_targets`).
    """
    return target_portfolio if kill is None else halt_targets(target_portfolio, kill)


def _checks() -> list[FrameCheck]:
    def positions_follow(df, i):
        sessions = window_sessions(i["context"])
        now = i["positions"][i["positions"]["date"].isin(sessions)]
        prev = _stored_before(i["positions"], sessions[0])
        return check_result(position_breaks(prev, now, i["fills"], i["adjusted_prices"]), description="breaks")

    def reconciles(df, i):
        now = i["positions"][i["positions"]["date"].isin(window_sessions(i["context"]))]
        bad = pd.concat([pnl_breaks(now, df), _fees_differ(df, i["fills"])], ignore_index=True)
        return check_result(bad, description="PnL does not reconcile")

    return [
        FrameCheck(
            CHECK_POSITIONS,
            "Stored shares at t = shares at t-1 x split ratio + the stored fills of t (0 on delisting).",
            positions_follow,
            blocking=True,
        ),
        FrameCheck(
            CHECK_PNL,
            "NAV, net, gross, fees and cash reconcile with the stored positions, fills and cash flows.",
            reconciles,
            blocking=True,
        ),
    ]


def build_book_assets(
    partitions_def: dg.PartitionsDefinition,
    bt: BacktestConfig,
    stamp: Callable[[pd.DataFrame, str, str], pd.DataFrame],
    group: str,
    allow_missing: str,
    kill_root: Callable[[], Path] | None = None,
) -> list[dg.AssetsDefinition]:
    """``positions``, ``orders``, ``fills`` and ``pnl`` (``stamp(frame, name, known_at)``: lineage).

    ``kill_root()``: the data directory holding the kill switch (read when each asset runs).
    """
    lookback = max(bt.adv_window, bt.vol_window) + 1
    stored = {"metadata": {allow_missing: True}}
    previous = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1, allow_nonexistent_upstream_partitions=True)
    with_previous = dg.TimeWindowPartitionMapping(
        start_offset=-1, end_offset=0, allow_nonexistent_upstream_partitions=True
    )
    history = dg.TimeWindowPartitionMapping(
        start_offset=-lookback, end_offset=0, allow_nonexistent_upstream_partitions=True
    )
    market = {
        "target_portfolio": dg.AssetIn(),
        "adjusted_prices": dg.AssetIn(partition_mapping=history),
        "symbols": dg.AssetIn(),
    }

    def asset(schema: type, **kwargs):
        return session_asset(
            schema=schema,
            layer=LAYER,
            group=group,
            partitions_def=partitions_def,
            freshness_policy=MARKET_FRESHNESS,
            **kwargs,
        )

    def book(context, target_portfolio, adjusted_prices, symbols, positions, run=replay_sessions):
        """``run`` (:func:`run_sessions` or :func:`replay_sessions`) over the window, kill switch applied."""
        targets = traded_targets(target_portfolio, kill_state(kill_root()) if kill_root else None)
        return run(positions, targets, adjusted_prices, symbols, window_sessions(context), bt)

    @asset(schemas.Positions, ins={**market, "positions": dg.AssetIn(partition_mapping=previous, **stored)})
    def positions(
        context: dg.AssetExecutionContext,
        target_portfolio: pd.DataFrame,
        adjusted_prices: pd.DataFrame,
        symbols: pd.DataFrame,
        positions: pd.DataFrame,
    ):
        """The paper book after each close: yesterday's book moved by corporate actions and the day's fills."""
        out = book(context, target_portfolio, adjusted_prices, symbols, positions, run=run_sessions)
        last = out["pnl"].iloc[-1]
        meta = {"started_flat": bool(out["started_flat"]), "nav": float(last["nav"]), "cash": float(last["cash"])}
        return stamp(_lineage_free(schemas.Positions, out["positions"]), "positions", "date"), meta

    @asset(schemas.Orders, ins={**market, "positions": dg.AssetIn(partition_mapping=previous, **stored)})
    def orders(
        context: dg.AssetExecutionContext,
        target_portfolio: pd.DataFrame,
        adjusted_prices: pd.DataFrame,
        symbols: pd.DataFrame,
        positions: pd.DataFrame,
    ):
        """Orders sent at each open: the day's target shares minus yesterday's stored book after corporate actions."""
        out = book(context, target_portfolio, adjusted_prices, symbols, positions)
        o = out["orders"]
        refused = int(out["events"]["event"].str.startswith("refused").sum())
        meta = {"requested_notional": float(o["requested_notional"].sum()), "refused_shorts": refused}
        return stamp(_lineage_free(schemas.Orders, o), "orders", "date"), meta

    @asset(schemas.Fills, ins={"orders": dg.AssetIn(), "adjusted_prices": dg.AssetIn(partition_mapping=history)})
    def fills(context: dg.AssetExecutionContext, orders: pd.DataFrame, adjusted_prices: pd.DataFrame):
        """The day's orders filled at the open by the execution simulator (fees, half-spread, impact, participation)."""
        panel = MarketPanel.build(adjusted_prices, None, bt)
        parts = [
            fill_orders(orders[orders["date"] == d], panel, panel.sessions.get_loc(d), bt)
            for d in window_sessions(context)
        ]
        out = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
        requested = float(orders["requested"].sum())
        meta = {"filled_share": float(out["quantity"].sum()) / requested if requested else 1.0}
        return stamp(_lineage_free(schemas.Fills, out), "fills", "date"), meta

    @asset(
        schemas.Pnl,
        checks=_checks(),
        ins={**market, "positions": dg.AssetIn(partition_mapping=with_previous, **stored), "fills": dg.AssetIn()},
    )
    def pnl(
        context: dg.AssetExecutionContext,
        target_portfolio: pd.DataFrame,
        adjusted_prices: pd.DataFrame,
        symbols: pd.DataFrame,
        positions: pd.DataFrame,
        fills: pd.DataFrame,
    ):
        """The book's PnL of each session: gross, costs by kind (fee, spread, impact), borrow, net."""
        out = book(context, target_portfolio, adjusted_prices, symbols, positions)
        p = out["pnl"]
        meta = {k: float(p[k].sum()) for k in ("net_pnl", "gross_pnl", "fee", "spread", "impact", "borrow")}
        return stamp(_lineage_free(schemas.Pnl, p), "pnl", "date"), meta

    return [positions, orders, fills, pnl]
