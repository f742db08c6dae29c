r"""Vol features per underlier and session, from the fitted surfaces (data known at the close of ``t-1``).

The fitted raw SVI slices of a session (``vol_surfaces`` rows, :func:`~quant_assets.options.surfaces.fit_slices`)
define the surface between expiries by linear interpolation of total variance in maturity at
fixed log-moneyness :math:`k = \ln(K/F_T)`,

.. math:: w(k, T) = w_i(k) + \frac{T - T_i}{T_{i+1} - T_i}\,(w_{i+1}(k) - w_i(k)),\quad T_i \le T \le T_{i+1},

which keeps the slices' absence of calendar arbitrage (Gatheral & Jacquier 2014, §3; total
variance non-decreasing in :math:`T` at fixed :math:`k` is preserved by a convex combination).
Below the first expiry :math:`w(k,T) = w_1(k)\,T/T_1` (flat volatility), beyond the last
expiry nothing is extrapolated (NaN). Forwards are interpolated log-linearly in :math:`T`, rates
linearly (both flat outside the expiries).

Features of session ``t`` (:data:`VOL_FEATURES`, all from sessions ``<= t-1``; the *data date*
``s`` below is the XNYS session before ``t``):

==========================  =================================================================
``atm_iv``                  ATM (:math:`k=0`) implied vol at ``tenor_days`` (fraction)
``atm_skew``                :math:`\partial\sigma/\partial k` at :math:`k = 0`, ``tenor_days``
``atm_curvature``           :math:`\partial^2\sigma/\partial k^2` at :math:`k = 0`
``term_slope_1``            ATM vol at ``term_days[0]`` minus at ``tenor_days``
``term_slope_2``            ATM vol at ``term_days[1]`` minus at ``term_days[0]``
``rr25``                    25-delta call vol minus 25-delta put vol (``tenor_days``)
``bf25``                    mean of the 25-delta vols minus the ATM vol
``iv_rank``                 :math:`(x - \min)/(\max - \min)` of ``atm_iv`` over ``rank_window`` sessions
``iv_percentile``           share of the window's ``atm_iv`` values ``<= x``
``iv_change_5``             ``atm_iv`` change over the last 5 sessions
``rv``                      realized vol of the last ``rv_window`` close-to-close log returns, annualized
``vrp``                     ``atm_iv**2 - rv**2`` (implied minus realized variance, annual units)
``days_to_earnings``        sessions from ``t`` to the next earnings date announced by ``t-1``
``oi_change``               log change of the underlier's total open interest over ``flow_window`` sessions
``volume_change``           log of the session's option volume over its mean of the ``volume_window`` before
==========================  =================================================================

Deltas are the core's :func:`~quant_assets.options.bs_greeks` with the forward as the underlying
(``spot = F``, ``q = r``), i.e. discounted forward deltas; the 25-delta strikes are read off a
log-moneyness grid. NaN rules: a quantity needing a surface, price or quote that is missing on
its session is NaN; ``iv_rank`` and ``iv_percentile`` are NaN until the window holds
``rank_min_obs`` non-missing ``atm_iv`` values (default: the whole window, a year), never
computed from a shorter history; ``days_to_earnings`` is NaN when no upcoming date is announced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from quant_assets.calendars import sessions_in_range
from quant_assets.options.black_scholes import bs_greeks
from quant_assets.options.surfaces.config import DAYS_PER_YEAR
from quant_assets.options.svi import svi_derivatives

__all__ = [
    "SURFACE_SUMMARY_COLUMNS",
    "VOL_FEATURES",
    "VolFeatureConfig",
    "build_vol_features",
    "option_flows",
    "surface_summary",
    "surface_vols",
]

SVI_KEYS = ("a", "b", "rho", "m", "sigma")
VOL_FEATURES = (
    "atm_iv",
    "atm_skew",
    "atm_curvature",
    "term_slope_1",
    "term_slope_2",
    "rr25",
    "bf25",
    "iv_rank",
    "iv_percentile",
    "iv_change_5",
    "rv",
    "vrp",
    "days_to_earnings",
    "oi_change",
    "volume_change",
)
SURFACE_SUMMARY_COLUMNS = (
    "date",
    "underlier",
    "atm_iv",
    "atm_skew",
    "atm_curvature",
    "iv_term_1",
    "iv_term_2",
    "rr25",
    "bf25",
)
_K_GRID = np.linspace(-1.5, 1.5, 301)


@dataclass(frozen=True)
class VolFeatureConfig:
    """Windows and tenors of the vol features (the profile's ``vol_forecast.features`` block)."""

    tenor_days: int = 30
    term_days: tuple[int, int] = (60, 120)
    rank_window: int = 252
    rank_min_obs: int | None = None
    rv_window: int = 21
    flow_window: int = 5
    volume_window: int = 20

    def __post_init__(self) -> None:
        object.__setattr__(self, "term_days", tuple(int(d) for d in self.term_days))
        if len(self.term_days) != 2:
            raise ValueError(f"term_days must hold two tenors, got {self.term_days}")
        if self.rank_min_obs is not None and not 1 <= self.rank_min_obs <= self.rank_window:
            raise ValueError(f"rank_min_obs must be in [1, rank_window], got {self.rank_min_obs}")

    @property
    def min_obs(self) -> int:
        return self.rank_window if self.rank_min_obs is None else int(self.rank_min_obs)

    @property
    def lookback(self) -> int:
        """Sessions of history before ``t-1`` that the features of ``t`` read."""
        return max(self.rank_window, self.rv_window + 1, self.volume_window + 1, self.flow_window, 5) + 1


class _Surfaces:
    """Every session's slices sorted by (date, underlier, maturity), evaluated for many queries at once."""

    _SPAN = 1000.0  # years: maturities are far below it, so code * _SPAN + t sorts by (surface, t)

    def __init__(self, slices: pd.DataFrame) -> None:
        s = slices.sort_values(["date", "underlier", "t_years"], kind="stable")
        rows = pd.MultiIndex.from_arrays([pd.DatetimeIndex(s["date"]), s["underlier"].astype(str)])
        self.keys = rows.unique()
        code = self.keys.get_indexer(rows)
        self.t = s["t_years"].to_numpy(float)
        self.lnf = np.log(s["forward"].to_numpy(float))
        self.rate = s["rate"].to_numpy(float)
        self.par = s[list(SVI_KEYS)].to_numpy(float)
        self.key = code * self._SPAN + self.t
        counts = np.bincount(code, minlength=len(self.keys))
        self.stop = np.cumsum(counts)
        self.start = self.stop - counts

    def codes(self, dates, underliers) -> np.ndarray:
        """Surface index of each (date, underlier), -1 where the session has no surface."""
        if not len(self.keys):
            return np.full(len(dates), -1)
        q = pd.MultiIndex.from_arrays([pd.DatetimeIndex(dates), pd.Index(underliers).astype(str)])
        return self.keys.get_indexer(q)

    def eval(self, code, t, k=None, strike=None):
        """Forward, rate, log-moneyness, vol, dvol/dk, d2vol/dk2 of queries (surface ``code``, maturity ``t``)."""
        code = np.asarray(code)
        t = np.asarray(t, float)
        valid = code >= 0
        c = np.where(valid, code, 0)
        if not len(self.keys):
            nan = np.full(t.shape, np.nan)
            return nan, nan, nan, nan, nan, nan
        start, last = self.start[c], self.stop[c] - 1
        hi = np.clip(np.searchsorted(self.key, c * self._SPAN + t, side="left"), start, last)
        lo = np.maximum(hi - 1, start)
        t_lo, t_hi = self.t[lo], self.t[hi]
        span = t_hi - t_lo
        x = np.where(span > 0, (t - t_lo) / np.where(span > 0, span, 1.0), 0.0)
        below = t < self.t[start]
        x = np.where(below, 0.0, x)
        xc = np.clip(x, 0.0, 1.0)
        fwd = np.exp((1 - xc) * self.lnf[lo] + xc * self.lnf[hi])
        rate = (1 - xc) * self.rate[lo] + xc * self.rate[hi]
        if k is None:
            k = np.log(np.asarray(strike, float) / fwd)
        k = np.broadcast_to(np.asarray(k, float), t.shape)
        w_lo, d1_lo, d2_lo = svi_derivatives(k, *self.par[lo].T)
        w_hi, d1_hi, d2_hi = svi_derivatives(k, *self.par[hi].T)
        scale = np.where(below, t / self.t[start], 1.0)
        w = scale * ((1 - x) * w_lo + x * w_hi)
        d1 = scale * ((1 - x) * d1_lo + x * d1_hi)
        d2 = scale * ((1 - x) * d2_lo + x * d2_hi)
        bad = ~valid | (t > self.t[last] + 1e-12) | (t <= 0) | ~(w > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            vol = np.where(bad, np.nan, np.sqrt(np.where(bad, 1.0, w) / np.where(t > 0, t, 1.0)))
            dvol = d1 / (2.0 * vol * t)
            d2vol = d2 / (2.0 * vol * t) - d1 * d1 / (4.0 * vol**3 * t * t)
        fwd, rate = np.where(valid, fwd, np.nan), np.where(valid, rate, np.nan)
        return fwd, rate, k, vol, dvol, d2vol


def surface_vols(slices: pd.DataFrame, queries: pd.DataFrame) -> pd.DataFrame:
    """Forward, rate, log-moneyness and implied vol of ``queries`` on the fitted surfaces.

    ``queries``: ``date, underlier, t_years, strike`` (any order, any number per surface).
    Returns ``queries`` with ``forward``, ``rate``, ``k``, ``vol`` added (NaN where the session
    has no surface or ``t_years`` lies beyond its last expiry).
    """
    out = queries.reset_index(drop=True)
    surf = _Surfaces(slices)
    fwd, rate, k, vol, _, _ = surf.eval(
        surf.codes(out["date"], out["underlier"]), out["t_years"].to_numpy(float), strike=out["strike"].to_numpy(float)
    )
    return out.assign(forward=fwd, rate=rate, k=k, vol=vol)


def _delta_25(surf: _Surfaces, codes: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    """Vols of the 25-delta call and put of each surface at maturity ``t`` (NaN if off the grid)."""
    n, g = len(codes), _K_GRID.size
    fwd, rate, k, vol, _, _ = surf.eval(np.repeat(codes, g), np.full(n * g, t), k=np.tile(_K_GRID, n))
    strikes = fwd * np.exp(k)
    call = np.asarray(bs_greeks(fwd, strikes, t, rate, rate, vol, True).delta, float).reshape(n, g)
    put = np.asarray(bs_greeks(fwd, strikes, t, rate, rate, vol, False).delta, float).reshape(n, g)
    vol = vol.reshape(n, g)
    ok = np.isfinite(vol) & np.isfinite(call) & np.isfinite(put)
    return _crossing(np.where(ok, call, np.nan), vol, 0.25), _crossing(np.where(ok, put, np.nan), vol, -0.25)


def _crossing(delta: np.ndarray, vol: np.ndarray, level: float) -> np.ndarray:
    """Per row: the vol where ``delta`` (falling along the row) first crosses ``level``, linear in between."""
    step = (delta[:, :-1] >= level) & (delta[:, 1:] < level)
    has = step.any(axis=1)
    j = step.argmax(axis=1)
    r = np.arange(delta.shape[0])
    d0, d1, v0, v1 = delta[r, j], delta[r, j + 1], vol[r, j], vol[r, j + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(has, v0 + (d0 - level) / (d0 - d1) * (v1 - v0), np.nan)


def surface_summary(slices: pd.DataFrame, config: VolFeatureConfig | None = None) -> pd.DataFrame:
    """Per (date, underlier): the shape of the session's fitted surface (:data:`SURFACE_SUMMARY_COLUMNS`).

    ``slices``: ``vol_surfaces`` rows (``date, underlier, t_years, forward, rate, a, b, rho, m, sigma``).
    """
    cfg = config or VolFeatureConfig()
    t0 = cfg.tenor_days / DAYS_PER_YEAR
    t1, t2 = (d / DAYS_PER_YEAR for d in cfg.term_days)
    surf = _Surfaces(slices)
    codes = np.arange(len(surf.keys))
    n = codes.size
    _, _, _, vol, dvol, d2vol = surf.eval(np.repeat(codes, 3), np.tile([t0, t1, t2], n), k=np.zeros(3 * n))
    vol, dvol, d2vol = vol.reshape(n, 3), dvol.reshape(n, 3), d2vol.reshape(n, 3)
    vc, vp = _delta_25(surf, codes, t0)
    out = pd.DataFrame(
        {
            "date": surf.keys.get_level_values(0),
            "underlier": surf.keys.get_level_values(1).astype(object),
            "atm_iv": vol[:, 0],
            "atm_skew": dvol[:, 0],
            "atm_curvature": d2vol[:, 0],
            "iv_term_1": vol[:, 1],
            "iv_term_2": vol[:, 2],
            "rr25": vc - vp,
            "bf25": 0.5 * (vc + vp) - vol[:, 0],
        }
    )
    return out.sort_values(["date", "underlier"], kind="stable").reset_index(drop=True)


def _wide(df: pd.DataFrame, col: str, index: pd.DatetimeIndex, names: Sequence[str], key: str) -> pd.DataFrame:
    if df.empty:
        return pd.DataFrame(np.nan, index=index, columns=list(names))
    w = df.pivot_table(index="date", columns=key, values=col, aggfunc="last")
    w.index = pd.DatetimeIndex(w.index)
    return w.reindex(index=index, columns=list(names)).astype(float)


def _rank_and_percentile(iv: pd.DataFrame, window: int, min_obs: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    roll = iv.rolling(window, min_periods=min_obs)
    lo, hi = roll.min(), roll.max()
    rank = ((iv - lo) / (hi - lo)).where(hi > lo)
    x = iv.to_numpy()
    pct = np.full(x.shape, np.nan)
    count = iv.notna().rolling(window, min_periods=1).sum().to_numpy()
    for i in range(x.shape[0]):
        win = x[max(0, i - window + 1) : i + 1]
        with np.errstate(invalid="ignore"):
            le = (win <= x[i]).sum(axis=0)
        pct[i] = np.where((count[i] >= min_obs) & np.isfinite(x[i]), le / np.maximum(count[i], 1), np.nan)
    return rank, pd.DataFrame(pct, index=iv.index, columns=iv.columns)


def _days_to_earnings(earnings: pd.DataFrame, asof: pd.DatetimeIndex, names: Sequence[str]) -> np.ndarray:
    """Sessions from each ``asof`` to the next earnings date announced by the session before it."""
    out = np.full((len(asof), len(names)), np.nan)
    if earnings is None or earnings.empty or not len(asof):
        return out
    e = earnings[earnings["symbol"].isin(names)]
    if e.empty:
        return out
    end = max(asof[-1], pd.Timestamp(e["earnings_date"].max()))
    cal = sessions_in_range(asof[0] - pd.Timedelta(days=10), end + pd.Timedelta(days=10))
    pos_t = cal.searchsorted(asof)
    a = cal.searchsorted(pd.DatetimeIndex(e["announce_date"]), side="left")  # announce session (or next)
    k = cal.searchsorted(pd.DatetimeIndex(e["earnings_date"]), side="left")
    col = pd.Index(list(names)).get_indexer(e["symbol"])
    for ai, ki, ni in zip(a, k, col, strict=True):
        # Known at t when announced by t-1 (a <= t-1); upcoming when k >= t.
        rows = np.flatnonzero((pos_t >= ai + 1) & (pos_t <= ki))
        if rows.size:
            out[rows, ni] = np.fmin(out[rows, ni], ki - pos_t[rows])
    return out


def build_vol_features(
    summary: pd.DataFrame,
    prices: pd.DataFrame,
    flows: pd.DataFrame,
    earnings: pd.DataFrame | None,
    sessions: Sequence,
    config: VolFeatureConfig | None = None,
    underliers: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Vol features (:data:`VOL_FEATURES`, as ``feature_*``) for every ``asof`` in ``sessions``.

    Parameters
    ----------
    summary : DataFrame
        :func:`surface_summary` rows (the sessions before ``sessions`` included, for the windows).
    prices : DataFrame
        ``date, symbol, close`` (split-adjusted returns from ``ret_price`` when present).
    flows : DataFrame
        :func:`option_flows` rows: ``date, underlier, open_interest, volume``.
    earnings : DataFrame or None
        ``symbol, announce_date, earnings_date``.
    sessions : sequence of date-like
        The ``asof`` sessions; row ``t`` uses data dated at most the XNYS session before ``t``.
    underliers : sequence of str, optional
        Default: those of ``summary``.

    Returns
    -------
    DataFrame
        ``asof, underlier, feature_*``, one row per (asof, underlier) with a surface on the data date.
    """
    cfg = config or VolFeatureConfig()
    asof = pd.DatetimeIndex(pd.to_datetime(list(sessions))).sort_values()
    names = sorted(underliers if underliers is not None else summary["underlier"].unique())
    cols = [f"feature_{n}" for n in VOL_FEATURES]
    if not len(asof) or not names:
        return pd.DataFrame({"asof": pd.to_datetime([]), "underlier": pd.Series([], dtype=object)}).assign(
            **{c: pd.Series([], dtype=float) for c in cols}
        )
    first = min([asof[0], *(pd.to_datetime(d["date"]).min() for d in (summary, prices, flows) if len(d))])
    cal = sessions_in_range(first, asof[-1])
    data_dates = cal[: cal.searchsorted(asof[-1])]  # sessions up to the one before the last asof
    data_dates = data_dates[data_dates >= first]
    summ = summary[pd.DatetimeIndex(summary["date"]).isin(data_dates)]
    w = {c: _wide(summ, c, data_dates, names, "underlier") for c in SURFACE_SUMMARY_COLUMNS[2:]}
    px = prices[prices["symbol"].isin(names) & pd.DatetimeIndex(prices["date"]).isin(data_dates)]
    close = _wide(px, "close", data_dates, names, "symbol")
    if "ret_price" in px.columns:
        logret = np.log1p(_wide(px, "ret_price", data_dates, names, "symbol"))
    else:
        logret = np.log(close / close.shift(1))
    fl = flows[pd.DatetimeIndex(flows["date"]).isin(data_dates)] if len(flows) else flows
    oi = _wide(fl, "open_interest", data_dates, names, "underlier")
    vol = _wide(fl, "volume", data_dates, names, "underlier")

    iv = w["atm_iv"]
    rank, pct = _rank_and_percentile(iv, cfg.rank_window, cfg.min_obs)
    rv = np.sqrt(252.0 * (logret**2).rolling(cfg.rv_window, min_periods=cfg.rv_window).mean())
    with np.errstate(divide="ignore", invalid="ignore"):
        oi_change = np.log(oi / oi.shift(cfg.flow_window)).where((oi > 0) & (oi.shift(cfg.flow_window) > 0))
        base = vol.shift(1).rolling(cfg.volume_window, min_periods=cfg.volume_window).mean()
        volume_change = np.log((vol + 1.0) / (base + 1.0))
    data = {
        "atm_iv": iv,
        "atm_skew": w["atm_skew"],
        "atm_curvature": w["atm_curvature"],
        "term_slope_1": w["iv_term_1"] - iv,
        "term_slope_2": w["iv_term_2"] - w["iv_term_1"],
        "rr25": w["rr25"],
        "bf25": w["bf25"],
        "iv_rank": rank,
        "iv_percentile": pct,
        "iv_change_5": iv - iv.shift(5),
        "rv": rv,
        "vrp": iv**2 - rv**2,
        "oi_change": oi_change,
        "volume_change": volume_change,
    }
    # Row for asof t = the data date before t (the previous XNYS session), never t itself.
    prev = cal[np.maximum(cal.searchsorted(asof) - 1, 0)]
    has_prev = cal.searchsorted(asof) > 0
    idx = data_dates.get_indexer(prev)
    ok = has_prev & (idx >= 0)
    n_a, n_u = len(asof), len(names)
    out = {}
    for name, frame in data.items():
        m = np.full((n_a, n_u), np.nan)
        m[ok] = frame.to_numpy(float)[idx[ok]]
        out[f"feature_{name}"] = m
    out["feature_days_to_earnings"] = _days_to_earnings(earnings, asof, names)
    has_surface = np.isfinite(out["feature_atm_iv"])
    frame = pd.DataFrame(
        {
            "asof": np.repeat(asof.values, n_u),
            "underlier": np.tile(np.asarray(names, dtype=object), n_a),
            **{c: out[c].ravel() for c in cols},
        }
    )
    return frame[has_surface.ravel()].reset_index(drop=True)


def option_flows(option_quotes: pd.DataFrame) -> pd.DataFrame:
    """Total open interest and volume of each underlier's curated quotes per session."""
    if option_quotes.empty:
        return pd.DataFrame(
            {
                "date": pd.to_datetime([]),
                "underlier": pd.Series([], dtype=object),
                "open_interest": pd.Series([], dtype=float),
                "volume": pd.Series([], dtype=float),
            }
        )
    g = option_quotes.groupby(["date", "underlier"], sort=True)[["open_interest", "volume"]].sum()
    return g.astype(float).reset_index()
