"""Fitted surfaces and spots over sessions: each leg's implied vol, time and carry at every mark.

A :class:`SurfacePanel` wraps ``vol_surfaces`` rows (raw SVI slice per session x underlier x
expiry, :class:`quant_assets.schemas.VolSurfaces`) and the underliers' spots. A leg struck at
``K`` on expiry ``E`` is marked on session ``d`` at the slice of ``(d, underlier, E)``:
``sigma = sqrt(w(ln(K / F_d)) / T_d)`` (Gatheral 2004, raw SVI), ``r`` the slice's zero rate and
the dividend yield implied by the parity forward, ``q = r - ln(F / S) / T``. A missing slice
(a fit dropped on that session) carries the leg's last vol forward.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from quant_assets.options.svi import svi_total_variance

__all__ = ["SLICE_FIELDS", "SurfacePanel"]

SLICE_FIELDS = ("t_years", "forward", "rate", "a", "b", "rho", "m", "sigma")


class SurfacePanel:
    """Surface slices and spots indexed for lookups by session, underlier and expiry.

    Parameters
    ----------
    surfaces : DataFrame
        ``date, underlier, expiry`` and :data:`SLICE_FIELDS` (``vol_surfaces`` rows).
    spots : DataFrame, optional
        ``date, underlier, spot``. Without it the spot is the nearest expiry's forward
        discounted at its rate (dividends over that expiry ignored).
    """

    def __init__(self, surfaces: pd.DataFrame, spots: pd.DataFrame | None = None) -> None:
        cols = ["date", "underlier", "expiry", *SLICE_FIELDS]
        s = surfaces.loc[:, cols].copy()
        s["date"] = pd.DatetimeIndex(s["date"]).as_unit("ns")
        s["expiry"] = pd.DatetimeIndex(s["expiry"]).as_unit("ns")
        s["underlier"] = s["underlier"].astype(str)
        self._s = s.sort_values(["underlier", "expiry", "date"], kind="stable").reset_index(drop=True)
        self.sessions = pd.DatetimeIndex(sorted(self._s["date"].unique()))
        self.underliers = sorted(self._s["underlier"].unique())
        self._by_leg = self._s.groupby(["underlier", "expiry"], sort=False).indices
        day = self._s.sort_values(["date", "underlier", "expiry"], kind="stable")
        self._day_cols = {c: day[c].to_numpy() for c in ("expiry", *SLICE_FIELDS)}
        keys = list(zip(day["date"], day["underlier"], strict=True))
        starts = np.flatnonzero(np.r_[True, [a != b for a, b in zip(keys[1:], keys[:-1], strict=True)]])
        stops = np.r_[starts[1:], len(keys)]
        self._by_day = {keys[a]: (a, b) for a, b in zip(starts, stops, strict=True)}
        self._params = {c: self._s[c].to_numpy(float) for c in SLICE_FIELDS}
        self._date_i = self.sessions.get_indexer(self._s["date"])
        if spots is None:
            near = self._s.sort_values(["date", "underlier", "t_years"]).drop_duplicates(["date", "underlier"])
            spots = near.assign(spot=near["forward"] * np.exp(-near["rate"] * near["t_years"]))
        wide = spots.pivot_table(index="date", columns="underlier", values="spot", aggfunc="last")
        wide.index = pd.DatetimeIndex(wide.index).as_unit("ns")
        self.spot = wide.reindex(index=self.sessions, columns=self.underliers)

    def day(self, date, underlier: str) -> dict[str, np.ndarray]:
        """The slices of ``(date, underlier)`` as arrays by expiry (``expiry`` and :data:`SLICE_FIELDS`;
        empty arrays if none)."""
        a, b = self._by_day.get((pd.Timestamp(date), underlier), (0, 0))
        return {c: v[a:b] for c, v in self._day_cols.items()}

    def spot_at(self, date, underlier: str) -> float:
        """Spot of ``underlier`` on ``date`` (NaN if unknown)."""
        try:
            return float(self.spot.at[pd.Timestamp(date), underlier])
        except KeyError:
            return float("nan")

    def marks(self, underlier: str, expiry, strike: float, sessions: pd.DatetimeIndex) -> dict[str, np.ndarray]:
        """``t_years``, ``vol``, ``rate``, ``forward`` of one leg on each of ``sessions``.

        Sessions without the slice carry the last known vol, rate and forward (NaN before the first).
        """
        expiry = pd.Timestamp(expiry)
        n = len(sessions)
        out = {k: np.full(n, np.nan) for k in ("vol", "rate", "forward")}
        idx = self._by_leg.get((underlier, expiry))
        if idx is not None:
            pos = self.sessions.get_indexer(sessions)
            row_at = np.full(len(self.sessions), -1)
            row_at[self._date_i[idx]] = idx
            rows = np.where(pos >= 0, row_at[np.clip(pos, 0, None)], -1)
            ok = rows >= 0
            r = rows[ok]
            p = {c: v[r] for c, v in self._params.items()}
            k = np.log(strike / p["forward"])
            w = svi_total_variance(k, p["a"], p["b"], p["rho"], p["m"], p["sigma"])
            out["vol"][ok] = np.sqrt(np.maximum(np.asarray(w, float), 1e-12) / p["t_years"])
            out["rate"][ok], out["forward"][ok] = p["rate"], p["forward"]
        seen = np.maximum.accumulate(np.where(np.isfinite(out["vol"]), np.arange(n), -1))
        out = {k: np.where(seen >= 0, v[np.clip(seen, 0, None)], np.nan) for k, v in out.items()}
        out["t_years"] = np.asarray((expiry - sessions).days, float) / 365.0
        return out
