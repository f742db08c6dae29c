"""The portfolio assets of the equities sleeve: ``target_portfolio``, ``backtest_equities``, ``daily_blotter``.

Partitioning and storage
------------------------
``target_portfolio`` is partitioned by session and stored in the point-in-time store (layer
``portfolio``, by ``date``). Session ``t`` is built by :func:`quant_assets.portfolio.build` from
the scores of ``t`` (formed before its open), the symbols master of ``t`` (sector, hard to
borrow, borrow fee) and curated prices through ``t - 1`` (a time-window mapping of
:data:`COV_WINDOW` sessions: Ledoit–Wolf covariance, dollar ADV for the participation cap,
daily volatility). The turnover cap needs the weights held before: the asset depends on its
own previous session (a self-dependency; the stored partitions only, so the first session
starts flat) and, inside a multi-session run, each session starts from the one built before
it. The previous targets stand in for the positions: the backtest's partial fills are not fed
back into the next day's build.

``backtest_equities`` is **unpartitioned** (one run over the whole stored history, like the
model selection) and stored by the models' atomic Parquet IO manager. It runs
:func:`quant_assets.backtest.run_backtest` over every stored target (each session's targets
decided at the close before and traded from its open, with the one-session vectorized fills),
curated prices and the symbols master, with the selection's cost assumptions (book size, fee,
spread). The frame is the daily equity curve from the first decision; headline numbers, the
cost breakdown, the equities Go/No-Go table (backtest Sharpe and drawdown, DSR over every
logged trial, the selection's PBO) and an equity/drawdown/cost plot are its metadata.

``daily_blotter`` is partitioned by session (layer ``reports``, by ``asof``): for each session
it calls :func:`quant_assets.reporting.emit_daily` and writes ``blotter.json`` and ``blotter.md``
under ``data/<profile>/reports/<asof>/`` (every session of the run, positions or none); the
scorecard is the backtest's through the close before ``asof``, with its PSR/DSR trend over the
logged trials; factor exposures come from the session's ``equity_features`` and 60 sessions of
returns (:func:`quant_assets.reporting.daily.session_blotter`). The plots are drawn for the last
session of a run only (a backfill over years would otherwise draw hundreds). The stored frame is
the blotter's position rows.

Configuration: the profile's optional ``portfolio`` block, ``risk`` (:class:`~quant_assets.portfolio.RiskConfig`
fields) and ``backtest`` (:class:`~quant_assets.backtest.BacktestConfig` fields); by default the
book size, fee and spread of the ``models`` block and its horizon.
"""

from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from quant_assets import schemas
from quant_assets.backtest import BacktestConfig, run_backtest
from quant_assets.config import Profile
from quant_assets.defs.lib.runtime import png_markdown, stamp_rows, window_sessions
from quant_assets.defs.lib.session_asset import model_asset, session_asset
from quant_assets.defs.market.schedules import MARKET_FRESHNESS
from quant_assets.defs.options.strategy_assets import strategy_policy
from quant_assets.defs.portfolio.book_assets import build_book_assets
from quant_assets.defs.portfolio.checks import BACKTEST_CHECKS, blotter_checks, target_checks
from quant_assets.models import SelectionConfig
from quant_assets.monitoring.tripwires import kill_state
from quant_assets.options.strategies import document_from_rows
from quant_assets.portfolio import RiskConfig
from quant_assets.portfolio.targets import build_targets, decision_dated, empty_targets, trailing_returns
from quant_assets.reporting.daily import session_blotter
from quant_assets.reporting.scorecard import equity_frame, go_no_go, go_no_go_markdown, scorecard

GROUP = "portfolio"
COV_WINDOW = 60
"""Sessions of returns before ``t`` behind the covariance of session ``t``."""
ALLOW_MISSING = "allow_missing_partitions"

__all__ = ["build_portfolio_assets", "portfolio_configs"]


def portfolio_configs(profile: Profile) -> tuple[RiskConfig, BacktestConfig]:
    """Risk and backtest configurations of ``profile`` (its ``portfolio`` block over ``models`` costs)."""
    sel = SelectionConfig.from_dict(profile.models)
    block = dict(profile.raw.get("portfolio") or {})
    risk = RiskConfig.coerce({"book_size": sel.book_size, "horizon_days": sel.horizon, **(block.get("risk") or {})})
    bt = BacktestConfig.coerce(
        {
            "initial_capital": sel.book_size,
            "fee_bps": sel.fee_bps,
            "spread_bps": sel.spread_bps,
            "vectorized_fills": True,
            **(block.get("backtest") or {}),
        }
    )
    return risk, bt


def _stored(mapping: dg.PartitionMapping) -> dg.AssetIn:
    return dg.AssetIn(partition_mapping=mapping, metadata={ALLOW_MISSING: True})


def _backtest_plot(frame: pd.DataFrame, costs: dict, path: Path) -> Path:
    fig = Figure(figsize=(9, 6))
    ax1, ax2, ax3 = fig.subplots(3, 1, height_ratios=[2, 1, 1])
    ax1.plot(frame["date"], frame["nav"])
    ax1.set_title("Backtest of the stored targets, net of every cost")
    ax1.set_ylabel("NAV")
    ax2.fill_between(frame["date"], frame["drawdown"], 0.0, color="tab:red")
    ax2.set_ylabel("drawdown")
    ax3.bar(list(costs), [float(v) for v in costs.values()])
    ax3.set_ylabel("cost")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path


def build_portfolio_assets(profile: Profile, partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """``target_portfolio``, ``backtest_equities`` and ``daily_blotter`` for ``profile``."""
    risk, bt = portfolio_configs(profile)
    gate = SelectionConfig.from_dict(profile.models).gate
    options_policy = strategy_policy(profile)
    session_keys = pd.DatetimeIndex(partitions_def.get_partition_keys())
    fingerprint = profile.fingerprint()

    def reports() -> Path:  # read at run time: the data root may change after build
        return profile.data_dir / "reports"

    def stamp(df: pd.DataFrame, name: str, known_at: str) -> pd.DataFrame:
        return stamp_rows(df, GROUP, name, known_at, fingerprint)

    previous = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1, allow_nonexistent_upstream_partitions=True)
    history = dg.TimeWindowPartitionMapping(
        start_offset=-COV_WINDOW, end_offset=-1, allow_nonexistent_upstream_partitions=True
    )

    @session_asset(
        schema=schemas.TargetPortfolio,
        layer=GROUP,
        group=GROUP,
        partitions_def=partitions_def,
        checks=target_checks(risk),
        freshness_policy=MARKET_FRESHNESS,
        ins={
            "equity_scores": dg.AssetIn(),
            "symbols": dg.AssetIn(),
            "adjusted_prices": dg.AssetIn(partition_mapping=history),
            "target_portfolio": _stored(previous),
        },
    )
    def target_portfolio(
        context: dg.AssetExecutionContext,
        equity_scores: pd.DataFrame,
        symbols: pd.DataFrame,
        adjusted_prices: pd.DataFrame,
        target_portfolio: pd.DataFrame,
    ):
        """Target weights of each session: fractional Kelly on conservative edges under vol targets and caps."""
        sessions = window_sessions(context)
        prev = pd.Series(dtype=float)
        if len(target_portfolio):
            before = target_portfolio[target_portfolio["date"] < sessions[0]]
            if len(before):
                last = before[before["date"] == before["date"].max()]
                prev = last.set_index("symbol")["target_w"].astype(float)
        prices = (
            adjusted_prices.loc[:, ["date", "symbol", "close", "volume", "ret_total"]]
            if len(adjusted_prices)
            else pd.DataFrame(columns=["date", "symbol", "close", "volume", "ret_total"])
        )
        out, summary = build_targets(equity_scores, symbols, prices, sessions, prev, risk, COV_WINDOW)
        if out.empty:
            out = empty_targets()
        out = stamp(out.astype({"horizon_days": "int64"}), "target_portfolio", "date")
        s = pd.DataFrame(summary)
        meta = {"sessions_built": int(len(s)), "risk": dg.MetadataValue.json(risk.to_dict())}
        if len(s):
            last = s.iloc[-1]
            meta.update({k: float(last[k]) for k in ("ex_ante_vol_ann", "kelly_fraction", "gross", "net", "turnover")})
            meta.update(bounds_hit=int(last["bounds_hit"]), mean_turnover=float(s["turnover"].mean()))
        return out, meta

    backtest_checks = BACKTEST_CHECKS

    def backtest_body(
        context: dg.AssetExecutionContext,
        target_portfolio: pd.DataFrame,
        adjusted_prices: pd.DataFrame,
        symbols: pd.DataFrame,
        model_selection: pd.DataFrame,
        trials_log: pd.DataFrame,
    ):
        """Event-driven backtest of every stored target, net of costs; headline numbers and Go/No-Go."""
        if target_portfolio.empty or adjusted_prices.empty:
            empty = _empty_equity()
            return stamp(empty, "backtest_equities", "date"), {"verdict": "not run: no stored targets"}
        sessions = pd.DatetimeIndex(sorted(adjusted_prices["date"].unique()))
        decided = decision_dated(target_portfolio, sessions)
        result = run_backtest(decided, adjusted_prices, symbols, bt)
        start = decided["date"].min()
        frame = equity_frame(result.equity, result.orders, start, bt.initial_capital).assign(run_id=result.run_id)
        metrics = scorecard(frame, bt.initial_capital, bt.periods_per_year)
        g = go_no_go(frame, bt.initial_capital, metrics, model_selection, trials_log, gate, bt.periods_per_year)
        png = _backtest_plot(frame, metrics["costs"], reports() / "backtest" / "backtest_equities.png")
        meta = {
            "run_id": result.run_id,
            "from": str(pd.Timestamp(start).date()),
            **{
                k: float(metrics[k])
                for k in (
                    "net_sharpe",
                    "net_sortino",
                    "max_drawdown",
                    "turnover_ann",
                    "capacity",
                    "net_pnl",
                    "total_return",
                    "psr",
                    "modeled_impact_bps",
                    "realized_impact_bps",
                )
            },
            "costs": dg.MetadataValue.json(metrics["costs"]),
            "dsr": float(g["dsr"]) if np.isfinite(g["dsr"]) else None,
            "pbo": g["pbo"] if np.isfinite(g["pbo"]) else None,
            "n_trials": g["n_trials"],
            "go_no_go": dg.MetadataValue.md(go_no_go_markdown(g)),
            "verdict": "GO" if g["passed"] else f"NO-GO: {g['reasons']}",
            "plot_png": dg.MetadataValue.path(str(png)),
            "plot": png_markdown(png, "backtest_equities"),
        }
        out = frame.loc[
            :, [c for c in schemas.BacktestEquities.to_schema().columns if c not in schemas.Lineage.to_schema().columns]
        ]
        return stamp(out, "backtest_equities", "date"), {k: v for k, v in meta.items() if v is not None}

    backtest_asset = model_asset(
        schema=schemas.BacktestEquities,
        group=GROUP,
        name="backtest_equities",
        checks=backtest_checks,
        freshness_policy=MARKET_FRESHNESS,  # re-run each session: the day's blotter reads it
        ins={
            "target_portfolio": _stored(dg.AllPartitionMapping()),
            "adjusted_prices": _stored(dg.AllPartitionMapping()),
            "symbols": _stored(dg.AllPartitionMapping()),
            "model_selection": dg.AssetIn(),
            "trials_log": dg.AssetIn(),
        },
    )(backtest_body)

    @session_asset(
        schema=schemas.DailyBlotter,
        layer="reports",
        group=GROUP,
        partitions_def=partitions_def,
        date_col="asof",
        checks=blotter_checks(reports, lambda i: window_sessions(i["context"])),
        freshness_policy=MARKET_FRESHNESS,
        ins={
            "target_portfolio": dg.AssetIn(),
            "equity_scores": dg.AssetIn(),
            "universe": dg.AssetIn(),
            "backtest_equities": dg.AssetIn(),
            "equity_features": dg.AssetIn(),
            "adjusted_prices": dg.AssetIn(partition_mapping=history),
            "trials_log": dg.AssetIn(),
            # Strategies formed at the previous close (their surfaces and quotes are end-of-day).
            "options_strategies": dg.AssetIn(partition_mapping=previous, metadata={ALLOW_MISSING: True}),
        },
    )
    def daily_blotter(
        context: dg.AssetExecutionContext,
        target_portfolio: pd.DataFrame,
        equity_scores: pd.DataFrame,
        universe: pd.DataFrame,
        backtest_equities: pd.DataFrame,
        equity_features: pd.DataFrame,
        adjusted_prices: pd.DataFrame,
        trials_log: pd.DataFrame,
        options_strategies: pd.DataFrame,
    ):
        """The day's picks (blueprint §10.1 JSON, validated) and Markdown page under data/<profile>/reports/<asof>/."""
        sessions = window_sessions(context)
        returns = trailing_returns(adjusted_prices)
        rows, meta = [], {}
        for n, session in enumerate(sessions, 1):
            md, payload, positions = session_blotter(
                session,
                target_portfolio,
                equity_scores,
                universe,
                backtest_equities,
                risk=risk,
                initial_capital=bt.initial_capital,
                periods_per_year=bt.periods_per_year,
                features=equity_features,
                returns=returns[returns.index < session].tail(COV_WINDOW),
                trials=trials_log,
                strategies=_prior_strategies(options_strategies, session, session_keys, options_policy),
                kill_switch=kill_state(profile.data_dir).line(),
                out_dir=reports() / f"{session:%Y-%m-%d}",
                plots=n == len(sessions),
            )
            rows.append(positions.assign(asof=session))
            if n == len(sessions):
                path = reports() / f"{session:%Y-%m-%d}" / "blotter.md"
                meta = {
                    "asof": f"{session:%Y-%m-%d}",
                    "blotter_md": dg.MetadataValue.path(str(path)),
                    "blotter_json": dg.MetadataValue.json(payload),
                    "blotter": dg.MetadataValue.md(md),
                    "positions": len(payload["positions"]),
                }
        cols = [c for c in schemas.DailyBlotter.to_schema().columns if c not in schemas.Lineage.to_schema().columns]
        out = pd.concat(rows, ignore_index=True).loc[:, cols].astype({"horizon_days": "int64"})
        return stamp(out, "daily_blotter", "asof"), meta

    book = build_book_assets(partitions_def, bt, stamp, GROUP, ALLOW_MISSING, kill_root=lambda: profile.data_dir)
    return [target_portfolio, backtest_asset, daily_blotter, *book]


def _prior_strategies(rows: pd.DataFrame, session, session_keys: pd.DatetimeIndex, policy) -> list[dict]:
    """The §10.2 strategies formed at the close of the session before ``session`` (none on the first)."""
    prior = session_keys[session_keys < pd.Timestamp(session)]
    return document_from_rows(rows, prior[-1], policy)["strategies"] if len(prior) else []


def _empty_equity() -> pd.DataFrame:
    cols = {c: pd.Series([], dtype=float) for c in schemas.BacktestEquities.to_schema().columns}
    cols.update(date=pd.Series([], dtype="datetime64[ns]"), run_id=pd.Series([], dtype=object))
    return pd.DataFrame({c: v for c, v in cols.items() if c not in schemas.Lineage.to_schema().columns})
