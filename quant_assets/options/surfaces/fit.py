r"""Per-expiry raw SVI slices, arbitrage checks across them, and the SSVI fallback.

1. Every (underlier, expiry) slice of used points is fitted in one batched call of
   :func:`~quant_assets.options.fit_svi_slices` (total variance :math:`\sigma^2T` against
   :math:`k`, spread weights, butterfly-arbitrage-free re-fit where needed).
2. Calendar check of each pair of consecutive expiries with
   :func:`~quant_assets.options.svi_calendar_arbitrage` on a grid spanning both slices' quoted
   log-moneyness (independent fits extrapolated far beyond their data say nothing about the
   market there).
3. Where slices conflict, the underlier's whole surface is replaced by an SSVI fit
   (:func:`~quant_assets.options.fit_ssvi_surface`, free of static arbitrage by construction,
   Gatheral & Jacquier 2014, Theorems 4.1-4.2), each SSVI slice written as raw SVI
   (Gatheral & Jacquier 2014, §4): :math:`a = \tfrac{\theta}{2}(1-\rho^2)`,
   :math:`b = \tfrac{\theta\varphi}{2}`, :math:`m = -\rho/\varphi`,
   :math:`\sigma = \sqrt{1-\rho^2}/\varphi`, same :math:`\rho`.
4. Vertical check per slice: call prices from the slice on its quoted strikes decrease in
   strike with slopes in :math:`[-e^{-rT}, 0]`.

The flags describe the returned surface (after any fallback); ``calendar_conflict`` records
that the independent SVI slices conflicted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from quant_assets.options.arbitrage import svi_calendar_arbitrage
from quant_assets.options.black_scholes import bs_price
from quant_assets.options.ssvi_fit import fit_ssvi_surface
from quant_assets.options.surfaces.config import SurfaceConfig
from quant_assets.options.svi import svi_total_variance
from quant_assets.options.svi_fit import fit_svi_slices

__all__ = ["SLICE_COLUMNS", "fit_slices", "ssvi_as_raw_svi"]

SVI_KEYS = ("a", "b", "rho", "m", "sigma")
SLICE_COLUMNS = (
    "date",
    "underlier",
    "expiry",
    "t_years",
    "forward",
    "rate",
    *SVI_KEYS,
    "atm_vol",
    "source",
    "butterfly_arbitrage",
    "calendar_arbitrage",
    "vertical_arbitrage",
    "calendar_conflict",
    "rmse_vol_pts",
    "max_error_vol_pts",
    "quotes_used",
    "quotes_dropped",
    "k_min",
    "k_max",
)


def ssvi_as_raw_svi(theta: np.ndarray, rho: float, phi: np.ndarray) -> np.ndarray:
    """Raw SVI ``(a, b, rho, m, sigma)`` per row of the SSVI slices ``(theta, rho, phi)``.

    Examples
    --------
    >>> from quant_assets.options import ssvi_total_variance
    >>> p = ssvi_as_raw_svi(np.array([0.04]), -0.5, np.array([2.0]))[0]
    >>> k = np.linspace(-1, 1, 5)
    >>> bool(np.allclose(svi_total_variance(k, *p), ssvi_total_variance(k, 0.04, -0.5, 2.0)))
    True
    """
    theta, phi = np.asarray(theta, float), np.asarray(phi, float)
    root = np.sqrt(1.0 - rho * rho)
    return np.stack(
        [0.5 * theta * (1.0 - rho * rho), 0.5 * theta * phi, np.full_like(theta, rho), -rho / phi, root / phi], axis=1
    )


def _vertical_arbitrage(p: np.ndarray, k: np.ndarray, t: float, f: float, r: float, tol: float) -> bool:
    """Call prices of slice ``p`` over the quoted strikes leave ``-e^{-rT} <= dC/dK <= 0``."""
    grid = np.linspace(k.min(), k.max(), 101)
    w = np.asarray(svi_total_variance(grid, *p), float)
    if not np.all(w > 0):
        return True
    strikes = f * np.exp(grid)
    calls = np.asarray(bs_price(f, strikes, t, r, r, np.sqrt(w / t), True), float)
    slope = np.diff(calls) / np.diff(strikes)
    return bool(np.any(slope > tol) or np.any(slope < -np.exp(-r * t) - tol))


def _errors(p: np.ndarray, k: np.ndarray, iv: np.ndarray, t: float) -> tuple[float, float]:
    """RMSE and max absolute error of the slice's vols against the quotes', in vol points."""
    fit = np.sqrt(np.maximum(np.asarray(svi_total_variance(k, *p), float), 0.0) / t)
    err = 100.0 * np.abs(fit - iv)
    return float(np.sqrt(np.mean(err * err))), float(err.max())


def _calendar_pairs(
    params: np.ndarray, t: np.ndarray, kmin: np.ndarray, kmax: np.ndarray, cfg: SurfaceConfig
) -> np.ndarray:
    """Per slice (sorted by expiry): True if it conflicts with its neighbour on either side."""
    flags = np.zeros(len(t), dtype=bool)
    for i in range(len(t) - 1):
        grid = np.linspace(min(kmin[i], kmin[i + 1]), max(kmax[i], kmax[i + 1]), cfg.calendar_points)
        chk = svi_calendar_arbitrage(
            [params[i], params[i + 1]], t[i : i + 2], k_grid=grid, tolerance=cfg.calendar_tolerance
        )
        if chk.arbitrage:
            flags[i] = flags[i + 1] = True
    return flags


def fit_slices(points: pd.DataFrame, config: SurfaceConfig | None = None) -> pd.DataFrame:
    """Fit the surfaces of every underlier in ``points`` (from :func:`surface_points`).

    Returns
    -------
    DataFrame
        :data:`SLICE_COLUMNS`, one row per (underlier, expiry) with used quotes, sorted:
        raw SVI parameters, ``atm_vol`` (:math:`\\sqrt{w(0)/T}`), ``source`` (``"svi"`` or
        ``"ssvi"`` after the fallback), arbitrage flags of the returned slice, fit errors in
        vol points over the used quotes, quote counts and the quoted log-moneyness range.
    """
    cfg = config or SurfaceConfig()
    used = points[points["reason"] == "used"].sort_values(["underlier", "expiry", "k"], kind="stable")
    dropped = points[points["reason"] != "used"].groupby(["underlier", "expiry"]).size()
    if used.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in SLICE_COLUMNS})
    groups = used.groupby(["underlier", "expiry"], sort=True)
    keys = list(groups.groups)
    parts = [g for _, g in groups]
    ks = [g["k"].to_numpy() for g in parts]
    ivs = [g["iv"].to_numpy() for g in parts]
    ts = np.array([g["t_years"].iat[0] for g in parts])
    fits = fit_svi_slices(ks, [v * v * t for v, t in zip(ivs, ts)], [g["weight"].to_numpy() for g in parts])
    params = np.array([[getattr(f, key) for key in SVI_KEYS] for f in fits])
    butterfly = np.array([f.butterfly_arbitrage for f in fits])
    source = np.array(["svi"] * len(keys), dtype=object)
    kmin, kmax = np.array([k.min() for k in ks]), np.array([k.max() for k in ks])
    und = np.array([key[0] for key in keys], dtype=object)
    conflict = np.zeros(len(keys), dtype=bool)
    calendar = np.zeros(len(keys), dtype=bool)
    for name in pd.unique(und):
        rows = np.flatnonzero(und == name)
        if rows.size < 2:
            continue
        pair = _calendar_pairs(params[rows], ts[rows], kmin[rows], kmax[rows], cfg)
        if not pair.any():
            continue
        conflict[rows] = pair
        kk, tt = np.concatenate([ks[j] for j in rows]), np.repeat(ts[rows], [ks[j].size for j in rows])
        vv = np.concatenate([ivs[j] ** 2 * ts[j] for j in rows])
        ww = np.concatenate([parts[j]["weight"].to_numpy() for j in rows])
        ssvi = fit_ssvi_surface(kk, tt, vv, ww / ww.sum())
        th = ssvi.theta_at(ts[rows])
        params[rows] = ssvi_as_raw_svi(th, ssvi.rho, ssvi.phi(th))
        butterfly[rows] = ~np.asarray(ssvi.butterfly_free, bool)
        calendar[rows] = not ssvi.calendar_free
        source[rows] = "ssvi"
    rows_out = []
    for j, (name, expiry) in enumerate(keys):
        g = parts[j]
        f, r = float(g["forward"].iat[0]), float(g["rate"].iat[0])
        rmse, mx = _errors(params[j], ks[j], ivs[j], ts[j])
        atm = float(np.sqrt(max(float(svi_total_variance(0.0, *params[j])), 0.0) / ts[j]))
        rows_out.append(
            (
                g["date"].iat[0],
                name,
                expiry,
                ts[j],
                f,
                r,
                *params[j],
                atm,
                source[j],
                bool(butterfly[j]),
                bool(calendar[j]),
                _vertical_arbitrage(params[j], ks[j], ts[j], f, r, cfg.vertical_tolerance),
                bool(conflict[j]),
                rmse,
                mx,
                len(g),
                int(dropped.get((name, expiry), 0)),
                kmin[j],
                kmax[j],
            )
        )
    out = pd.DataFrame(rows_out, columns=list(SLICE_COLUMNS))
    out["quotes_used"] = out["quotes_used"].astype("int64")
    out["quotes_dropped"] = out["quotes_dropped"].astype("int64")
    return out
