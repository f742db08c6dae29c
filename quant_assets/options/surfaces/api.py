"""``options.fit_svi_surface(date, underlier) -> dict`` (blueprint §15) and its batched form."""

from __future__ import annotations

import numpy as np
import pandas as pd

from quant_assets.options.surfaces.config import SurfaceConfig
from quant_assets.options.surfaces.fit import SVI_KEYS, fit_slices
from quant_assets.options.surfaces.points import surface_points
from quant_assets.options.svi import svi_total_variance

__all__ = ["fit_svi_surface", "fit_svi_surfaces", "surface_dict"]


def _default_store():
    from quant_assets.market.profile_store import profile_store

    return profile_store()


def fit_svi_surfaces(
    date,
    *,
    quotes: pd.DataFrame | None = None,
    rates: pd.DataFrame | None = None,
    store=None,
    underliers=None,
    config: SurfaceConfig | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Points (QC table) and slices of every underlier's surface on session ``date``.

    ``quotes`` (``schemas.OptionQuotes``) and ``rates`` (``schemas.Rates``) are the point-in-time
    inputs; either one missing is read for ``date`` from ``store`` (``curated/option_quotes``,
    ``reference/rates``), by default the store of the active profile. ``underliers`` restricts
    the names. Returns ``(points, slices)`` of :func:`surface_points` and :func:`fit_slices`.
    """
    date = pd.Timestamp(date)
    if quotes is None or rates is None:
        store = store or _default_store()
        if quotes is None:
            quotes = store.read_window("curated", "option_quotes", date, date, expected=[date])
        if rates is None:
            rates = store.read_window("reference", "rates", date, date, expected=[date])
    if underliers is not None:
        names = [underliers] if isinstance(underliers, str) else list(underliers)
        quotes = quotes[quotes["underlier"].isin(names)]
    points = surface_points(quotes, rates, date, config)
    return points, fit_slices(points, config)


def surface_dict(points: pd.DataFrame, slices: pd.DataFrame, date, underlier: str) -> dict:
    """The JSON-ready dict of one underlier's surface (see :func:`fit_svi_surface`)."""
    p = points[points["underlier"] == underlier]
    s = slices[slices["underlier"] == underlier]
    used = p[p["reason"] == "used"]
    slice_map = {}
    for row in s.itertuples(index=False):
        slice_map[pd.Timestamp(row.expiry).strftime("%Y-%m-%d")] = {
            **{key: float(getattr(row, key)) for key in SVI_KEYS},
            "t_years": float(row.t_years),
            "forward": float(row.forward),
            "rate": float(row.rate),
            "atm_vol": float(row.atm_vol),
            "source": row.source,
            "no_arb_flags": {
                "butterfly": bool(row.butterfly_arbitrage),
                "calendar": bool(row.calendar_arbitrage),
                "vertical": bool(row.vertical_arbitrage),
            },
            "rmse_vol_pts": float(row.rmse_vol_pts),
            "max_error_vol_pts": float(row.max_error_vol_pts),
            "quotes_used": int(row.quotes_used),
            "quotes_dropped": int(row.quotes_dropped),
        }
    par = s.set_index("expiry").loc[used["expiry"], list(SVI_KEYS)].to_numpy()
    w = np.asarray(svi_total_variance(used["k"].to_numpy(), *par.T), float) if len(par) else np.array([])
    err = 100.0 * np.abs(np.sqrt(np.maximum(w, 0.0) / used["t_years"].to_numpy()) - used["iv"].to_numpy())
    reasons = p.loc[p["reason"] != "used", "reason"].value_counts().sort_index()
    return {
        "date": pd.Timestamp(date).strftime("%Y-%m-%d"),
        "underlier": underlier,
        "slices": slice_map,
        "no_arb_flags": {name: bool(s[f"{name}_arbitrage"].any()) for name in ("butterfly", "calendar", "vertical")},
        "qc": {
            "rmse_vol_pts": float(np.sqrt(np.mean(err**2))) if err.size else float("nan"),
            "max_error_vol_pts": float(err.max()) if err.size else float("nan"),
            "quotes_used": int(len(used)),
            "quotes_dropped": int(len(p) - len(used)),
            "dropped_by_reason": {str(k): int(v) for k, v in reasons.items()},
            "ssvi_fallback": bool((s["source"] == "ssvi").any()),
            "calendar_conflict": bool(s["calendar_conflict"].any()),
        },
    }


def fit_svi_surface(
    date,
    underlier: str,
    *,
    quotes: pd.DataFrame | None = None,
    rates: pd.DataFrame | None = None,
    store=None,
    config: SurfaceConfig | None = None,
) -> dict:
    """Arbitrage-checked SVI surface of ``underlier`` on session ``date`` (blueprint §15).

    Quotes → QC (every dropped quote keeps its reason) → parity forwards and mids → implied
    vols (rates from the session's zero curve; dividend yield implied by the forward) →
    raw SVI slice per expiry → calendar check across slices, SSVI fallback where they conflict
    (see :mod:`quant_assets.options.surfaces`).

    Parameters
    ----------
    date : date-like
        The session.
    underlier : str
    quotes, rates : DataFrame, optional
        Point-in-time inputs (``schemas.OptionQuotes``, ``schemas.Rates``); read for ``date``
        from ``store`` when omitted.
    store : ParquetStore, optional
        Default: the store of the active profile (``$QUANT_ASSETS_PROFILE``).
    config : SurfaceConfig, optional

    Returns
    -------
    dict
        ``date``, ``underlier``; ``slices``: per expiry (``YYYY-MM-DD``) ``{a, b, rho, m,
        sigma}``, ``t_years``, ``forward``, ``rate``, ``atm_vol``, ``source`` (``svi`` or
        ``ssvi``), ``no_arb_flags`` and fit errors; ``no_arb_flags``: ``butterfly``,
        ``calendar``, ``vertical`` over the surface; ``qc``: ``rmse_vol_pts``,
        ``max_error_vol_pts``, ``quotes_used``, ``quotes_dropped``, ``dropped_by_reason``,
        ``ssvi_fallback``, ``calendar_conflict``.
    """
    points, slices = fit_svi_surfaces(
        date, quotes=quotes, rates=rates, store=store, underliers=underlier, config=config
    )
    return surface_dict(points, slices, date, underlier)
