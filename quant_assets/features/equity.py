"""Cross-sectional equity features, point in time (blueprint §5.1).

Timeline: the features of session ``t`` (column ``asof``) are computed from data known at the
close of ``t-1``: prices through ``t-1``, fundamentals whose ``report_date <= t-1``, earnings
dates announced by ``t-1``, the symbol master and rates of ``t-1``. Only the calendar features
(day of week, turn of month) describe ``t`` itself, which the exchange calendar knows ahead.

Every statistic is computed on the whole ``(session, symbol)`` matrix at once from the
curated total returns ``ret_total`` (split-immune and dividend-inclusive, the quantity
``quant_assets.market.adjustments.pit_adjusted_history(total_return=True)`` back-adjusts
prices with, so log-return sums here equal log ratios of its adjusted closes as of ``t-1``),
raw close x volume (dollar volume is split-invariant) and the point-in-time share count.

=========================  ====  =============================================================
feature                    kind  definition (window in sessions, data through ``t-1``)
=========================  ====  =============================================================
``xsmom_{21,63,126,252}``  XS    sum of log total returns over the window
``mom_12_1``               XS    log total return from ``t-252`` to ``t-21`` (one-month skip,
                                 Jegadeesh & Titman 1993)
``tsmom_{21,63,126,252}``  TS    window log return / (60-session vol x sqrt(window)), clipped
                                 at +/-4 (time-series momentum, Moskowitz, Ooi & Pedersen 2012)
``strev_5``                XS    minus the 5-session log return (Lehmann 1990; Jegadeesh 1990)
``bp``, ``ep``             XS    book equity / market cap; annualized net income (mean of the
                                 last <= 4 arrived quarters of EPS x shares, x4) / market cap
                                 (Fama & French 1992), fundamentals as of their report date
``rvol_{20,60}``           XS    standard deviation of daily total returns
``dvol_{20,60}``           XS    downside semideviation sqrt(mean(min(r,0)^2))
``rquart_20``              XS    log realized quarticity (n/3) sum r^4 (Barndorff-Nielsen &
                                 Shephard 2002)
``amihud_20``              XS    log mean |r| / dollar volume (per USD 1M; Amihud 2002)
``turnover_20``            XS    log mean volume / shares outstanding
``skew_60``, ``kurt_60``   XS    sample skewness and excess kurtosis of daily returns
``beta_mkt_60``            XS    OLS beta on the equal-weight mean return of all traded names
``beta_rate_60``           XS    OLS beta on the daily change of the RATE_TENOR_DAYS zero rate
``dispersion_20``          TS    20-session mean of the cross-sectional std of daily returns,
                                 z-scored against its own trailing 252 sessions (market-wide)
``earn_to``, ``earn_since``TS    sessions to the next announced / since the last earnings date,
                                 capped at 63 and divided by 63
``earn_window``            TS    1 if an earnings date is within 2 sessions either side
``dow_mon``, ``dow_fri``   TS    ``t`` is a Monday / a Friday
``turn_of_month``          TS    ``t`` is the last or one of the first three sessions of its
                                 month (Ariel 1987; Lakonishok & Smidt 1988)
=========================  ====  =============================================================

Standardization: XS features are winsorized cross-sectional z-scores over the session's
cross-section (the universe of ``t`` when given, else every name that traded at ``t-1``), see
:mod:`quant_assets.features.standardize`. TS features keep their own fixed scale (a
cross-sectional z-score would erase what they carry: the market-wide level or the calendar).

Missing values: a feature is NaN where its inputs are not available (a young listing, no
arrived fundamentals, no announced earnings date); never imputed. Each feature that can be
missing has a companion ``feature_<name>_missing`` column (1.0 if NaN, else 0.0), so a model
that needs complete rows can fill NaN with 0 (the cross-sectional mean of a z-score) and still
see which values were absent.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from quant_assets.calendars import sessions_in_range
from quant_assets.features.rolling import STATS, lagged_sum, rolling_beta, rolling_moments
from quant_assets.features.standardize import winsorized_z
from quant_assets.research.frames import MarketFrames
from quant_assets.research.universe import member_mask, rolling_mean

__all__ = [
    "FEATURE_COLUMNS",
    "FEATURES",
    "LOOKBACK_SESSIONS",
    "RATE_TENOR_DAYS",
    "XS",
    "TS",
    "build_feature_panel",
    "compute_equity_features",
    "feature_columns",
    "raw_feature_matrices",
]

XS, TS = "xs", "ts"
RATE_TENOR_DAYS = 730
"""Tenor of the zero rate whose daily change the rate beta is measured against (nearest stored)."""
LOOKBACK_SESSIONS = 300
"""History a single session's features need (12-month momentum plus its window checks)."""
EARNINGS_CAP = 63
MOM_WINDOWS = (21, 63, 126, 252)


_MOMENTS_READ = {
    **{f"tsmom_{k}": ("std", 60) for k in MOM_WINDOWS},
    "rvol_20": ("std", 20),
    "rvol_60": ("std", 60),
    "dvol_20": ("downside", 20),
    "dvol_60": ("downside", 60),
    "rquart_20": ("quarticity", 20),
    "skew_60": ("skew", 60),
    "kurt_60": ("kurt", 60),
}
"""Feature -> the trailing moment (statistic, window) it reads: only the moments of the features
computed are computed, once per window."""


class _Ctx:
    """Intermediate matrices shared by the features (each computed once, on demand).

    :meth:`drop` frees an intermediate once no feature left needs it (a later :meth:`get`
    would recompute the same values).
    """

    def __init__(self, market: MarketFrames, names=None) -> None:
        self.market = market
        self.w = market.wide
        self._cache: dict = {}
        self._moments: dict[int, set[str]] = {}
        for name in names or FEATURES:
            if name in _MOMENTS_READ:
                stat, window = _MOMENTS_READ[name]
                self._moments.setdefault(window, set()).add(stat)

    def get(self, key: str, fn: Callable[[], np.ndarray]):
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    def drop(self, key: str) -> None:
        self._cache.pop(key, None)

    @property
    def r(self) -> np.ndarray:
        return self.w.ret

    @property
    def lr(self) -> np.ndarray:
        return self.get("lr", lambda: np.log1p(np.maximum(self.w.ret, -0.999999)))

    def moment(self, stat: str, window: int) -> np.ndarray:
        stats = tuple(sorted(self._moments.get(window, ()))) or STATS
        return self.get(f"moments{window}", lambda: rolling_moments(self.r, window, max(2, window // 2), stats))[stat]

    @property
    def market_cap(self) -> np.ndarray:
        return self.get("mcap", lambda: self.w.close * self.w.shares)

    @property
    def market_return(self) -> np.ndarray:
        return self.get("mkt", lambda: _nanmean_rows(self.r))


def _nanmean_rows(x: np.ndarray) -> np.ndarray:
    n = np.sum(~np.isnan(x), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.nansum(x, axis=1) / np.maximum(n, 1), np.nan)


def _log_pos(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(x > 0, np.log(x), np.nan)


def _fundamental_matrix(ctx: _Ctx, values: pd.Series, frame: pd.DataFrame) -> np.ndarray:
    """Values placed at their report session and carried forward (at most 378 sessions)."""
    w = ctx.w
    t_i = w.sessions.searchsorted(pd.DatetimeIndex(frame["report_date"]), side="left")
    n_i = w.symbols.get_indexer(frame["symbol"])
    ok = (t_i < len(w.sessions)) & (n_i >= 0) & values.notna().to_numpy()
    arr = np.full((len(w.sessions), len(w.symbols)), np.nan)
    # rows are sorted by (report_date, period_end): the latest period wins a shared session
    arr[t_i[ok], n_i[ok]] = values.to_numpy(dtype=float)[ok]
    return pd.DataFrame(arr).ffill(limit=378).to_numpy()


def _fundamentals(ctx: _Ctx) -> pd.DataFrame:
    def build():
        f = ctx.market.fundamentals.sort_values(["symbol", "report_date", "period_end"], kind="stable")
        f = f.assign(net_income=f["eps"] * f["shares_outstanding"])
        f["ni_annual"] = 4.0 * f.groupby("symbol")["net_income"].transform(lambda s: s.rolling(4, min_periods=1).mean())
        return f.sort_values(["report_date", "period_end"], kind="stable")

    return ctx.get("fund", build)


def _book_to_price(ctx: _Ctx) -> np.ndarray:
    f = _fundamentals(ctx)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _fundamental_matrix(ctx, f["book_equity"], f) / ctx.market_cap


def _earnings_yield(ctx: _Ctx) -> np.ndarray:
    f = _fundamentals(ctx)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _fundamental_matrix(ctx, f["ni_annual"], f) / ctx.market_cap


def _amihud(ctx: _Ctx) -> np.ndarray:
    w = ctx.w
    dv = w.dollar_volume
    with np.errstate(invalid="ignore", divide="ignore"):
        illiq = np.where(dv > 0, np.abs(ctx.r) / dv * 1e6, np.nan)
    return _log_pos(rolling_mean(illiq, 20, 10))


def _turnover(ctx: _Ctx) -> np.ndarray:
    w = ctx.w
    with np.errstate(invalid="ignore", divide="ignore"):
        turn = np.where(w.shares > 0, w.volume / w.shares, np.nan)
    return np.log(rolling_mean(turn, 20, 10) + 1e-8)


def _rate_changes(ctx: _Ctx) -> np.ndarray:
    rates = ctx.market.rates
    w = ctx.w
    if rates.empty:
        return np.full(len(w.sessions), np.nan)
    tenors = np.sort(rates["tenor_days"].unique())
    tenor = tenors[np.argmin(np.abs(tenors - RATE_TENOR_DAYS))]
    y = rates[rates["tenor_days"] == tenor].set_index("date")["rate"]
    y = y[~y.index.duplicated(keep="last")].reindex(w.sessions).to_numpy(dtype=float)
    return np.r_[np.nan, np.diff(y)]


def _dispersion(ctx: _Ctx) -> np.ndarray:
    r = ctx.r
    n = np.sum(~np.isnan(r), axis=1)
    with np.errstate(invalid="ignore"):
        xs = np.where(n >= 3, np.nanstd(np.where(n[:, None] >= 3, r, 0.0), axis=1, ddof=1), np.nan)
    d = rolling_mean(xs[:, None], 20, 10)
    m = rolling_moments(d, 252, 20)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.clip((d - m["mean"]) / m["std"], -4, 4)
    return np.broadcast_to(z, r.shape).copy()


def _tsmom(window: int) -> Callable[[_Ctx], np.ndarray]:
    def fn(ctx: _Ctx) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            x = lagged_sum(ctx.lr, 0, window) / (ctx.moment("std", 60) * np.sqrt(window))
        return np.clip(x, -4, 4)

    return fn


def _xsmom(window: int) -> Callable[[_Ctx], np.ndarray]:
    return lambda ctx: lagged_sum(ctx.lr, 0, window)


def _moment(name: str, transform=None) -> Callable[[_Ctx], np.ndarray]:
    stat, window = _MOMENTS_READ[name]

    def fn(ctx: _Ctx) -> np.ndarray:
        x = ctx.moment(stat, window)
        return transform(x) if transform else x

    return fn


FEATURES: dict[str, tuple[str, Callable[[_Ctx], np.ndarray]]] = {
    **{f"xsmom_{k}": (XS, _xsmom(k)) for k in MOM_WINDOWS},
    "mom_12_1": (XS, lambda ctx: lagged_sum(ctx.lr, 21, 252)),
    **{f"tsmom_{k}": (TS, _tsmom(k)) for k in MOM_WINDOWS},
    "strev_5": (XS, lambda ctx: -lagged_sum(ctx.lr, 0, 5)),
    "bp": (XS, _book_to_price),
    "ep": (XS, _earnings_yield),
    "rvol_20": (XS, _moment("rvol_20")),
    "rvol_60": (XS, _moment("rvol_60")),
    "dvol_20": (XS, _moment("dvol_20")),
    "dvol_60": (XS, _moment("dvol_60")),
    "rquart_20": (XS, _moment("rquart_20", _log_pos)),
    "amihud_20": (XS, _amihud),
    "turnover_20": (XS, _turnover),
    "skew_60": (XS, _moment("skew_60")),
    "kurt_60": (XS, _moment("kurt_60")),
    "beta_mkt_60": (XS, lambda ctx: rolling_beta(ctx.r, ctx.market_return, 60, 30)),
    "beta_rate_60": (XS, lambda ctx: rolling_beta(ctx.r, _rate_changes(ctx), 60, 30)),
    "dispersion_20": (TS, _dispersion),
}
"""Name -> (kind, function of the data-date context): the price/fundamental features."""

_LAST_USER = {
    "lr": "strev_5",
    "moments60": "kurt_60",
    "moments20": "rquart_20",
    "fund": "ep",
    "mcap": "ep",
    "mkt": "beta_mkt_60",
}
"""Intermediate -> the last feature (in :data:`FEATURES` order) that reads it: freed after it."""

EVENT_FEATURES = ("earn_to", "earn_since", "earn_window")
CALENDAR_FEATURES = ("dow_mon", "dow_fri", "turn_of_month")
_NEVER_MISSING = {"earn_window", *CALENDAR_FEATURES}


def feature_columns() -> list[str]:
    """Output feature columns in order: values, then the missing flags."""
    names = [*FEATURES, *EVENT_FEATURES, *CALENDAR_FEATURES]
    return [f"feature_{n}" for n in names] + [f"feature_{n}_missing" for n in names if n not in _NEVER_MISSING]


FEATURE_COLUMNS = tuple(feature_columns())


def raw_feature_matrices(market: MarketFrames, names=None) -> dict[str, np.ndarray]:
    """Unstandardized ``(T, N)`` matrices on the *data date* (row ``s`` uses data through ``s``)."""
    names = list(names or FEATURES)
    ctx = _Ctx(market, names)
    return {n: FEATURES[n][1](ctx) for n in names}


def _earnings_matrices(market: MarketFrames) -> tuple[np.ndarray, np.ndarray]:
    """Sessions to the next and since the last earnings date, on the *asof* row ``t``.

    An announcement is known at ``t`` if ``announce_date <= t-1``. Session counts use the
    exchange calendar (also beyond the data), so they never depend on where the data ends.
    """
    w = market.wide
    T, N = len(w.sessions), len(w.symbols)
    to = np.full((T, N), np.inf)
    last = np.full((T, N), -np.inf)
    e = market.earnings
    if T and len(e):
        end = max(w.sessions[-1], pd.Timestamp(e["earnings_date"].max()))
        cal = sessions_in_range(w.sessions[0], end)
        a = cal.searchsorted(pd.DatetimeIndex(e["announce_date"]), side="left")
        k = cal.searchsorted(pd.DatetimeIndex(e["earnings_date"]), side="left")
        n = w.symbols.get_indexer(e["symbol"])
        for ai, ki, ni in zip(a, k, n, strict=True):
            if ni < 0:
                continue
            lo, hi = ai + 1, min(ki, T - 1)  # upcoming: known and k >= t
            if lo <= hi:
                to[lo : hi + 1, ni] = np.minimum(to[lo : hi + 1, ni], ki)
            start = max(ai + 1, ki + 1)  # past: known and k <= t-1
            if start < T:
                last[start, ni] = max(last[start, ni], ki)
        last = np.maximum.accumulate(last, axis=0)
    t = np.arange(T)[:, None]
    days_to = np.where(np.isfinite(to), to - t, np.nan)
    days_since = np.where(np.isfinite(last), t - last, np.nan)
    return days_to, days_since


def _calendar(sessions: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    cal = sessions_in_range(sessions[0] - pd.Timedelta(days=10), sessions[-1] + pd.Timedelta(days=10))
    month = cal.year * 12 + cal.month
    first_k = pd.Series(1, index=cal).groupby(month).cumcount().to_numpy()
    last = np.r_[month[1:] != month[:-1], True]
    tom = pd.Series((first_k < 3) | last, index=cal).reindex(sessions).to_numpy()
    return {
        "dow_mon": (sessions.dayofweek == 0).astype(float),
        "dow_fri": (sessions.dayofweek == 4).astype(float),
        "turn_of_month": tom.astype(float),
    }


def build_feature_panel(
    market: MarketFrames, sessions, *, universe: pd.DataFrame | None = None, dtype=np.float64
) -> pd.DataFrame:
    """Features for every session in ``sessions`` at once: ``asof, symbol, feature_*``.

    Parameters
    ----------
    market : MarketFrames
        Inputs, with enough history before ``sessions`` (:data:`LOOKBACK_SESSIONS`).
    sessions : sequence of date-like
        The ``asof`` sessions (features use data through the session before each).
    universe : DataFrame, optional
        ``date, symbol`` rows (``research.build_universe``): the cross-section of each session.
        Default: every name that traded, and had not delisted, at the session before.
    dtype : numpy float dtype, default float64
        Of the feature columns. ``np.float32`` halves the panel's memory; the statistics are
        still computed in float64 and only rounded on output (|error| <= 4 x 2^-24 on a value,
        flags exact).

    Returns
    -------
    DataFrame
        ``asof``, ``symbol`` and :data:`FEATURE_COLUMNS`, sorted by (asof, symbol).

    Notes
    -----
    Memory: one feature matrix at a time is computed, standardized and gathered into a single
    preallocated ``(rows, features)`` block that becomes the frame without a copy; shared
    intermediates are freed after their last feature (:data:`_LAST_USER`).
    """
    w = market.wide
    rows = market.session_index(sessions, strict=True)
    cross = member_mask(market, universe)
    keep = np.zeros_like(cross)
    keep[rows] = cross[rows]
    t_i, n_i = np.nonzero(keep)
    del keep
    col = {c: j for j, c in enumerate(FEATURE_COLUMNS)}
    block = np.empty((t_i.size, len(FEATURE_COLUMNS)), dtype=dtype, order="F")

    def put(name: str, v: np.ndarray) -> None:
        block[:, col[f"feature_{name}"]] = v
        if name not in _NEVER_MISSING:
            block[:, col[f"feature_{name}_missing"]] = np.isnan(v)

    ctx = _Ctx(market)
    at = np.full(cross.shape, np.nan)
    for name, (kind, fn) in FEATURES.items():
        at[1:] = fn(ctx)[:-1]  # data date t-1 -> asof t
        put(name, (winsorized_z(at, cross) if kind == XS else at)[t_i, n_i])
        for key in [k for k, last in _LAST_USER.items() if last == name]:
            ctx.drop(key)
    del ctx, at
    days_to, days_since = _earnings_matrices(market)
    put("earn_to", np.minimum(days_to, EARNINGS_CAP)[t_i, n_i] / EARNINGS_CAP)
    put("earn_since", np.minimum(days_since, EARNINGS_CAP)[t_i, n_i] / EARNINGS_CAP)
    near = (np.nan_to_num(days_to, nan=np.inf) <= 2) | (np.nan_to_num(days_since, nan=np.inf) <= 2)
    put("earn_window", near[t_i, n_i].astype(float))
    del days_to, days_since, near
    for name, values in _calendar(w.sessions).items():
        put(name, values[t_i])
    out = pd.DataFrame(block, columns=list(FEATURE_COLUMNS), copy=False)
    out.insert(0, "symbol", w.symbols.to_numpy()[n_i])
    out.insert(0, "asof", w.sessions.values[t_i])
    return out


def _universe_frame(date: pd.Timestamp, universe) -> pd.DataFrame:
    if isinstance(universe, pd.DataFrame):
        u = universe
        if "date" in u.columns:
            u = u[pd.DatetimeIndex(u["date"]) == date]
        symbols = u["symbol"].to_numpy()
    else:
        symbols = np.asarray(list(universe), dtype=object)
    return pd.DataFrame({"date": date, "symbol": symbols})


def compute_equity_features(
    date, universe, *, panel: MarketFrames | pd.DataFrame | None = None, store=None
) -> pd.DataFrame:
    """Features of ``universe`` for session ``date`` from data known at the close of ``date - 1``.

    Parameters
    ----------
    date : date-like
        The session scored (``asof``).
    universe : DataFrame or sequence of str
        The names (a ``date, symbol`` frame is filtered to ``date``); also the cross-section
        of the standardization.
    panel : MarketFrames or DataFrame, optional
        Point-in-time inputs (:class:`~quant_assets.research.MarketFrames`), or an already built
        feature panel (rows of ``date`` and ``universe`` are selected).
    store : ParquetStore, optional
        Read the last :data:`LOOKBACK_SESSIONS` sessions from this store when ``panel`` is None;
        default: the store of the active profile (``$QUANT_ASSETS_PROFILE``).

    Returns
    -------
    DataFrame
        ``symbol``, ``asof`` and :data:`FEATURE_COLUMNS`, one row per universe name that traded
        at ``date - 1``.
    """
    date = pd.Timestamp(date)
    uni = _universe_frame(date, universe)
    if isinstance(panel, pd.DataFrame):
        out = panel[(pd.DatetimeIndex(panel["asof"]) == date) & panel["symbol"].isin(uni["symbol"])]
        return out[["symbol", "asof", *FEATURE_COLUMNS]].reset_index(drop=True)
    if panel is None:
        from quant_assets.market.profile_store import profile_store

        if store is None:
            store = profile_store()
        start = sessions_in_range(date - pd.Timedelta(days=2 * LOOKBACK_SESSIONS), date)[-LOOKBACK_SESSIONS - 1]
        panel = MarketFrames.from_store(store, start, date)
    market = panel.restrict(panel.prices["date"].min(), date - pd.Timedelta(days=1), through=date)
    uni = uni[uni["symbol"].isin(market.wide.symbols)]
    out = build_feature_panel(market, [date], universe=uni)
    return out[["symbol", "asof", *FEATURE_COLUMNS]]
