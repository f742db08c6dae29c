"""Execution-aligned labels (blueprint §4.1): triple barrier and 5/20-session excess returns.

Timeline: a label of session ``t`` enters at the **open of t** (the price the backtester fills
at) and measures total returns from there: ``close_t / open_t`` on the entry session (bought
ex-dividend on an ex-date, after a split on a split date, so raw open and close share a basis),
then ``1 + ret_total`` on each later session (splits and dividends through the curated total
return; a session without a bar contributes 1). A delisting ends the path on the delisting
session with the delisting return compounded in (Shumway 1997); after it the position is cash.

Triple barrier (López de Prado 2018, ch. 3): with :math:`\\sigma` the standard deviation of
daily total returns over the ``vol_window`` sessions ending ``t-1`` (known at entry), the
path's cumulative return :math:`R_h` is checked at each close ``h = 0 .. max_h-1`` against
``+tp_sigma * sigma * sqrt(max_h)`` (label 1, outcome ``tp``) and
``-sl_sigma * sigma * sqrt(max_h)`` (label -1, ``sl``); the first touch wins; a delisting
before or at a touch ends it (``delisted``, labelled by the same barriers, 0 between them); else the
vertical barrier at the ``max_h``-th close (``vertical``, label 0). Closes only: intraday
touches are not seen. ``exit_date`` is the session of the touch, delisting or vertical.

Horizon targets: ``ret_fwd_h`` is the path return at the ``h``-th close (``t+h-1``),
``xret_h`` its excess over the mean ``ret_fwd_h`` of the universe of ``t``, and
``exit_date_h`` the session ``t+h-1`` when it is known (the universe mean needs every name's
path to that session, also for a name that delisted earlier).

A label row exists for a universe name of ``t`` that has a bar at ``t`` (it can be entered)
and a volatility at entry. It is emitted only once **every** target is known:
``known_date = max(exit_date, exit_date_h for h in horizons) <= last session of the data``.
A model trained as of ``d`` may use rows with ``known_date < d`` (hence ``exit_date < d``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from quant_assets.config.fields import reject_unknown_fields
from quant_assets.features.rolling import rolling_moments
from quant_assets.research.frames import MarketFrames
from quant_assets.research.universe import member_mask, universe_mask

__all__ = ["LABEL_COLUMNS", "OUTCOMES", "LabelConfig", "build_label_panel", "label_columns", "triple_barrier"]

OUTCOMES = ("tp", "sl", "vertical", "delisted")


@dataclass(frozen=True)
class LabelConfig:
    """Label thresholds and horizons (YAML ``research.labels``)."""

    tp_sigma: float = 1.0
    sl_sigma: float = 1.0
    max_h: int = 10
    vol_window: int = 20
    horizons: tuple[int, ...] = (5, 20)

    def __post_init__(self) -> None:
        if not (self.tp_sigma > 0 and self.sl_sigma > 0):
            raise ValueError(f"tp_sigma and sl_sigma must be > 0, got {self.tp_sigma}, {self.sl_sigma}")
        if self.max_h < 1 or self.vol_window < 2 or not self.horizons or min(self.horizons) < 1:
            raise ValueError("max_h >= 1, vol_window >= 2 and horizons >= 1 are required")

    @classmethod
    def from_dict(cls, d: dict | None) -> LabelConfig:
        d = dict(d or {})
        reject_unknown_fields(cls, d, "research.labels")
        if "horizons" in d:
            d["horizons"] = tuple(int(h) for h in d["horizons"])
        return cls(**d)


def label_columns(horizons=(5, 20)) -> list[str]:
    return [
        "entry_date",
        "symbol",
        "exit_date",
        "label",
        "outcome",
        *[f"ret_fwd_{h}" for h in horizons],
        *[f"xret_{h}" for h in horizons],
        *[f"exit_date_{h}" for h in horizons],
        "known_date",
    ]


LABEL_COLUMNS = tuple(label_columns())


def _entry_factor(market: MarketFrames) -> np.ndarray:
    """Gross return from the open to the close of each session, delisting return included."""
    w = market.wide
    with np.errstate(invalid="ignore", divide="ignore"):
        intraday = w.close / w.open
        # the curated total return on a delisting session is (1 + r_close) (1 + delta) - 1
        prev = w.split_ratio * w.close / (1.0 + w.ret_price)
        close_ret = 1.0 + w.ret_price + w.dividend / prev
        delist = np.where(w.delisted & np.isfinite(close_ret) & (close_ret > 0), (1.0 + w.ret) / close_ret, 1.0)
    return intraday * delist


def _paths(market: MarketFrames, n_steps: int) -> list[np.ndarray]:
    w = market.wide
    T = len(w.sessions)
    step = np.where(np.isnan(w.ret), 1.0, 1.0 + w.ret)
    step = np.where(w.has_bar, step, 1.0)
    g = _entry_factor(market)
    out = [g]
    for h in range(1, n_steps):
        nxt = np.full_like(g, np.nan)
        k = max(T - h, 0)  # sessions with h closes after them
        nxt[:k] = g[:k] * step[h:]
        g = nxt
        out.append(g)
    return out


def _dead(market: MarketFrames, n_steps: int) -> list[np.ndarray]:
    """dead[h][t]: the name delisted at one of the closes t .. t+h."""
    w = market.wide
    T = len(w.sessions)
    d = w.delisted.copy()
    out = [d]
    for h in range(1, n_steps):
        nxt = np.zeros_like(d)
        k = max(T - h, 0)
        nxt[:k] = d[:k] | w.delisted[h:]
        d = nxt
        out.append(d)
    return out


def build_label_panel(
    market: MarketFrames,
    sessions,
    cfg: LabelConfig | dict | None = None,
    *,
    top_n: int | None = None,
    universe: pd.DataFrame | None = None,
    universe_window: int = 60,
    universe_min_obs: int | None = None,
) -> pd.DataFrame:
    """Labels of every entry session in ``sessions`` at once (see the module docstring).

    Parameters
    ----------
    market : MarketFrames
        Inputs; paths are read through the last session of ``market``.
    sessions : sequence of date-like
        Entry sessions.
    cfg : LabelConfig or dict
        Thresholds and horizons.
    top_n, universe : optional
        The entry universe: a ``date, symbol`` frame, or built with
        :func:`~quant_assets.research.universe.build_universe` at ``top_n``; default: every
        name that traded and had not delisted at ``t-1``.

    Returns
    -------
    DataFrame
        :func:`label_columns` of ``cfg.horizons``: ``entry_date, symbol, exit_date, label``
        (int -1/0/1), ``outcome``, ``ret_fwd_h``, ``xret_h``, ``exit_date_h``, ``known_date``;
        sorted by (entry_date, symbol); only rows whose targets are all known.
    """
    cfg = cfg if isinstance(cfg, LabelConfig) else LabelConfig.from_dict(cfg)
    w = market.wide
    T = len(w.sessions)
    rows = market.session_index(sessions, strict=True)
    if universe is None and top_n is not None:
        member, _ = universe_mask(market, top_n, universe_window, universe_min_obs)
    else:
        member = member_mask(market, universe)
    entry = np.zeros_like(member)
    entry[rows] = member[rows] & w.has_bar[rows]
    n_steps = max(cfg.max_h, *cfg.horizons)
    gross = _paths(market, n_steps)
    dead = _dead(market, n_steps)
    sigma = np.full((T, len(w.symbols)), np.nan)
    sigma[1:] = rolling_moments(w.ret, cfg.vol_window, max(2, cfg.vol_window // 2), ("std",))["std"][:-1]
    entry &= np.isfinite(sigma) & np.isfinite(gross[0])

    width = np.sqrt(cfg.max_h) * sigma
    tp, sl = cfg.tp_sigma * width, -cfg.sl_sigma * width
    exit_h = np.full(sigma.shape, -1)
    label = np.zeros(sigma.shape, dtype=np.int64)
    outcome = np.full(sigma.shape, 2, dtype=np.int64)  # index into OUTCOMES
    open_ = entry.copy()
    for h in range(cfg.max_h):
        r = gross[h] - 1.0
        avail = np.arange(T)[:, None] + h < T
        hit_tp = open_ & avail & (r >= tp)
        hit_sl = open_ & avail & (r <= sl) & ~hit_tp
        ends = open_ & avail & (dead[h] if h == 0 else dead[h] & ~dead[h - 1])
        done = hit_tp | hit_sl | ends
        label[hit_tp], label[hit_sl] = 1, -1
        outcome[hit_tp], outcome[hit_sl] = 0, 1
        outcome[ends] = 3  # a delisting ends it, whatever the return
        if h == cfg.max_h - 1:
            outcome[open_ & avail & ~done] = 2
            done = done | (open_ & avail)
        exit_h[done] = h
        open_ &= ~done
    t_idx = np.arange(T)[:, None]
    known = np.where(exit_h >= 0, t_idx + exit_h, T)
    for hz in cfg.horizons:
        known = np.maximum(known, t_idx + hz - 1)
    entry &= (exit_h >= 0) & (known < T)

    t_i, n_i = np.nonzero(entry)
    cal = w.sessions.values
    out = {
        "entry_date": cal[t_i],
        "symbol": w.symbols.to_numpy()[n_i],
        "exit_date": cal[t_i + exit_h[t_i, n_i]],
        "label": label[t_i, n_i],
        "outcome": np.asarray(OUTCOMES, dtype=object)[outcome[t_i, n_i]],
    }
    for hz in cfg.horizons:
        ret = gross[hz - 1] - 1.0
        # the universe mean at t over the names entered at t (all of which have known paths)
        ent = np.where(entry, ret, np.nan)
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(np.where(entry.any(axis=1)[:, None], ent, 0.0), axis=1)
        out[f"ret_fwd_{hz}"] = ret[t_i, n_i]
        out[f"xret_{hz}"] = ret[t_i, n_i] - mean[t_i]
    for hz in cfg.horizons:
        out[f"exit_date_{hz}"] = cal[t_i + hz - 1]
    out["known_date"] = cal[known[t_i, n_i]]
    return pd.DataFrame(out)[label_columns(cfg.horizons)]


def triple_barrier(
    date,
    universe,
    tp_sigma: float,
    sl_sigma: float,
    max_h: int = 10,
    *,
    panel: MarketFrames | pd.DataFrame | None = None,
    store=None,
    vol_window: int = 20,
) -> pd.DataFrame:
    """Triple-barrier labels of the names of ``universe`` entered at the open of ``date``.

    ``panel`` is a :class:`MarketFrames` (or a label panel to select from); with ``store``
    (default: the active profile's store) the sessions from ``date - 2 vol_window`` through
    ``date + max_h`` are read. Labels whose exit is not yet in the data are not returned.

    Returns
    -------
    DataFrame
        ``symbol, entry_date, exit_date, label, outcome, meta`` (``meta``: dict with ``ret``,
        ``sigma`` and the barrier returns ``tp``, ``sl``).
    """
    from quant_assets.features.equity import _universe_frame

    date = pd.Timestamp(date)
    uni = _universe_frame(date, universe)
    cols = ["symbol", "entry_date", "exit_date", "label", "outcome", "meta"]
    if isinstance(panel, pd.DataFrame):
        sel = panel[(pd.DatetimeIndex(panel["entry_date"]) == date) & panel["symbol"].isin(uni["symbol"])]
        return sel.assign(meta=[{} for _ in range(len(sel))])[cols].reset_index(drop=True)
    if panel is None:
        from quant_assets.calendars import sessions_in_range
        from quant_assets.market.profile_store import profile_store

        store = store or profile_store()
        last = store.partitions("curated", "adjusted_prices")[-1]
        cal = sessions_in_range(date - pd.Timedelta(days=4 * vol_window), max(date, last))
        hi = cal[min(cal.get_loc(date) + max_h - 1, len(cal) - 1)]
        panel = MarketFrames.from_store(store, cal[0], min(hi, last))
    cfg = LabelConfig(tp_sigma=tp_sigma, sl_sigma=sl_sigma, max_h=max_h, vol_window=vol_window, horizons=(1,))
    lab = build_label_panel(panel, [date], cfg, universe=uni)
    w = panel.wide
    t = panel.session_index([date])[0]
    n_i = w.symbols.get_indexer(lab["symbol"])
    std = rolling_moments(w.ret, vol_window, max(2, vol_window // 2), ("std",))["std"]
    sigma = std[t - 1, n_i] if t > 0 else np.nan
    gross = _paths(panel, max_h)
    h = panel.session_index(lab["exit_date"]) - t
    ret = np.array([gross[k][t, n] - 1.0 for k, n in zip(h, n_i, strict=True)])
    width = np.sqrt(max_h) * np.asarray(sigma, dtype=float)
    lab["meta"] = [
        {"ret": float(r), "sigma": float(s), "tp": float(tp_sigma * x), "sl": float(-sl_sigma * x)}
        for r, s, x in zip(ret, np.broadcast_to(sigma, len(lab)), np.broadcast_to(width, len(lab)), strict=True)
    ]
    return lab[cols].reset_index(drop=True)
