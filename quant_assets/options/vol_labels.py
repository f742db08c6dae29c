r"""Vol labels: future ATM IV change, realized VRP and delta-hedged straddle PnL over the horizons.

For an entry session ``t`` (the position is opened at the close of ``t``; the features of ``t``
use data through the close of ``t-1``) and each horizon ``h`` (sessions):

``iv_change_<h>``
    :math:`100\,(\sigma_{ATM}(t+h) - \sigma_{ATM}(t))`, vol points, at the constant ``tenor_days`` maturity.
``rvrp_<h>``
    realized variance risk premium :math:`\sigma_{ATM}(t)^2 - \tfrac{252}{h}\sum_{j=1}^{h} r_{t+j}^2`
    (annual variance units; :math:`r` split-adjusted log close returns).
``straddle_pnl_bps_<h>``
    PnL of a long ``tenor_days`` ATM straddle (strike = the ``tenor_days`` forward at ``t``, expiry
    ``t + tenor_days`` calendar days) held ``h`` sessions and delta-hedged at every close with the
    core BSM deltas, in bps of the entry premium (Bakshi & Kapadia 2003, "Delta-hedged gains and
    the negative market volatility risk premium", eq. 3, discretised daily):

    .. math:: \Pi = V_h - V_0 - \sum_{j<h} \Delta_j (S_{j+1} - S_j) + \sum_{j<h} r_j (\Delta_j S_j - V_j)\,\delta t_j.

    Every :math:`V_j, \Delta_j` is priced with :func:`~quant_assets.options.bs_price` /
    :func:`~quant_assets.options.bs_greeks` at the vol of the straddle's strike and remaining
    maturity on session ``j``'s fitted surface (:func:`~quant_assets.options.vol_features.surface_vols`),
    the dividend yield implied by that surface's forward. Prices are in entry-share units across
    splits; past expiry the straddle is worth its payoff at the first close on or after expiry and
    is neither hedged nor financed. Mid prices: no costs (the strategies charge them).

``exit_date_<h>`` is session ``t+h``; ``known_date`` the last exit: rows are stored in the partition
of ``known_date``, so no partition holds a label before every target of the row is known.
Missing surfaces or prices on the path give NaN targets; entries whose last exit is beyond the
data are not labelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from quant_assets.calendars import sessions_in_range
from quant_assets.options.black_scholes import bs_greeks, bs_price
from quant_assets.options.surfaces.config import DAYS_PER_YEAR
from quant_assets.options.vol_features import surface_vols

__all__ = ["VolLabelConfig", "build_vol_labels", "vol_label_columns"]


@dataclass(frozen=True)
class VolLabelConfig:
    """Horizons (sessions) and straddle maturity (the profile's ``vol_forecast.labels`` block)."""

    horizons: tuple[int, ...] = (5, 21)
    tenor_days: int = 30

    def __post_init__(self) -> None:
        h = tuple(sorted(int(x) for x in self.horizons))
        if not h or h[0] < 1:
            raise ValueError(f"horizons must be positive session counts, got {self.horizons}")
        object.__setattr__(self, "horizons", h)

    @property
    def span(self) -> int:
        return self.horizons[-1]


def vol_label_columns(config: VolLabelConfig | None = None) -> list[str]:
    """Columns of :func:`build_vol_labels` (in order)."""
    cfg = config or VolLabelConfig()
    cols = ["entry_date", "underlier", "atm_iv"]
    for h in cfg.horizons:
        cols += [f"iv_change_{h}", f"rvrp_{h}", f"straddle_pnl_bps_{h}", f"exit_date_{h}"]
    return [*cols, "known_date"]


def _wide(df: pd.DataFrame, col: str, index: pd.DatetimeIndex, names: Sequence[str], key: str) -> np.ndarray:
    if df.empty or col not in df.columns:
        return np.full((len(index), len(names)), np.nan)
    w = df.pivot_table(index="date", columns=key, values=col, aggfunc="last")
    w.index = pd.DatetimeIndex(w.index)
    return w.reindex(index=index, columns=list(names)).to_numpy(float)


def _straddle_paths(
    slices: pd.DataFrame, entry_pos: np.ndarray, cal: pd.DatetimeIndex, names, close, split, atm_fwd, cfg
) -> np.ndarray:
    """``(n_entries, n_names, span + 1)`` cumulative delta-hedged PnL in bps of premium."""
    n_e, n_u, steps = len(entry_pos), len(names), cfg.span + 1
    j = np.arange(steps)
    pos = entry_pos[:, None, None] + j[None, None, :]  # calendar position of each step
    pos = np.broadcast_to(pos, (n_e, n_u, steps))
    dates = cal[pos.ravel()]
    entry_dates = cal[entry_pos]
    expiry = entry_dates + pd.Timedelta(days=cfg.tenor_days)
    tau = (np.repeat(expiry.values, n_u * steps) - dates.values) / np.timedelta64(1, "D") / DAYS_PER_YEAR
    # Entry-share units: a split of ratio R after entry multiplies the share count by R.
    fac = np.nan_to_num(split, nan=1.0)
    e0 = entry_pos
    cum = np.cumprod(fac, axis=0)
    spot_raw = close[pos, np.arange(n_u)[None, :, None]]
    factor = cum[pos, np.arange(n_u)[None, :, None]] / cum[e0][:, :, None]
    spot = spot_raw * factor
    strike = np.repeat(atm_fwd.ravel(), steps).reshape(n_e, n_u, steps)
    q = pd.DataFrame(
        {
            "date": dates,
            "underlier": np.tile(np.repeat(np.asarray(names, dtype=object), steps), n_e),
            "t_years": np.maximum(tau, 1e-9),
            "strike": (strike / factor).ravel(),
        }
    )
    sv = surface_vols(slices, q)
    shape = (n_e, n_u, steps)
    fwd, rate, vol = (sv[c].to_numpy(float).reshape(shape) for c in ("forward", "rate", "vol"))
    tau = tau.reshape(shape)
    live = tau > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        div = rate - np.log(fwd / spot_raw) / np.where(live, tau, 1.0)
        k_raw = strike / factor
        price = factor * (
            np.asarray(bs_price(spot_raw, k_raw, tau, rate, div, vol, True), float)
            + np.asarray(bs_price(spot_raw, k_raw, tau, rate, div, vol, False), float)
        )
        delta = np.asarray(bs_greeks(spot_raw, k_raw, tau, rate, div, vol, True).delta, float) + np.asarray(
            bs_greeks(spot_raw, k_raw, tau, rate, div, vol, False).delta, float
        )
    payoff = np.abs(spot - strike)
    # Settled at the first close on or after expiry; frozen afterwards.
    expired = ~live
    first_dead = np.where(expired.any(axis=2), expired.argmax(axis=2), steps)
    settle = np.take_along_axis(payoff, np.minimum(first_dead, steps - 1)[..., None], axis=2)
    value = np.where(expired, settle, price)
    delta = np.where(expired, 0.0, delta)
    dt = np.diff(dates.values.reshape(shape), axis=2) / np.timedelta64(1, "D") / DAYS_PER_YEAR
    hedge = -delta[..., :-1] * np.diff(spot, axis=2)
    carry = np.where(live[..., :-1], rate[..., :-1] * (delta[..., :-1] * spot[..., :-1] - value[..., :-1]) * dt, 0.0)
    pnl = np.concatenate(
        [np.zeros((n_e, n_u, 1)), np.cumsum(hedge + carry, axis=2) + value[..., 1:] - value[..., :1]], axis=2
    )
    return 1e4 * pnl / value[..., :1]


def build_vol_labels(
    summary: pd.DataFrame,
    slices: pd.DataFrame,
    prices: pd.DataFrame,
    entries: Sequence,
    config: VolLabelConfig | None = None,
    underliers: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Labels (:func:`vol_label_columns`) of every entry session in ``entries`` and underlier.

    Parameters
    ----------
    summary : DataFrame
        :func:`~quant_assets.options.vol_features.surface_summary` rows through the last exit.
    slices : DataFrame
        ``vol_surfaces`` rows of the entries and the sessions after them.
    prices : DataFrame
        ``date, symbol, close`` and ``split_ratio``, ``ret_price`` (``adjusted_prices``).
    entries : sequence of date-like
        Entry sessions; an entry is labelled only when its last exit is a session of the data
        (the latest session of ``summary`` or ``prices``).
    """
    cfg = config or VolLabelConfig()
    cols = vol_label_columns(cfg)
    names = sorted(underliers if underliers is not None else summary["underlier"].unique())
    entries = pd.DatetimeIndex(pd.to_datetime(list(entries))).sort_values()
    if not len(entries) or not names or summary.empty:
        return _empty(cols)
    last = min(pd.to_datetime(summary["date"]).max(), pd.to_datetime(prices["date"]).max())
    cal = sessions_in_range(entries[0], entries[-1] + pd.Timedelta(days=2 * cfg.span + 10))
    entry_pos = cal.searchsorted(entries)
    keep = cal[entry_pos + cfg.span] <= last
    entries, entry_pos = entries[keep], entry_pos[keep]
    if not len(entries):
        return _empty(cols)
    cal = cal[: entry_pos[-1] + cfg.span + 1]
    px = prices[prices["symbol"].isin(names)]
    close = _wide(px, "close", cal, names, "symbol")
    split = _wide(px, "split_ratio", cal, names, "symbol")
    ret = _wide(px, "ret_price", cal, names, "symbol") if "ret_price" in px.columns else np.full_like(close, np.nan)
    if "ret_price" not in px.columns:
        ret[1:] = close[1:] / close[:-1] - 1.0
    logret2 = np.log1p(ret) ** 2
    iv = _wide(summary, "atm_iv", cal, names, "underlier")
    tenor = cfg.tenor_days / DAYS_PER_YEAR
    grid = pd.DataFrame(
        {
            "date": np.repeat(cal[entry_pos].values, len(names)),
            "underlier": np.tile(np.asarray(names, dtype=object), len(entries)),
            "t_years": tenor,
            "strike": 1.0,
        }
    )
    atm_fwd = surface_vols(slices, grid)["forward"].to_numpy(float).reshape(len(entries), len(names))
    pnl = _straddle_paths(slices, entry_pos, cal, names, close, split, atm_fwd, cfg)
    n_e, n_u = len(entries), len(names)
    out = {
        "entry_date": np.repeat(entries.values, n_u),
        "underlier": np.tile(np.asarray(names, dtype=object), n_e),
        "atm_iv": iv[entry_pos].ravel(),
    }
    csum = np.vstack([np.zeros((1, n_u)), np.cumsum(np.nan_to_num(logret2), axis=0)])
    holes = np.vstack([np.zeros((1, n_u)), np.cumsum(np.isnan(logret2), axis=0)])
    for h in cfg.horizons:
        out[f"iv_change_{h}"] = (100.0 * (iv[entry_pos + h] - iv[entry_pos])).ravel()
        realized = (csum[entry_pos + h + 1] - csum[entry_pos + 1]) * 252.0 / h
        gaps = holes[entry_pos + h + 1] - holes[entry_pos + 1]
        out[f"rvrp_{h}"] = np.where(gaps == 0, iv[entry_pos] ** 2 - realized, np.nan).ravel()
        out[f"straddle_pnl_bps_{h}"] = pnl[:, :, h].ravel()
        out[f"exit_date_{h}"] = np.repeat(cal[entry_pos + h].values, n_u)
    out["known_date"] = out[f"exit_date_{cfg.span}"]
    frame = pd.DataFrame(out)[cols]
    return frame[np.isfinite(frame["atm_iv"].to_numpy(float))].reset_index(drop=True)


def _empty(cols: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            c: pd.Series([], dtype="datetime64[ns]" if "date" in c else object if c == "underlier" else float)
            for c in cols
        }
    )
