"""The options strategies assets: ``options_strategies`` (daily, §10.2) and ``options_backtest``.

``options_strategies`` is partitioned by session (layer ``reports``, by ``asof``): for each
session it takes the ``vol_forecasts`` and ``equity_scores`` of that session (formed before its
open), the session's ``vol_surfaces`` and ``option_quotes`` (quoted half-spreads and volumes,
at the close) and the dividends announced over the last :data:`DIVIDEND_LOOKBACK` sessions
(``raw_corporate_actions``, projected forward for the early-assignment flag), and calls
:func:`quant_assets.options.strategies.build_strategies`. The stored rows are the document's
strategies with their legs; the validated §10.2 document is written to
``data/<profile>/reports/<asof>/options_strategies.json`` and shown as metadata.

``options_backtest`` is **unpartitioned** (one run over every stored session, like
``backtest_equities``; stored by the models' IO manager): the daily re-hedged backtest of both
sleeves (:func:`quant_assets.options.book.run_options_backtest`) over the stored surfaces,
scores and out-of-sample vol forecasts, and the same for each policy variant of
:func:`~quant_assets.options.book.trial_grid` for DSR and PBO. Fills pay the policy's fallback
half-spread (the quote history is not read back over the whole window). The vol sleeve's
signal over history is walk-forward
(:func:`~quant_assets.options.forecast.walk_forward_forecasts`: the configured candidate
refit every few sessions on the labels known by then), not the stored ``vol_forecasts`` (those
start at the model's training date); with too little labelled history it runs on the stored
forecasts, else on the documented VRP baseline
(:func:`~quant_assets.options.strategies.vrp_forecasts`), and says which. Metadata: the Go/No-Go
figures per sleeve (vol sleeve on delta-hedged PnL, spread sleeve on total PnL) and the
attribution plot.

Configuration: the profile's optional ``options.strategies`` block
(:class:`~quant_assets.options.strategies.StrategyPolicy` fields) and the ``models.gate``.
"""

import json

import dagster as dg
import numpy as np
import pandas as pd

from quant_assets import schemas
from quant_assets.config import Profile
from quant_assets.defs.lib.runtime import png_markdown, stamp_rows, window_sessions
from quant_assets.defs.lib.session_asset import model_asset, session_asset
from quant_assets.defs.market.schedules import MARKET_FRESHNESS
from quant_assets.models import SelectionConfig
from quant_assets.options.book import DAILY_COLUMNS, run_options_backtest, sleeve_go_no_go, trial_grid
from quant_assets.options.book.plot import attribution_png
from quant_assets.options.forecast import VolForecastConfig, walk_forward_forecasts
from quant_assets.options.strategies import (
    StrategyPolicy,
    build_strategies,
    document_from_rows,
    empty_strategies,
    projected_ex_dividends,
    vrp_forecasts,
)

GROUP = "options"
DIVIDEND_LOOKBACK = 130
"""Sessions of announced dividends read to project the next ex-dates (two quarters)."""
ALLOW_MISSING = {"allow_missing_partitions": True}

__all__ = ["build_strategy_assets", "strategy_policy"]


def strategy_policy(profile: Profile) -> StrategyPolicy:
    """The profile's ``options.strategies`` policy (defaults where absent)."""
    return StrategyPolicy.coerce((profile.raw.get("options") or {}).get("strategies"))


def _go_no_go_markdown(figures: dict[str, dict]) -> str:
    rows = ["| sleeve | Sharpe | max DD | DSR | PBO | max net vega / cap | verdict |", "|---|---|---|---|---|---|---|"]
    for sleeve, g in figures.items():
        rows.append(
            f"| {sleeve} | {g['sharpe']:.2f} | {g['max_drawdown']:.1%} | {g['dsr']:.3f} | {g['pbo']:.3f} | "
            f"{g['max_net_vega']:.3f} / {g['vega_cap']:.3f} | {'GO' if g['passed'] else 'NO-GO'} |"
        )
    return "\n".join(rows)


def build_strategy_assets(profile: Profile, partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """``options_strategies`` and ``options_backtest`` for ``profile``."""
    policy = strategy_policy(profile)
    gate = SelectionConfig.from_dict(profile.models).gate
    fingerprint = profile.fingerprint()
    vol_config = VolForecastConfig.from_dict(profile.raw.get("vol_forecast"))
    dividends_in = dg.AssetIn(
        partition_mapping=dg.TimeWindowPartitionMapping(
            start_offset=-DIVIDEND_LOOKBACK, end_offset=0, allow_nonexistent_upstream_partitions=True
        ),
        metadata=ALLOW_MISSING,
    )

    @session_asset(
        schema=schemas.OptionsStrategies,
        layer="reports",
        group=GROUP,
        partitions_def=partitions_def,
        date_col="asof",
        freshness_policy=MARKET_FRESHNESS,
        ins={
            "vol_forecasts": dg.AssetIn(),
            "equity_scores": dg.AssetIn(),
            "vol_surfaces": dg.AssetIn(),
            "option_quotes": dg.AssetIn(),
            "raw_corporate_actions": dividends_in,
        },
    )
    def options_strategies(
        context: dg.AssetExecutionContext,
        vol_forecasts: pd.DataFrame,
        equity_scores: pd.DataFrame,
        vol_surfaces: pd.DataFrame,
        option_quotes: pd.DataFrame,
        raw_corporate_actions: pd.DataFrame,
    ):
        """Top 10 options strategies of the day (§10.2): net Greeks, worst-case slippage, hedge rules."""
        parts, meta = [], {}
        for session in window_sessions(context):
            fc = vol_forecasts[pd.DatetimeIndex(vol_forecasts["asof"]) == session]
            sc = equity_scores[pd.DatetimeIndex(equity_scores["asof"]) == session]
            divs = projected_ex_dividends(raw_corporate_actions, session)
            rows = build_strategies(session, fc, sc, vol_surfaces, policy, quotes=option_quotes, dividends=divs)
            doc = document_from_rows(rows, session, policy)
            out_dir = profile.data_dir / "reports" / f"{session:%Y-%m-%d}"
            out_dir.mkdir(parents=True, exist_ok=True)
            path = out_dir / "options_strategies.json"
            path.write_text(json.dumps(doc, indent=2))
            parts.append(rows)
            meta = {
                "asof": f"{session:%Y-%m-%d}",
                "strategies": len(doc["strategies"]),
                "net_vega": doc["risk"]["net_vega"],
                "assignment_flags": int(rows["assignment_risk"].sum()),
                "document": dg.MetadataValue.json(doc),
                "document_path": dg.MetadataValue.path(str(path)),
            }
        out = pd.concat(parts, ignore_index=True) if parts else empty_strategies()
        return stamp_rows(out, GROUP, "options_strategies", "asof", fingerprint), meta

    def backtest_body(
        vol_surfaces: pd.DataFrame,
        vol_forecasts: pd.DataFrame,
        equity_scores: pd.DataFrame,
        vol_features: pd.DataFrame,
        vol_labels: pd.DataFrame,
    ):
        """Daily re-hedged backtest of both sleeves with Greeks attribution and per-sleeve Go/No-Go."""
        if vol_surfaces.empty:
            empty = pd.DataFrame({c: pd.Series([], dtype=float) for c in DAILY_COLUMNS}).astype(
                {"date": "datetime64[ns]", "sleeve": object}
            )
            return stamp_rows(empty, GROUP, "options_backtest", "date", fingerprint), {
                "verdict": "not run: no surfaces"
            }
        surfaces = vol_surfaces.drop_duplicates(["date", "underlier", "expiry"])
        signal = "vol_forecasts (stored)"
        history = (
            walk_forward_forecasts(
                vol_features,
                vol_labels,
                vol_config,
                candidate=vol_config.backtest_candidate,
                refit_every=vol_config.backtest_refit_every,
            )
            if len(vol_features) and len(vol_labels)
            else pd.DataFrame()
        )
        if len(history):
            vol_forecasts = history.drop(columns="model_as_of")
            signal = f"walk-forward {vol_config.backtest_candidate} (refit every {vol_config.backtest_refit_every})"
        elif vol_forecasts.empty:
            near = surfaces.sort_values("t_years").drop_duplicates(["date", "underlier"])
            spots = near.assign(spot=near["forward"] * np.exp(-near["rate"] * near["t_years"]))
            vol_forecasts = vrp_forecasts(surfaces, spots[["date", "underlier", "spot"]], min_periods=21)
            signal = "vrp_baseline (no stored vol_forecasts)"
        runs = {
            name: run_options_backtest(surfaces, None, p, vol_forecasts=vol_forecasts, equity_scores=equity_scores)
            for name, p in trial_grid(policy).items()
        }
        daily = runs["policy"].daily
        figures = {}
        for sleeve in ("vol", "spread"):
            trials = pd.DataFrame(
                {n: r.daily.loc[r.daily["sleeve"] == sleeve, "net"].to_numpy() for n, r in runs.items()}
            )
            figures[sleeve] = sleeve_go_no_go(daily[daily["sleeve"] == sleeve], trials, policy, gate)
        png = attribution_png(daily)
        path = profile.data_dir / "reports" / "backtest" / "options_backtest.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
        clean = {
            s: {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in g.items()}
            for s, g in figures.items()
        }
        meta = {
            "vol_signal": signal,
            "trades": int(len(runs["policy"].trades)),
            "go_no_go": dg.MetadataValue.md(_go_no_go_markdown(figures)),
            "figures": dg.MetadataValue.json(clean),
            **{f"{s}_verdict": "GO" if g["passed"] else f"NO-GO: {g['reasons']}" for s, g in figures.items()},
            "attribution_png": dg.MetadataValue.path(str(path)),
            "attribution": png_markdown(png, "options attribution"),
        }
        return stamp_rows(daily, GROUP, "options_backtest", "date", fingerprint), meta

    all_in = dg.AssetIn(partition_mapping=dg.AllPartitionMapping(), metadata=ALLOW_MISSING)
    options_backtest = model_asset(
        schema=schemas.OptionsBacktest,
        group=GROUP,
        name="options_backtest",
        freshness_policy=MARKET_FRESHNESS,
        ins={
            "vol_surfaces": all_in,
            "vol_forecasts": all_in,
            "equity_scores": all_in,
            "vol_features": all_in,
            "vol_labels": all_in,
        },
    )(backtest_body)

    return [options_strategies, options_backtest]
