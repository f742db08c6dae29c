"""``drift_metrics``: the daily drift and health row of the live system, with its history plotted.

Partitioned by session ``t`` and computed after its close by
:func:`quant_assets.monitoring.health.session_health` from what is stored (each input reads the
partitions materialized so far, so a sleeve not yet running leaves its metrics NaN):
``equity_features`` of ``t`` against the reference window (``reference_sessions`` sessions ending
``reference_lag`` sessions before ``t``; none before ``min_reference_sessions`` are stored),
``equity_scores`` of the last 30 sessions with the ``equity_labels`` known at ``t`` (calibration),
the paper book's ``pnl`` and the equal-weight market return of ``adjusted_prices`` over
``pnl_sessions`` sessions (IR, time under water, beta, impact, change points). ``breach`` and
``breach_reason`` say which thresholds of the profile's ``operations.drift`` block are crossed; the
drift sensor reads them from the materialization's ``breaches`` metadata (JSON ``{session:
[reasons]}``) to ask for a challenger retrain.
"""

import io
from collections.abc import Collection

import dagster as dg
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from quant_assets import schemas
from quant_assets.config import Profile
from quant_assets.defs.lib.runtime import png_markdown, stamp_rows, window_sessions
from quant_assets.defs.lib.session_asset import session_asset
from quant_assets.defs.market.schedules import MARKET_FRESHNESS
from quant_assets.monitoring.health import DriftConfig, breaches, session_health

__all__ = ["HISTORY_SESSIONS", "build_drift_asset", "drift_config"]

GROUP = "operations"
ALLOW_MISSING = "allow_missing_partitions"
HISTORY_SESSIONS = 120
"""Sessions of stored drift history drawn in the plot."""
SCORE_SESSIONS = 30


def drift_config(profile: Profile) -> DriftConfig:
    """The profile's ``operations.drift`` block."""
    return DriftConfig.from_dict((profile.raw.get("operations") or {}).get("drift"))


def _window(start: int, end: int = 0) -> dg.AssetIn:
    mapping = dg.TimeWindowPartitionMapping(
        start_offset=start, end_offset=end, allow_nonexistent_upstream_partitions=True
    )
    return dg.AssetIn(partition_mapping=mapping, metadata={ALLOW_MISSING: True})


def _sessions_before(frame: pd.DataFrame, col: str, t: pd.Timestamp, lag: int, n: int) -> pd.DataFrame:
    days = np.sort(frame[col].unique())
    days = days[days < np.datetime64(t)]
    keep = days[max(0, len(days) - lag - n + 1) : max(0, len(days) - lag + 1)] if len(days) >= lag else days[:0]
    return frame[frame[col].isin(keep)]


def _market(prices: pd.DataFrame | None) -> pd.Series:
    if prices is None or prices.empty:
        return pd.Series(dtype=float)
    return prices.groupby("date")["ret_total"].mean()


def _plot(history: pd.DataFrame, cfg: DriftConfig) -> bytes:
    fig = Figure(figsize=(9, 6.5))
    axes = fig.subplots(3, 1, sharex=True)
    d = history.sort_values("date")
    axes[0].plot(d["date"], d["psi_median"], label="median PSI")
    axes[0].plot(d["date"], d["psi_mean"], alpha=0.5, label="mean PSI")
    axes[0].axhline(cfg.psi_threshold, color="red", ls="--", label="threshold")
    for day in d.loc[d["breach"], "date"]:
        axes[0].axvline(day, color="red", alpha=0.25)
    axes[0].legend(loc="upper left", fontsize=8)
    axes[0].set_title("Feature drift against the reference window")
    axes[1].plot(d["date"], d["brier"], label="Brier")
    axes[1].axhline(cfg.brier_threshold, color="red", ls="--")
    axes[1].set_title("Calibration of the scores whose targets became known")
    axes[2].plot(d["date"], d["tuw_current"], label="sessions under water")
    axes[2].plot(d["date"], d["change_points"], label="change points in PnL")
    axes[2].legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    return buf.getvalue()


def build_drift_asset(
    profile: Profile, partitions_def: dg.PartitionsDefinition, available: Collection[str]
) -> dg.AssetsDefinition:
    """``drift_metrics`` reading the inputs among ``available`` asset keys (features are required)."""
    cfg = drift_config(profile)
    fingerprint = profile.fingerprint()
    ins = {"equity_features": _window(-(cfg.reference_lag + cfg.reference_sessions))}
    optional = {
        "equity_scores": _window(-SCORE_SESSIONS),
        "equity_labels": _window(0),
        "pnl": _window(-cfg.pnl_sessions),
        "adjusted_prices": _window(-cfg.pnl_sessions),
    }
    ins.update({k: v for k, v in optional.items() if k in available})
    history = dg.TimeWindowPartitionMapping(
        start_offset=-HISTORY_SESSIONS, end_offset=-1, allow_nonexistent_upstream_partitions=True
    )
    ins["history"] = dg.AssetIn(key="drift_metrics", partition_mapping=history, metadata={ALLOW_MISSING: True})

    @session_asset(
        schema=schemas.DriftMetrics,
        layer="monitoring",
        group=GROUP,
        partitions_def=partitions_def,
        freshness_policy=MARKET_FRESHNESS,
        ins=ins,
    )
    def drift_metrics(context: dg.AssetExecutionContext, **inputs):
        """Drift and health after the close: PSI/KL, calibration, IR, time under water, beta, Greeks, impact."""
        features = inputs["equity_features"]
        market = _market(inputs.get("adjusted_prices"))
        rows = []
        for t in window_sessions(context):
            live = features[features["asof"] == t]
            ref = _sessions_before(features, "asof", t, cfg.reference_lag, cfg.reference_sessions)
            if ref["asof"].nunique() < cfg.min_reference_sessions:
                ref = ref.iloc[:0]
            labels = inputs.get("equity_labels")
            row = session_health(
                t,
                features_ref=ref,
                features_live=live,
                cfg=cfg,
                scores=inputs.get("equity_scores"),
                labels=None if labels is None or labels.empty else labels[labels["known_date"] == t],
                pnl=inputs.get("pnl"),
                market=market[market.index <= t],
            )
            reasons = breaches(row, cfg)
            rows.append({**row, "breach": bool(reasons), "breach_reason": "; ".join(reasons)})
        df = pd.DataFrame(rows)
        df["last_change_point"] = pd.to_datetime(df["last_change_point"])
        df = stamp_rows(df, "monitoring", "drift_metrics", "date", fingerprint)
        past = inputs["history"]
        cols = [c for c in df.columns if c in past.columns] if not past.empty else list(df.columns)
        plot_frame = pd.concat([past[cols], df[cols]], ignore_index=True) if not past.empty else df
        last = df.iloc[-1]
        meta = {
            "session": f"{last['date']:%Y-%m-%d}",
            "psi_median": dg.MetadataValue.float(float(last["psi_median"])),
            "psi_max_feature": str(last["psi_max_feature"]),
            "brier": dg.MetadataValue.float(float(last["brier"])),
            "breach": bool(last["breach"]),
            "breach_reason": str(last["breach_reason"]),
            "breaches": dg.MetadataValue.json(
                {f"{r.date:%Y-%m-%d}": r.breach_reason.split("; ") for r in df.itertuples() if r.breach}
            ),
            "drift_history": png_markdown(_plot(plot_frame, cfg), "drift history"),
        }
        return df, meta

    return drift_metrics
