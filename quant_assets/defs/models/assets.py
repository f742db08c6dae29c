"""The model assets of the equities sleeve: ``model_selection``, ``trials_log``, ``champion_model``,
``equity_scores``.

Partitioning
------------
``model_selection``, ``trials_log`` and ``champion_model`` are **unpartitioned**: a selection
is one decision over the whole history, not a per-session fact. ``model_selection`` reads every
stored partition of ``equity_features``, ``equity_labels`` and ``adjusted_prices`` (an
``AllPartitionMapping``; partitions not yet materialized are skipped, and counted in the
metadata) and trains **as of** ``d`` = the profile's last session, or the first session of the
dark hold-out when one is configured: only label rows whose fitted targets (the
``horizon``-session excess return and the triple-barrier label) exited before ``d``
(:func:`~quant_assets.models.research_panel`; a row's ``known_date`` partition may be later, when
its 20-session target is) and none of the hold-out. The three are stored by
:class:`~quant_assets.defs.models.resources.ModelFrameIOManager` (atomic Parquet under
``data/<profile>/models``); the scorer, the plots and the path returns live in MLflow.

``equity_scores`` is partitioned by session like the research inputs and stored in the
point-in-time store (layer ``scores``, by ``asof``). Session ``t`` is scored with the registered
``champion``, or the ``challenger`` when no selection ever passed the gate (the metadata and
every row say which), and only if the model was trained as of ``d <= t``: a score at ``t`` never
depends on data after the close of ``t - 1`` (see :mod:`quant_assets.research`). Sessions before
the model's training date are not scored (their partitions hold no rows).

When too few labelled sessions are usable for the CPCV layout (every fold must be longer than
the embargo plus the label span, or purging leaves a split without training data), the
selection is not run: ``model_selection`` is empty and says why, and nothing is registered.
"""

import json
import tempfile
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlparse

import dagster as dg
import numpy as np
import pandas as pd

from quant_assets import schemas
from quant_assets.config import Profile
from quant_assets.defs.lib.frame_checks import FrameCheck
from quant_assets.defs.lib.runtime import png_markdown, stamp_rows, transform_id, window_sessions
from quant_assets.defs.lib.session_asset import model_asset, session_asset
from quant_assets.defs.market.schedules import MARKET_FRESHNESS
from quant_assets.defs.models.checks import SCORE_CHECKS, TRIALS_CHECKS, selection_checks
from quant_assets.defs.models.resources import RESEARCH_TRACKING
from quant_assets.market.ingest import arrival_times
from quant_assets.market.lineage import add_lineage
from quant_assets.models import (
    SelectionConfig,
    SelectionResult,
    cost_inputs_from_wide,
    select_model,
)
from quant_assets.models.readiness import readiness
from quant_assets.models.scoring import score_frame
from quant_assets.research.frames import MarketFrames

GROUP = "models"
SELECTION_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(days=31), warn_window=timedelta(days=7))
"""A selection (and the trials and champion it writes) older than a month is stale: select again."""
ALLOW_MISSING = "allow_missing_partitions"
"""``AssetIn`` metadata read by the point-in-time IO manager: read the stored partitions only."""

__all__ = ["build_model_assets", "readiness", "training_as_of"]


def training_as_of(profile: Profile, partitions_def: dg.PartitionsDefinition, cfg: SelectionConfig) -> pd.Timestamp:
    """The session the selection trains as of: the last session, or the hold-out's first if earlier."""
    keys = pd.DatetimeIndex(partitions_def.get_partition_keys())
    if cfg.holdout is not None and cfg.holdout.start is not None:
        inside = keys[keys >= cfg.holdout.start]
        if len(inside):
            return inside[0]
    return keys[-1]


def _frame_asset(
    *,
    schema: type,
    checks: Sequence[FrameCheck] = (),
    group: str = GROUP,
    freshness_policy: dg.FreshnessPolicy | None = SELECTION_FRESHNESS,
    **asset_kwargs,
) -> Callable[[Callable], dg.AssetsDefinition]:
    """Decorator: ``fn(...) -> (frame, metadata)`` becomes an unpartitioned, schema-typed model asset.

    The frame is validated against ``schema`` before it is stored by the model IO manager;
    ``checks`` are evaluated on it with ``fn``'s arguments by name (as in ``session_asset``).
    ``group`` is the asset group (the model store's layer is ``models`` whatever the group).
    """

    return model_asset(
        schema=schema, group=group, layer=GROUP, freshness_policy=freshness_policy, checks=checks, **asset_kwargs
    )


def _log_lineage(df: pd.DataFrame, at: str, path: Path, transform: str) -> tuple[pd.DataFrame, pd.Series]:
    """Rows of the append-only log at ``path`` with lineage, known when written (column ``at``, taken out).

    Returns the frame and the popped UTC times (an empty log is stamped now).
    """
    when = pd.to_datetime(df.pop(at), utc=True)
    out = add_lineage(df, when if len(df) else pd.Timestamp.now(tz="UTC"), f"file://{path}", transform)
    return out, when


def _all_partitions() -> dg.AssetIn:
    return dg.AssetIn(partition_mapping=dg.AllPartitionMapping(), metadata={ALLOW_MISSING: True})


def _artifact(root: str, relative: str) -> dg.MetadataValue:
    """A logged artifact: a local path for a file store, else its URI."""
    parsed = urlparse(root)
    if parsed.scheme in ("", "file"):
        return dg.MetadataValue.path(str(Path(unquote(parsed.path)) / relative))
    return dg.MetadataValue.url(f"{root}/{relative}")


def _log_selection(context, result: SelectionResult, features: pd.DataFrame, as_of, config: dict) -> tuple[dict, dict]:
    """Log the selection to MLflow (plots, path returns, registered scorer); returns (info, metadata)."""
    tracking = getattr(context.resources, RESEARCH_TRACKING)
    tracker = tracking.tracker()
    feature_cols = [c for c in features.columns if c.startswith("feature_")]
    seen = features[features["asof"] < as_of]
    example = seen[seen["asof"] == seen["asof"].max()][["asof", "symbol", *feature_cols]].reset_index(drop=True)
    meta: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        plots = {"cpcv_folds": Path(tmp) / "cpcv_folds.png"}
        result.cpcv["diagram"].savefig(plots["cpcv_folds"], format="png", dpi=100)
        if hasattr(result.pbo, "plot"):
            plots["pbo_logits"] = result.pbo.plot(Path(tmp) / "pbo_logits.png")
        paths = pd.concat(
            [
                df.rename_axis("session")
                .reset_index()
                .melt("session", var_name="path", value_name="net_return")
                .assign(candidate=name)
                for name, df in result.path_returns.items()
            ],
            ignore_index=True,
        )
        paths_file = Path(tmp) / "path_returns.parquet"
        paths.assign(path=paths["path"].astype(str)).to_parquet(paths_file, index=False)
        info = tracker.log_selection(result, config, example, plots)
        _, client = tracker._client()
        client.set_tag(info["run_id"], "as_of", str(pd.Timestamp(as_of).date()))
        client.log_artifact(info["run_id"], str(paths_file), "selection")
        artifact_root = client.get_run(info["run_id"]).info.artifact_uri
        for name, png in plots.items():
            meta[f"{name}_png"] = _artifact(artifact_root, f"plots/{png.name}")
            meta[f"{name}_plot"] = png_markdown(png, name)
        meta["path_returns"] = _artifact(artifact_root, f"selection/{paths_file.name}")
    return info, meta


def _selection_frame(result: SelectionResult, as_of, info: dict) -> pd.DataFrame:
    table = result.candidates.reset_index()
    return table.assign(
        as_of=pd.Timestamp(as_of),
        pbo=result.pbo_value if np.isfinite(result.pbo_value) else np.nan,
        dsr=result.dsr["dsr"],
        expected_max_sharpe_obs=result.dsr["expected_max_sharpe_obs"],
        n_trials=int(result.dsr["n_trials"]),
        gate_passed=bool(result.gate.passed),
        gate_reasons="; ".join(result.gate.reasons),
        mlflow_run_id=info["run_id"],
        model_version=str(info["version"]),
        data_hash=result.data_hash,
        n_features=table["n_features"].astype("int64"),
    )[[c for c in schemas.ModelSelection.to_schema().columns if c not in schemas.Lineage.to_schema().columns]]


def _empty(schema: type) -> pd.DataFrame:
    cols = {}
    for name, col in schema.to_schema().columns.items():
        dtype = str(col.dtype)
        cols[name] = pd.Series(
            [],
            dtype="datetime64[ns, UTC]"
            if "UTC" in dtype
            else "datetime64[ns]"
            if "datetime" in dtype
            else object
            if dtype in ("str", "string")
            else dtype,
        )
    return pd.DataFrame(cols)


def build_model_assets(profile: Profile, partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """``model_selection``, ``trials_log``, ``champion_model`` and ``equity_scores`` for ``profile``."""
    cfg = SelectionConfig.from_dict(profile.models)
    as_of = training_as_of(profile, partitions_def, cfg)
    fingerprint = profile.fingerprint()

    def stamp(df: pd.DataFrame, name: str, known_at: str) -> pd.DataFrame:
        return stamp_rows(df, "models", name, known_at, fingerprint)

    @_frame_asset(
        schema=schemas.ModelSelection,
        checks=selection_checks(cfg.gate),
        ins={
            "equity_features": _all_partitions(),
            "equity_labels": _all_partitions(),
            "adjusted_prices": _all_partitions(),
        },
        required_resource_keys={RESEARCH_TRACKING},
    )
    def model_selection(
        context: dg.AssetExecutionContext,
        equity_features: pd.DataFrame,
        equity_labels: pd.DataFrame,
        adjusted_prices: pd.DataFrame,
    ):
        """Candidates under CPCV on net decile long/short paths; PBO, DSR over all trials, the gate."""
        meta = {
            "as_of": str(as_of.date()),
            "label_partitions_read": int(equity_labels["known_date"].nunique()) if len(equity_labels) else 0,
        }
        why_not = readiness(equity_features, equity_labels, cfg, as_of)
        if why_not:
            context.log.warning(f"model selection not run: {why_not}")
            return _empty(schemas.ModelSelection), {**meta, "gate_passed": False, "verdict": f"not run: {why_not}"}
        no_symbols = pd.DataFrame(
            {
                "date": pd.to_datetime([]),
                "symbol": pd.Series([], dtype=object),
                "shares_outstanding": pd.Series([], dtype=float),
            }
        )
        market = MarketFrames(adjusted_prices, pd.DataFrame(), pd.DataFrame(), no_symbols, pd.DataFrame())
        costs = cost_inputs_from_wide(market.wide, cfg.spread_bps)
        tracking = getattr(context.resources, RESEARCH_TRACKING)
        result = select_model(
            equity_features,
            equity_labels,
            cfg,
            costs=costs,
            as_of=as_of,
            trials_log=tracking.trials_log(),
            run_id=context.run_id,
        )
        info, plot_meta = _log_selection(context, result, equity_features, as_of, profile.raw)
        head = result.headline()
        verdict = "PASSED" if result.gate.passed else f"refused: {head['gate_reasons']}"
        out = stamp(_selection_frame(result, as_of, info), "model_selection", "as_of")
        table = result.candidates[["sharpe_ann", "max_drawdown", "rank_ic", "selected"]].round(4)
        return out, {
            **meta,
            **{k: v for k, v in head.items() if k not in ("gate_reasons",)},
            "verdict": verdict,
            "walk_forward_sharpe": head["walk_forward_sharpe"],
            "mlflow_run_id": info["run_id"],
            "model_version": str(info["version"]),
            "aliases": ", ".join(info["aliases"]),
            "candidates": dg.MetadataValue.md(table.to_markdown()),
            **plot_meta,
        }

    @_frame_asset(schema=schemas.TrialsLog, checks=TRIALS_CHECKS, required_resource_keys={RESEARCH_TRACKING})
    def trials_log(context: dg.AssetExecutionContext, model_selection: pd.DataFrame):
        """Every candidate, feature set and hyper-parameter ever evaluated, with its result."""
        log = getattr(context.resources, RESEARCH_TRACKING).trials_log()
        df = log.frame()
        df = df.assign(
            run_id=df["run_id"].fillna("").astype(str),
            trial_id=df["trial_id"].astype("int64"),
            n_features=df["n_features"].astype("int64"),
            selected=df["selected"].astype(bool),
            **{
                c: pd.to_numeric(df[c], errors="coerce").astype(float)
                for c in ("sharpe_obs", "sharpe_ann", "max_drawdown", "rank_ic")
            },
        )
        out, _ = _log_lineage(df, "recorded_at", log.path, transform_id("trials_log", fingerprint))
        n_runs = int(out["run_id"].nunique())
        return out, {"n_trials": int(len(out)), "n_runs": n_runs, "log": dg.MetadataValue.path(str(log.path))}

    @_frame_asset(schema=schemas.ChampionModel, required_resource_keys={RESEARCH_TRACKING})
    def champion_model(context: dg.AssetExecutionContext, model_selection: pd.DataFrame):
        """The registered scorer the daily scores use: the champion, else this selection's challenger."""
        tracking = getattr(context.resources, RESEARCH_TRACKING)
        ref = {
            "as_of": pd.NaT,
            "model_name": tracking.model_name,
            "model_version": None,
            "alias": "none",
            "model_uri": None,
            "mlflow_run_id": None,
            "candidate": None,
            "gate_passed": False,
            "gate_reasons": "no model registered",
        }
        if not model_selection.empty:
            ref.update(registered_reference(tracking))
        # Known from the training date of the model (the graph's as_of without one): replays are identical.
        known = arrival_times(pd.Series([as_of if pd.isna(ref["as_of"]) else pd.Timestamp(ref["as_of"])]))
        df = add_lineage(
            pd.DataFrame([ref]).astype({"as_of": "datetime64[ns]"}),
            known,
            tracking.tracker().tracking_uri if ref["model_uri"] else "quant_assets://models/none",
            transform_id("champion_model", fingerprint),
        )
        return df, {
            "alias": ref["alias"],
            "model_version": str(ref["model_version"]),
            "model_uri": str(ref["model_uri"]),
            "gate_passed": bool(ref["gate_passed"]),
        }

    @session_asset(
        schema=schemas.EquityScores,
        layer="scores",
        group=GROUP,
        partitions_def=partitions_def,
        date_col="asof",
        checks=SCORE_CHECKS,
        required_resource_keys={RESEARCH_TRACKING},
        freshness_policy=MARKET_FRESHNESS,
        ins={"equity_features": dg.AssetIn(), "champion_model": dg.AssetIn()},
    )
    def equity_scores(context: dg.AssetExecutionContext, equity_features: pd.DataFrame, champion_model: pd.DataFrame):
        """Expected 5-20-session excess return, confidence and top feature contributions per universe name."""
        sessions = window_sessions(context)
        ref = champion_model.iloc[0]
        if ref["alias"] == "none":
            return stamp(_empty_scores(), "equity_scores", "asof"), {"model": "none registered", "sessions_scored": 0}
        model_as_of = pd.Timestamp(ref["as_of"])
        todo = equity_features[pd.DatetimeIndex(equity_features["asof"]) >= model_as_of]
        out = _empty_scores()
        if len(todo):
            scorer = getattr(context.resources, RESEARCH_TRACKING).load_model(ref["model_uri"])
            out = score_frame(scorer, todo).assign(
                model_version=str(ref["model_version"]), model_alias=str(ref["alias"]), model_as_of=model_as_of
            )
            out = out.astype({"horizon_sessions": "int64"})
        scored = int(out["asof"].nunique())
        return stamp(out, "equity_scores", "asof"), {
            "model": f"{ref['model_name']} v{ref['model_version']} ({ref['alias']})",
            "model_alias": str(ref["alias"]),
            "model_as_of": str(model_as_of.date()),
            "sessions_scored": scored,
            "sessions_before_model": int((sessions < model_as_of).sum()),
        }

    return [model_selection, trials_log, champion_model, equity_scores]


def registered_reference(tracking) -> dict:
    """The champion version if one exists, else the challenger: its run, candidate, as_of and verdict."""
    from quant_assets.models.tracking import CHALLENGER, CHAMPION

    mlflow, client = tracking.tracker()._client()
    for alias in (CHAMPION, CHALLENGER):
        try:
            mv = client.get_model_version_by_alias(tracking.model_name, alias)
        except mlflow.exceptions.MlflowException:
            continue
        run = client.get_run(mv.run_id)
        tags = run.data.tags
        gate = json.loads(mlflow.artifacts.load_text(f"{run.info.artifact_uri}/gate_verdict.json"))
        return {
            "as_of": pd.Timestamp(tags["as_of"]),
            "model_version": str(mv.version),
            "alias": alias,
            "model_uri": f"models:/{tracking.model_name}/{mv.version}",
            "mlflow_run_id": mv.run_id,
            "candidate": tags.get("selected"),
            "gate_passed": tags.get("gate_passed") == "True",
            "gate_reasons": "; ".join(gate.get("reasons", [])),
        }
    return {}


def _empty_scores() -> pd.DataFrame:
    cols = [c for c in schemas.EquityScores.to_schema().columns if c not in schemas.Lineage.to_schema().columns]
    return _empty(schemas.EquityScores)[cols]
