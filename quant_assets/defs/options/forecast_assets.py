"""The vol forecasting assets: ``vol_features``, ``vol_labels``, ``vol_model``, ``vol_forecasts``.

Partitioning
------------
``vol_features`` (by ``asof``) reads ``vol_surfaces``, ``adjusted_prices``, ``option_quotes`` and
``raw_earnings_calendar`` through time-window mappings that end at the session **before**: the
features of ``t`` use data through the close of ``t-1``. ``vol_labels`` is partitioned by
``known_date`` (the session of the last exit) and reads the surfaces and prices through the
partition itself, so a partition never holds a label before all its targets are known.

``vol_model`` is **unpartitioned** like ``model_selection``: one selection per forecast
(straddle PnL, IV change) over every stored partition of features and labels, trained as of the
profile's last session (labels with ``known_date`` before it), logged to MLflow (experiment and
registered models of the profile's ``vol_forecast`` block) and to the vol trials log
``data/<profile>/models/vol_trials.jsonl``. When too few labelled sessions exist for the CPCV
layout it is empty and says why. ``vol_forecasts`` (by ``asof``) applies the registered
forecasters to the features of sessions on or after the training as-of; earlier partitions
hold no rows.
"""

import dataclasses
import functools

import dagster as dg
import numpy as np
import pandas as pd

from quant_assets import schemas
from quant_assets.calendars import sessions_in_range
from quant_assets.config import Profile
from quant_assets.defs.lib.runtime import stamp_rows, window_sessions
from quant_assets.defs.lib.session_asset import model_asset, session_asset
from quant_assets.defs.market.schedules import MARKET_FRESHNESS
from quant_assets.defs.models.assets import SELECTION_FRESHNESS
from quant_assets.defs.models.resources import RESEARCH_TRACKING, models_dir
from quant_assets.models.trials import TrialsLog
from quant_assets.options.forecast import (
    FORECAST_COLUMNS,
    VolForecastConfig,
    forecast_frame,
    readiness,
    select_vol_model,
)
from quant_assets.options.vol_features import VOL_FEATURES, build_vol_features, option_flows, surface_summary
from quant_assets.options.vol_labels import build_vol_labels, vol_label_columns

GROUP = "options"
EARNINGS_LOOKBACK = 60
"""Sessions of announcements read: earnings dates are announced a few weeks ahead."""

__all__ = ["build_forecast_assets"]


def _history(sessions: int, *, through_previous: bool = True) -> dg.AssetIn:
    return dg.AssetIn(
        partition_mapping=dg.TimeWindowPartitionMapping(
            start_offset=-sessions, end_offset=-1 if through_previous else 0, allow_nonexistent_upstream_partitions=True
        )
    )


def _empty(schema: type, drop_lineage: bool = True) -> pd.DataFrame:
    cols = {}
    lineage = schemas.Lineage.to_schema().columns
    for name, col in schema.to_schema().columns.items():
        if drop_lineage and name in lineage:
            continue
        dtype = str(col.dtype)
        kind = "datetime64[ns]" if "datetime" in dtype else object if dtype == "str" else dtype
        cols[name] = pd.Series([], dtype=kind)
    return pd.DataFrame(cols)


def _empty_labels(cfg: VolForecastConfig) -> pd.DataFrame:
    return pd.DataFrame(
        {
            c: pd.Series([], dtype="datetime64[ns]" if "date" in c else object if c == "underlier" else float)
            for c in vol_label_columns(cfg.labels)
        }
    )


def _empty_features() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "asof": pd.to_datetime([]),
            "underlier": pd.Series([], dtype=object),
            **{f"feature_{n}": pd.Series([], dtype=float) for n in VOL_FEATURES},
        }
    )


def build_forecast_assets(profile: Profile, partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """``vol_features``, ``vol_labels``, ``vol_model`` and ``vol_forecasts`` for ``profile``."""
    cfg = VolForecastConfig.from_dict(profile.raw.get("vol_forecast"))
    fcfg, lcfg = cfg.features, cfg.labels
    fingerprint = profile.fingerprint()
    as_of = pd.Timestamp(partitions_def.get_partition_keys()[-1])

    def stamp(df: pd.DataFrame, name: str, known_at: str) -> pd.DataFrame:
        return stamp_rows(df, "options", name, known_at, fingerprint)

    # Every session-partitioned options asset: this group and partitions, re-run each session.
    options_asset = functools.partial(
        session_asset, group=GROUP, partitions_def=partitions_def, freshness_policy=MARKET_FRESHNESS
    )

    @options_asset(
        schema=schemas.VolFeatures,
        layer="features",
        date_col="asof",
        ins={
            "vol_surfaces": _history(fcfg.lookback),
            "adjusted_prices": _history(fcfg.rv_window + 2),
            "option_quotes": _history(fcfg.volume_window + fcfg.flow_window + 2),
            "raw_earnings_calendar": _history(EARNINGS_LOOKBACK),
        },
    )
    def vol_features(
        context: dg.AssetExecutionContext,
        vol_surfaces: pd.DataFrame,
        adjusted_prices: pd.DataFrame,
        option_quotes: pd.DataFrame,
        raw_earnings_calendar: pd.DataFrame,
    ):
        """ATM IV level/skew/curvature, term slopes, 25-delta RR/BF, IV rank, VRP, earnings, OI/volume: t-1 data."""
        sessions = window_sessions(context)
        if vol_surfaces.empty:
            out = _empty_features()
        else:
            out = build_vol_features(
                surface_summary(vol_surfaces, fcfg),
                adjusted_prices,
                option_flows(option_quotes),
                raw_earnings_calendar,
                sessions,
                fcfg,
            )
        feats = [c for c in out.columns if c.startswith("feature_")]
        missing = float(out[feats].isna().to_numpy().mean()) if len(out) else 0.0
        return stamp(out, "vol_features", "asof"), {"n_features": len(feats), "missing_share": missing}

    @options_asset(
        schema=schemas.VolLabels,
        layer="labels",
        date_col="known_date",
        ins={
            "vol_surfaces": _history(lcfg.span, through_previous=False),
            "adjusted_prices": _history(lcfg.span + 1, through_previous=False),
        },
    )
    def vol_labels(context: dg.AssetExecutionContext, vol_surfaces: pd.DataFrame, adjusted_prices: pd.DataFrame):
        """IV change, realized VRP and delta-hedged straddle PnL over each horizon, stored when known."""
        sessions = window_sessions(context)
        out = _empty_labels(cfg)
        if len(vol_surfaces) and len(adjusted_prices):
            cal = sessions_in_range(sessions[0] - pd.Timedelta(days=3 * lcfg.span + 10), sessions[-1])
            first = max(cal.searchsorted(sessions[0]) - lcfg.span, 0)
            entries = cal[first : cal.searchsorted(sessions[-1]) - lcfg.span + 1]
            if len(entries):
                summary = surface_summary(vol_surfaces, fcfg)
                out = build_vol_labels(summary, vol_surfaces, adjusted_prices, entries, lcfg)
                out = out[pd.DatetimeIndex(out["known_date"]).isin(sessions)].reset_index(drop=True)
        pnl = out[f"straddle_pnl_bps_{cfg.horizon}"]
        return stamp(out, "vol_labels", "known_date"), {
            "mean_straddle_pnl_bps": float(pnl.mean()) if pnl.notna().any() else float("nan"),
            "entries": int(len(out)),
        }

    def vol_model_body(context: dg.AssetExecutionContext, vol_features: pd.DataFrame, vol_labels: pd.DataFrame):
        """Straddle-PnL and IV-change forecasters selected under CPCV (PBO, DSR with all vol trials, gate)."""
        meta: dict = {"as_of": str(as_of.date()), "horizon": cfg.horizon}
        why_not = readiness(vol_features, vol_labels, cfg, as_of)
        if why_not:
            context.log.warning(f"vol model selection not run: {why_not}")
            return stamp(_empty(schemas.VolModel), "vol_model", "as_of"), {**meta, "verdict": f"not run: {why_not}"}
        tracking = getattr(context.resources, RESEARCH_TRACKING)
        base = tracking.tracker()
        log = TrialsLog(models_dir(profile.name) / "vol_trials.jsonl")
        seen = vol_features[vol_features["asof"] < as_of]
        cols = ["asof", "underlier", *[c for c in vol_features.columns if c.startswith("feature_")]]
        example = seen[seen["asof"] == seen["asof"].max()][cols].reset_index(drop=True)
        parts = []
        for forecast in cfg.targets:
            res = select_vol_model(
                vol_features, vol_labels, cfg, forecast=forecast, as_of=as_of, trials_log=log, run_id=context.run_id
            )
            tracker = dataclasses.replace(base, experiment=cfg.experiment, model_name=f"{cfg.model_name}_{forecast}")
            info = tracker.log_selection(res, profile.raw, example)
            _, client = tracker._client()
            client.set_tag(info["run_id"], "as_of", str(as_of.date()))
            head = res.headline()
            table = res.candidates.reset_index()
            parts.append(
                table.assign(
                    forecast=forecast,
                    as_of=as_of,
                    horizon=cfg.horizon,
                    pbo=res.pbo_value if np.isfinite(res.pbo_value) else np.nan,
                    dsr=res.dsr["dsr"],
                    n_trials=int(res.dsr["n_trials"]),
                    gate_passed=bool(res.gate.passed),
                    gate_reasons=head["gate_reasons"],
                    mlflow_run_id=info["run_id"],
                    model_uri=info["model_uri"],
                )
            )
            meta.update(
                {
                    f"{forecast}_selected": res.selected,
                    f"{forecast}_oos_net_sharpe": head["oos_net_sharpe"],
                    f"{forecast}_rank_ic": head["rank_ic"],
                    f"{forecast}_pbo": head["pbo"],
                    f"{forecast}_dsr": head["dsr"],
                    f"{forecast}_gate_passed": bool(res.gate.passed),
                    f"{forecast}_candidates": dg.MetadataValue.md(
                        res.candidates[["sharpe_ann", "max_drawdown", "rank_ic", "selected"]].round(4).to_markdown()
                    ),
                }
            )
        keep = [c for c in schemas.VolModel.to_schema().columns if c not in schemas.Lineage.to_schema().columns]
        out = pd.concat(parts, ignore_index=True)[keep].astype({"n_trials": "int64", "horizon": "int64"})
        meta["n_trials"] = int(out["n_trials"].max())
        meta["verdict"] = "PASSED" if out.loc[out["forecast"] == "straddle_pnl", "gate_passed"].all() else "refused"
        return stamp(out, "vol_model", "as_of"), meta

    vol_model = model_asset(
        schema=schemas.VolModel,
        group=GROUP,
        name="vol_model",
        freshness_policy=SELECTION_FRESHNESS,
        ins={
            name: dg.AssetIn(partition_mapping=dg.AllPartitionMapping(), metadata={"allow_missing_partitions": True})
            for name in ("vol_features", "vol_labels")
        },
        required_resource_keys={RESEARCH_TRACKING},
    )(vol_model_body)

    @options_asset(
        schema=schemas.VolForecasts,
        layer="scores",
        date_col="asof",
        required_resource_keys={RESEARCH_TRACKING},
        ins={"vol_features": dg.AssetIn(), "vol_model": dg.AssetIn()},
    )
    def vol_forecasts(context: dg.AssetExecutionContext, vol_features: pd.DataFrame, vol_model: pd.DataFrame):
        """IV change and delta-hedged straddle PnL forecasts over the horizon, with a confidence, per underlier."""
        out = _empty(schemas.VolForecasts)
        if vol_model.empty:
            return stamp(out, "vol_forecasts", "asof"), {"model": "none: vol_model was not run"}
        chosen = vol_model[vol_model["selected"]].set_index("forecast")
        model_as_of = pd.Timestamp(chosen["as_of"].iloc[0])
        todo = vol_features[pd.DatetimeIndex(vol_features["asof"]) >= model_as_of]
        tracking = getattr(context.resources, RESEARCH_TRACKING)
        uris = {f: str(chosen.loc[f, "model_uri"]) for f in ("straddle_pnl", "iv_change")}
        if len(todo):
            pnl, iv = (tracking.load_model(uris[f]) for f in ("straddle_pnl", "iv_change"))
            version = "/".join(u.rsplit("/", 1)[-1] for u in uris.values())
            out = forecast_frame(pnl, iv, todo).assign(model_version=version, model_as_of=model_as_of)
            out = out[[*FORECAST_COLUMNS, "model_version", "model_as_of"]]
        return stamp(out, "vol_forecasts", "asof"), {
            "model_as_of": str(model_as_of.date()),
            "models": ", ".join(f"{f}: {u}" for f, u in uris.items()),
            "sessions_forecast": int(out["asof"].nunique()),
        }

    return [vol_features, vol_labels, vol_model, vol_forecasts]
