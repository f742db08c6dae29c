"""``go_no_go`` (one row per sleeve and session) and ``go_no_go_scorecard`` (its history, trend and table).

``go_no_go`` is partitioned by session (layer ``governance``, by ``asof``): for each session of
the run, the equities sleeve is judged on ``backtest_equities`` through that close
(:func:`quant_assets.reporting.scorecard.go_no_go`: net Sharpe and drawdown of the backtest,
PBO of the selection, DSR over every logged trial); the options vol and spread sleeves on the
per-sleeve figures of the latest ``options_backtest`` (its ``figures`` metadata: DSR and PBO over
its policy trial grid, net vega against the policy cap) when the graph has that asset (else
NO-GO, "not evaluated", with the reason). A stored partition is never rewritten by a later session: the
partitions are the append-only history of the verdicts.

``go_no_go_scorecard`` is unpartitioned: every stored ``go_no_go`` partition, with the change of
Sharpe and DSR per sleeve since the previous session in the metadata, the latest table, a trend
plot, and the table written to ``data/<profile>/reports/go_no_go.md``.
"""

from pathlib import Path

import dagster as dg
import pandas as pd

from quant_assets import schemas
from quant_assets.config import Profile
from quant_assets.defs.governance.tripwire_assets import GROUP
from quant_assets.defs.lib.runtime import png_markdown, stamp_rows, window_sessions
from quant_assets.defs.lib.session_asset import model_asset, session_asset
from quant_assets.defs.models.assets import ALLOW_MISSING
from quant_assets.defs.portfolio.assets import portfolio_configs
from quant_assets.models import SelectionConfig
from quant_assets.monitoring.go_no_go import (
    equities_row,
    options_rows,
    scorecard_markdown,
    scorecard_plot,
    scorecard_trend,
)

__all__ = ["build_scorecard_assets"]


def _options_figures(context) -> pd.DataFrame | None:
    """The per-sleeve Go/No-Go figures of the latest ``options_backtest`` (its ``figures`` metadata), if any.

    They are computed there over the policy's trial grid (DSR and PBO need every trial's PnL,
    which the stored daily frame does not carry), so they are read back rather than recomputed.
    """
    event = context.instance.get_latest_materialization_event(dg.AssetKey("options_backtest"))
    meta = event.asset_materialization.metadata if event is not None and event.asset_materialization else {}
    figures = meta.get("figures")
    if figures is None:
        return None
    return pd.DataFrame([{"sleeve": sleeve, **(f or {})} for sleeve, f in figures.value.items()])


def build_scorecard_assets(
    profile: Profile, partitions_def: dg.PartitionsDefinition, *, options: bool = False
) -> list[dg.AssetsDefinition]:
    """``go_no_go`` and ``go_no_go_scorecard``; ``options``: the graph has ``options_backtest``."""
    fingerprint = profile.fingerprint()
    _, bt = portfolio_configs(profile)
    gate = SelectionConfig.from_dict(profile.models).gate
    ins = {"backtest_equities": dg.AssetIn(), "model_selection": dg.AssetIn(), "trials_log": dg.AssetIn()}
    if options:
        ins["options_backtest"] = dg.AssetIn()

    def body(context, backtest_equities, model_selection, trials_log, options_backtest=None):
        options_figures = _options_figures(context) if options_backtest is not None else None
        rows = []
        for asof in window_sessions(context):
            rows.append(
                equities_row(
                    asof, backtest_equities, model_selection, trials_log, gate, bt.initial_capital, bt.periods_per_year
                )
            )
            rows += options_rows(asof, options_figures)
        out = pd.DataFrame(rows)
        last = out[out["asof"] == out["asof"].max()]
        meta = {
            "go_no_go": dg.MetadataValue.md(scorecard_markdown(last)),
            **{f"{r.sleeve}_verdict": "GO" if r.passed else "NO-GO" for r in last.itertuples()},
        }
        return stamp_rows(out, GROUP, "go_no_go", "asof", fingerprint), meta

    decorate = session_asset(
        schema=schemas.GoNoGo, layer=GROUP, group=GROUP, partitions_def=partitions_def, date_col="asof", ins=ins
    )
    if options:

        @decorate
        def go_no_go(
            context: dg.AssetExecutionContext,
            backtest_equities: pd.DataFrame,
            model_selection: pd.DataFrame,
            trials_log: pd.DataFrame,
            options_backtest: pd.DataFrame,
        ):
            """Go/No-Go per sleeve: out of sample, net of costs and impact; Sharpe, drawdown, DSR, PBO, net vega."""
            return body(context, backtest_equities, model_selection, trials_log, options_backtest)

    else:

        @decorate
        def go_no_go(
            context: dg.AssetExecutionContext,
            backtest_equities: pd.DataFrame,
            model_selection: pd.DataFrame,
            trials_log: pd.DataFrame,
        ):
            """Go/No-Go per sleeve (options sleeves not in this graph): Sharpe, drawdown, DSR, PBO, net vega."""
            return body(context, backtest_equities, model_selection, trials_log)

    def scorecard_body(context: dg.AssetExecutionContext, go_no_go: pd.DataFrame):
        """Every stored Go/No-Go verdict, its trend per sleeve, the latest table (also under reports/)."""
        history = go_no_go.sort_values(["asof", "sleeve"], kind="mergesort").reset_index(drop=True)
        meta: dict = {"sessions": int(history["asof"].nunique()) if len(history) else 0}
        if len(history):
            trend = scorecard_trend(history)
            last = history[history["asof"] == history["asof"].max()]
            md = scorecard_markdown(last)
            reports = profile.data_dir / "reports"
            path = reports / "go_no_go.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"# Go/No-Go as of {last['asof'].iloc[0]:%Y-%m-%d}\n\n{md}\n")
            png = scorecard_plot(trend, reports / "go_no_go_trend.png")
            changes = trend[trend["asof"] == trend["asof"].max()][["sleeve", "sharpe_change", "dsr_change"]]
            meta.update(
                go_no_go=dg.MetadataValue.md(md),
                trend=dg.MetadataValue.md(changes.round(4).to_markdown(index=False)),
                report=dg.MetadataValue.path(str(Path(path))),
                plot=png_markdown(png, "go_no_go_trend"),
            )
        return history, meta

    scorecard_asset = model_asset(
        schema=schemas.GoNoGo,
        group=GROUP,
        name="go_no_go_scorecard",
        ins={"go_no_go": dg.AssetIn(partition_mapping=dg.AllPartitionMapping(), metadata={ALLOW_MISSING: True})},
    )(scorecard_body)
    return [go_no_go, scorecard_asset]
