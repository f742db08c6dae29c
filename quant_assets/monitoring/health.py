"""One session's drift and health row, and the thresholds that call for retraining a challenger.

:func:`session_health` gathers, for session ``t``, the metrics of blueprint §11: PSI and KL of
the features of ``t`` against a reference (training) window, calibration of the scores whose
targets became known at ``t``, the information ratio of the current month, time under water,
the book's market beta, net Greeks of the options book, modeled vs realized impact, and the
change points of the live PnL. Missing inputs give NaN (an empty book has no IR), never an
error. :func:`breaches` says which configured thresholds a row crosses, in words.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from quant_assets.config.fields import coerce_dataclass
from quant_assets.monitoring.calibration import brier, log_loss
from quant_assets.monitoring.changepoint import pnl_change_points
from quant_assets.monitoring.drift import N_BINS, feature_drift
from quant_assets.monitoring.impact import modeled_vs_realized
from quant_assets.monitoring.performance import monthly_ir, time_under_water
from quant_assets.monitoring.risk import GREEKS, factor_betas, net_greeks

MIN_PER_BIN = 5
"""Live observations per bin at least: a small cross-section gets fewer bins (PSI's noise floor
is about ``(bins - 1) (1/n_train + 1/n_live)``)."""

__all__ = ["DriftConfig", "breaches", "session_health"]


@dataclass(frozen=True)
class DriftConfig:
    """The profile's ``operations.drift`` block.

    ``reference_sessions`` sessions ending ``reference_lag`` sessions before ``t`` stand for the
    training window (what a model refit ``reference_lag`` sessions ago was trained on). A row
    breaches when the median PSI over ``features`` (all non-flag features when empty; the median, so
    one degenerate discrete feature does not decide) exceeds ``psi_threshold``, the Brier score
    exceeds ``brier_threshold``, or the live PnL has a change point within the last
    ``change_point_sessions`` sessions (0: off).
    """

    psi_threshold: float = 0.25
    brier_threshold: float = 0.30
    change_point_sessions: int = 0
    reference_sessions: int = 40
    reference_lag: int = 21
    min_reference_sessions: int = 10
    """Fewer stored reference sessions than this: no drift is computed (NaN), none is reported."""
    n_bins: int = N_BINS
    pnl_sessions: int = 126
    features: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, raw: dict | None) -> DriftConfig:
        raw = dict(raw or {})
        if "features" in raw:
            raw["features"] = tuple(raw["features"] or ())
        return coerce_dataclass(cls, raw, what="operations.drift")


def _feature_names(frame: pd.DataFrame, wanted: Sequence[str]) -> list[str]:
    names = [c for c in frame.columns if c.startswith("feature_") and not c.endswith("_missing")]
    return [c for c in wanted if c in names] if wanted else names


def _calibration(scores: pd.DataFrame, labels: pd.DataFrame) -> dict[str, float]:
    """Brier and log-loss of the scores' percentile ``u`` as P(excess return > 0) on the known labels."""
    out = {"brier": math.nan, "log_loss": math.nan, "n_calibration": 0}
    if scores.empty or labels.empty:
        return out
    horizon = int(scores["horizon_sessions"].iloc[0])
    target = f"xret_{horizon}"
    if target not in labels:
        return out
    u = 0.5 * (1.0 + np.sign(scores["expected_excess_return"]) * scores["confidence"])
    s = pd.DataFrame({"entry_date": scores["asof"], "symbol": scores["symbol"], "p": u})
    joined = s.merge(labels[["entry_date", "symbol", target]], on=["entry_date", "symbol"])
    if joined.empty:
        return out
    y = (joined[target] > 0).astype(float)
    return {"brier": brier(joined["p"], y), "log_loss": log_loss(joined["p"], y), "n_calibration": int(len(joined))}


def _book(pnl: pd.DataFrame, market: pd.Series, t: pd.Timestamp, cfg: DriftConfig) -> dict:
    out = {
        "ir_month": math.nan,
        "tuw_current": 0,
        "tuw_longest": 0,
        "beta_market": math.nan,
        "impact_ratio": math.nan,
        "impact_residual_bps": math.nan,
        "change_points": 0,
        "last_change_point": pd.NaT,
    }
    book = pnl[pnl["date"] <= t].sort_values("date").tail(cfg.pnl_sessions) if not pnl.empty else pnl
    if book.empty:
        return out
    dates = pd.DatetimeIndex(book["date"])
    ret = pd.Series((book["net_pnl"] / book["nav_prev"]).to_numpy(), index=dates)
    ir = monthly_ir(ret)
    month = t.to_period("M")
    out["ir_month"] = float(ir.get(month, math.nan))
    tuw = time_under_water(pd.Series(book["nav"].to_numpy(), index=dates))
    out["tuw_current"], out["tuw_longest"] = tuw["current_sessions"], tuw["longest_sessions"]
    out["beta_market"] = float(factor_betas(ret, market.rename("market").to_frame())["market"])
    today = book[book["date"] == t]
    imp = modeled_vs_realized(today["impact"], today["impact_realized"], notional=today["traded_notional"])
    out["impact_ratio"], out["impact_residual_bps"] = imp["impact_ratio"], imp["impact_residual_bps"]
    cps = pnl_change_points(book["net_pnl"].to_numpy())
    out["change_points"] = len(cps)
    out["last_change_point"] = dates[cps[-1]] if cps else pd.NaT
    return out


def session_health(
    t: pd.Timestamp,
    *,
    features_ref: pd.DataFrame,
    features_live: pd.DataFrame,
    cfg: DriftConfig,
    scores: pd.DataFrame | None = None,
    labels: pd.DataFrame | None = None,
    pnl: pd.DataFrame | None = None,
    market: pd.Series | None = None,
    options_legs: pd.DataFrame | None = None,
) -> dict:
    """The drift and health metrics of session ``t`` (one row; see the module docstring)."""
    row: dict = {"date": pd.Timestamp(t)}
    names = _feature_names(features_live, cfg.features)
    drift = pd.DataFrame(columns=["feature", "psi", "kl"])
    if names and not features_ref.empty and not features_live.empty:
        bins = int(min(cfg.n_bins, max(2, len(features_live) // MIN_PER_BIN)))
        drift = feature_drift(features_ref, features_live, names, n_bins=bins).dropna(subset=["psi"])
    row["n_features"] = int(len(drift))
    row["psi_mean"] = float(drift["psi"].mean()) if len(drift) else math.nan
    row["psi_median"] = float(drift["psi"].median()) if len(drift) else math.nan
    row["psi_max"] = float(drift["psi"].max()) if len(drift) else math.nan
    row["psi_max_feature"] = str(drift.loc[drift["psi"].idxmax(), "feature"]) if len(drift) else ""
    row["kl_mean"] = float(drift["kl"].mean()) if len(drift) else math.nan
    none = pd.DataFrame()
    row.update(_calibration(none if scores is None else scores, none if labels is None else labels))
    empty_pnl = pd.DataFrame(columns=["date", "net_pnl", "nav_prev", "nav"])
    market = pd.Series(dtype=float) if market is None else market
    row.update(_book(empty_pnl if pnl is None else pnl, market, t, cfg))
    greeks = net_greeks(options_legs) if options_legs is not None else {}
    for g in GREEKS:
        row[f"net_{g}"] = float(greeks.get(g, math.nan))
    return row


def breaches(row: dict, cfg: DriftConfig) -> list[str]:
    """The thresholds ``row`` crosses, each as a sentence naming the number and the bar."""
    out = []
    if row.get("psi_median", math.nan) > cfg.psi_threshold:
        out.append(
            f"feature drift: median PSI {row['psi_median']:.3f} > {cfg.psi_threshold:g} "
            f"(worst {row.get('psi_max_feature')} at {row.get('psi_max', math.nan):.3f})"
        )
    if row.get("brier", math.nan) > cfg.brier_threshold:
        out.append(f"calibration: Brier {row['brier']:.3f} > {cfg.brier_threshold:g}")
    last = row.get("last_change_point")
    if cfg.change_point_sessions and last is not None and not pd.isna(last):
        age = int(np.busday_count(pd.Timestamp(last).date(), pd.Timestamp(row["date"]).date()))
        if age < cfg.change_point_sessions:
            out.append(f"change point in the live PnL on {pd.Timestamp(last).date()}")
    return out
