"""Daily implied-volatility surfaces: ``vol_surface_quotes`` (the QC table) and ``vol_surfaces``.

Both are partitioned by XNYS session and read only that session's curated ``option_quotes``
and ``rates``: a surface is as known at the close of its session. The pure pipeline is
:mod:`quant_assets.options.surfaces`; the planted ``oracle_option_surface`` is never read.
"""

import dagster as dg
import pandas as pd

from quant_assets import schemas
from quant_assets.config import Profile
from quant_assets.defs.lib.runtime import png_markdown, stamp_rows, window_sessions
from quant_assets.defs.lib.session_asset import session_asset
from quant_assets.defs.market.schedules import MARKET_FRESHNESS
from quant_assets.defs.options.forecast_assets import build_forecast_assets
from quant_assets.defs.options.strategy_assets import build_strategy_assets
from quant_assets.options.surfaces import POINT_COLUMNS, SLICE_COLUMNS, fit_slices, surface_points
from quant_assets.options.surfaces.smile_plot import smile_png

SMILE_PLOTS = 3
"""Underliers (the first by name) whose smiles are attached to ``vol_surfaces`` as metadata."""


def _empty(columns) -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series([], dtype="datetime64[ns]" if c in ("date", "expiry") else object) for c in columns}
    )


def build_options_assets(profile: Profile, partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """``vol_surface_quotes`` and ``vol_surfaces`` for ``profile``."""
    fingerprint = profile.fingerprint()

    @session_asset(
        schema=schemas.VolSurfaceQuotes,
        layer="features",
        group="options",
        partitions_def=partitions_def,
        freshness_policy=MARKET_FRESHNESS,
        ins={"option_quotes": dg.AssetIn(), "rates": dg.AssetIn()},
    )
    def vol_surface_quotes(context: dg.AssetExecutionContext, option_quotes: pd.DataFrame, rates: pd.DataFrame):
        """Every curated option quote with its QC reason (used, or why dropped), forward, log-moneyness and IV."""
        parts = [
            surface_points(option_quotes, rates, d)
            for d in window_sessions(context)
            if (pd.DatetimeIndex(option_quotes["date"]) == d).any()
        ]
        out = pd.concat(parts, ignore_index=True) if parts else _empty(POINT_COLUMNS)
        if out.empty:
            out = out.astype(
                {c: float for c in ("strike", "bid", "ask", "mid", "t_years", "rate", "forward", "k", "iv", "weight")}
            )
        counts = out["reason"].value_counts().to_dict()
        out = stamp_rows(out, "options", "vol_surface_quotes", "date", fingerprint)
        return out, {
            "used": int(counts.get("used", 0)),
            "dropped": int(len(out) - counts.get("used", 0)),
            **{f"dropped_{k}": int(v) for k, v in sorted(counts.items()) if k != "used"},
        }

    @session_asset(
        schema=schemas.VolSurfaces,
        layer="features",
        group="options",
        partitions_def=partitions_def,
        freshness_policy=MARKET_FRESHNESS,
        ins={"vol_surface_quotes": dg.AssetIn()},
    )
    def vol_surfaces(context: dg.AssetExecutionContext, vol_surface_quotes: pd.DataFrame):
        """Raw SVI slice per underlier x expiry with butterfly/calendar/vertical flags and fit QC; smile plots."""
        points = vol_surface_quotes.drop(columns=[c for c in vol_surface_quotes.columns if c not in POINT_COLUMNS])
        parts = [fit_slices(points[pd.DatetimeIndex(points["date"]) == d]) for d in window_sessions(context)]
        parts = [p for p in parts if len(p)]
        out = pd.concat(parts, ignore_index=True) if parts else _slices_empty()
        meta: dict = {"slices": int(len(out))}
        if len(out):
            meta.update(
                ssvi_fallbacks=int((out["source"] == "ssvi").sum()),
                arbitrage_flags=int(
                    out[["butterfly_arbitrage", "calendar_arbitrage", "vertical_arbitrage"]].to_numpy().sum()
                ),
                median_rmse_vol_pts=float(out["rmse_vol_pts"].median()),
                max_error_vol_pts=float(out["max_error_vol_pts"].max()),
            )
            last = out["date"].max()
            day = out[out["date"] == last]
            for name in sorted(day["underlier"].unique())[:SMILE_PLOTS]:
                png = smile_png(points[pd.DatetimeIndex(points["date"]) == last], day, name)
                meta[f"smile_{name}"] = png_markdown(png, f"{name} smile")
        out = stamp_rows(out, "options", "vol_surfaces", "date", fingerprint)
        return out, meta

    return [
        vol_surface_quotes,
        vol_surfaces,
        *build_forecast_assets(profile, partitions_def),
        *build_strategy_assets(profile, partitions_def),
    ]


def _slices_empty() -> pd.DataFrame:
    out = _empty(SLICE_COLUMNS)
    types = {
        c: float
        for c in (
            "t_years",
            "forward",
            "rate",
            "a",
            "b",
            "rho",
            "m",
            "sigma",
            "atm_vol",
            "rmse_vol_pts",
            "max_error_vol_pts",
            "k_min",
            "k_max",
        )
    }
    types.update(
        {c: bool for c in ("butterfly_arbitrage", "calendar_arbitrage", "vertical_arbitrage", "calendar_conflict")}
    )
    types.update(quotes_used="int64", quotes_dropped="int64")
    return out.astype(types)
