"""One session's blotter from the stored artifacts: targets, scores, universe, backtest curve, features.

:func:`session_blotter` joins the targets *for* ``asof`` with the session's scores, adds the
names' factor exposures (:func:`~quant_assets.reporting.exposures.factor_exposures`), takes the
backtest's scorecard through the close before ``asof`` with its PSR/DSR trend
(:func:`~quant_assets.reporting.scorecard.sharpe_trend`, drawn with the plots only) and renders
it with :func:`~quant_assets.reporting.blotter.emit_daily`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from quant_assets.reporting.blotter import blotter_positions, emit_daily
from quant_assets.reporting.exposures import factor_exposures
from quant_assets.reporting.scorecard import curve_dsr, scorecard, sharpe_trend

__all__ = ["empty_positions", "session_blotter"]


def session_blotter(
    session: pd.Timestamp,
    targets: pd.DataFrame,
    scores: pd.DataFrame,
    universe: pd.DataFrame,
    equity: pd.DataFrame,
    *,
    risk,
    initial_capital: float,
    periods_per_year: int = 252,
    features: pd.DataFrame | None = None,
    returns: pd.DataFrame | None = None,
    trials: pd.DataFrame | None = None,
    strategies: Sequence[Mapping] = (),
    kill_switch: str = "",
    out_dir: Path | None = None,
    plots: bool = False,
) -> tuple[str, dict, pd.DataFrame]:
    """Render (and write under ``out_dir``) the blotter of ``session``: (markdown, JSON payload, position rows).

    ``risk`` is the :class:`~quant_assets.portfolio.RiskConfig`; ``features`` the session's
    equity features; ``returns`` sessions x symbols total returns before the session (market
    beta); ``trials`` the trials log (DSR); ``strategies`` the §10.2 strategies of the session;
    ``kill_switch`` the kill switch's state line (:meth:`~quant_assets.monitoring.tripwires.KillState.line`).
    """
    day_t = targets[targets["date"] == session]
    day_s = scores[scores["asof"] == session]
    w = day_t.set_index("symbol")["target_w"].astype(float)
    extra = day_t.set_index("symbol")[["sector", "daily_vol"]]
    joined = day_s.set_index("symbol").drop(columns=["sector", "daily_vol"], errors="ignore").join(extra)
    if len(w):
        day_f = features[features["asof"] == session] if features is not None and len(features) else None
        joined = joined.join(factor_exposures(joined.index, day_f, returns))
        positions = blotter_positions(w, joined.reset_index(), risk.horizon_days)
    else:
        positions = empty_positions()
    curve = equity[equity["date"] < session]
    metrics: dict = {"book_size": initial_capital}
    if kill_switch:  # the kill switch's state line heads the page
        metrics["kill_switch"] = kill_switch
    if len(curve):
        metrics.update(scorecard(curve, initial_capital, periods_per_year))
        metrics["dsr"] = curve_dsr(curve, initial_capital, trials, periods_per_year)
        if plots:
            metrics["equity"] = curve.set_index("date")["nav"]
            trend = sharpe_trend(curve, initial_capital, trials, periods_per_year).set_index("date")
            metrics["psr_trend"], metrics["dsr_trend"] = trend["psr"], trend["dsr"]
        else:
            metrics.pop("costs")
    members = universe.loc[universe["date"] == session, "symbol"].astype(str)
    sectors = sorted({s for s in day_t["sector"].dropna()})
    risk_doc = {
        "target_vol_ann": risk.target_vol_ann,
        "gross_cap": risk.gross_cap,
        "sector_caps": {s: risk.cap_for_sector(s) for s in sectors},
    }
    md, payload = emit_daily(
        session, positions, list(strategies), metrics, risk=risk_doc, universe=sorted(members), out_dir=out_dir
    )
    return md, payload, positions


def empty_positions() -> pd.DataFrame:
    """No blotter rows, with the §10.1 columns and dtypes."""
    return pd.DataFrame(
        {
            "symbol": pd.Series([], dtype=object),
            "target_w": pd.Series([], dtype=float),
            "horizon_days": pd.Series([], dtype="int64"),
            **{c: pd.Series([], dtype=float) for c in ("expected_alpha_bps", "conf", "tp_bps", "sl_bps")},
        }
    )
