"""``build``: daily scores to target weights under fractional Kelly, volatility targets and hard caps."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from quant_assets.portfolio.caps import CapLog, LevelCaps, limit_trades
from quant_assets.portfolio.config import RiskConfig
from quant_assets.portfolio.rebalance import partial_rebalance
from quant_assets.portfolio.risk import conservative_edge, ex_ante_vol, shrunk_covariance

__all__ = ["REQUIRED_COLUMNS", "build"]

REQUIRED_COLUMNS = ("symbol", "expected_excess_return", "confidence")


def _scores_frame(scores_df: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(scores_df, pd.DataFrame):
        raise TypeError(f"scores_df must be a DataFrame, got {type(scores_df).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in scores_df]
    if missing:
        raise ValueError(f"scores_df is missing columns {missing} (has {list(scores_df.columns)})")
    for col in ("date", "asof"):
        if col in scores_df and scores_df[col].nunique() > 1:
            n_dates = scores_df[col].nunique()
            raise ValueError(f"scores_df holds {n_dates} values of {col!r}; build one session at a time")
    df = scores_df.drop_duplicates("symbol", keep="last").copy()
    df["symbol"] = df["symbol"].astype(str)
    df = df.sort_values("symbol", kind="stable").set_index("symbol", drop=False)
    mu = df["expected_excess_return"].to_numpy(np.float64)
    if not np.isfinite(mu).all():
        raise ValueError("scores_df.expected_excess_return must be finite")
    return df


def _column(df: pd.DataFrame, name: str, default) -> np.ndarray:
    return df[name].to_numpy() if name in df else np.full(len(df), default)


def build(
    scores_df: pd.DataFrame,
    risk_cfg: RiskConfig | Mapping | None = None,
    *,
    returns: pd.DataFrame | None = None,
    current_weights: pd.Series | Mapping | None = None,
    other_weights: pd.Series | Mapping | None = None,
) -> dict:
    r"""Target weights of one session from its scores.

    1. **Edge.** Expected excess returns shrunk by forecast uncertainty, net of borrow fees for
       shorts and haircut when borrow is unknown
       (:func:`~quant_assets.portfolio.risk.conservative_edge`); per session ``e / h``.
    2. **Risk.** Daily covariance by Ledoit–Wolf shrinkage of ``returns``
       (:func:`~quant_assets.portfolio.risk.shrunk_covariance`), or diagonal from a
       ``daily_vol`` column when no history is given.
    3. **Fractional Kelly.** Full Kelly for log utility with Gaussian returns is
       ``w* = Σ^{-1} e`` (Merton 1969; Thorp 2006, "The Kelly criterion in blackjack, sports
       betting and the stock market", *Handbook of Asset and Liability Management* 1, §7); the
       sleeve holds ``f w*`` with ``f = min(kelly_fraction, target_vol / vol(w*))``: the
       volatility target caps the Kelly size, never raises it (sleeve-level vol targeting).
    4. **Level caps.** No new shorts in hard-to-borrow names, single name, sector net, net,
       gross and the book-level volatility ceiling
       (:class:`~quant_assets.portfolio.caps.LevelCaps`).
    5. **Turnover-aware step.** Trade ``trade_rate`` of the way from the current weights toward
       the capped target (the aim portfolio) and skip names within ``no_trade_band``
       (:func:`~quant_assets.portfolio.rebalance.partial_rebalance`, Gârleanu and Pedersen 2013).
    6. **Trade caps.** Participation (``|Δw_i| B <= p ADV$_i``; a name without ``adv_dollar``
       is not traded) and turnover (:func:`~quant_assets.portfolio.caps.limit_trades`).

    Parameters
    ----------
    scores_df : DataFrame
        One session: ``symbol``, ``expected_excess_return`` (over ``horizon_days``, fraction),
        ``confidence`` (in [0, 1]); optional ``forecast_std``, ``sector`` (names without one are
        outside the sector caps), ``htb`` (bool),
        ``borrow_fee_bps`` (NaN = unknown), ``adv_dollar``, ``daily_vol``.
    risk_cfg : RiskConfig or mapping, optional
        Targets and caps (:class:`~quant_assets.portfolio.config.RiskConfig`).
    returns : DataFrame, optional
        Sessions x symbols daily returns up to the session before (for the covariance).
    current_weights, other_weights : Series or mapping, optional
        This sleeve's weights now (default 0) and the other sleeves' weights (for the book
        volatility ceiling), by symbol.

    Returns
    -------
    dict
        ``target_weights`` (Series by symbol), ``ex_ante_vol_ann`` (sleeve),
        ``book_ex_ante_vol_ann``, ``kelly_fraction`` (used), ``kelly_fraction_config``,
        ``kelly_ex_ante_vol_ann`` (full Kelly), ``constraints_applied`` (DataFrame: symbol,
        bound, weight_before, weight_after, change), ``edge`` (Series), ``gross``, ``net``,
        ``turnover``, ``risk_cfg`` (dict).

    Examples
    --------
    >>> s = pd.DataFrame({"symbol": ["A", "B"], "expected_excess_return": [0.01, -0.01],
    ...                   "confidence": [1.0, 1.0], "daily_vol": [0.02, 0.02], "adv_dollar": [1e9, 1e9]})
    >>> out = build(s, {"net_cap": 0.0})
    >>> out["target_weights"].round(4).tolist(), round(out["ex_ante_vol_ann"], 3)
    ([0.05, -0.05], 0.022)
    """
    cfg = RiskConfig.coerce(risk_cfg)
    df = _scores_frame(scores_df)
    symbols = pd.Index(df["symbol"])
    n = len(symbols)
    if returns is not None:
        cov = shrunk_covariance(returns, symbols)
    elif "daily_vol" in df:
        vol = df["daily_vol"].to_numpy(np.float64)
        if not (np.isfinite(vol) & (vol > 0)).all():
            raise ValueError("scores_df.daily_vol must be finite and > 0 when no returns history is given")
        cov = np.diag(vol**2)
    else:
        raise ValueError("give a returns history or a daily_vol column in scores_df")

    edge = conservative_edge(df, cfg)
    e_daily = edge.to_numpy() / cfg.horizon_days
    full = np.linalg.solve(cov, e_daily) if n else np.zeros(0)
    vol_full = ex_ante_vol(full, cov, cfg.periods_per_year)
    f_used = min(cfg.kelly_fraction, cfg.target_vol_ann / vol_full) if vol_full > 0 else cfg.kelly_fraction
    w = f_used * full

    current = _aligned(current_weights, symbols)
    other = _aligned(other_weights, symbols)
    htb = _column(df, "htb", False).astype(bool)
    lower = np.where(htb, np.minimum(current, 0.0), -np.inf)
    sectors = _column(df, "sector", None).astype(object)
    caps = LevelCaps(cfg, sectors, lower, cov, other)
    log = CapLog(symbols)
    target = caps.apply(w, log)

    if cfg.trade_rate < 1 or cfg.no_trade_band > 0:
        target = partial_rebalance(target, current, cfg.trade_rate, cfg.no_trade_band, log)
    adv = _column(df, "adv_dollar", np.nan).astype(np.float64)
    max_trade = np.where(np.isfinite(adv) & (adv > 0), cfg.max_participation * adv / cfg.book_size, 0.0)
    final = limit_trades(target, current, max_trade, cfg.turnover_cap, caps.feasible, log)
    return {
        "target_weights": pd.Series(final, index=symbols, name="target_w"),
        "ex_ante_vol_ann": ex_ante_vol(final, cov, cfg.periods_per_year),
        "book_ex_ante_vol_ann": caps.book_vol(final),
        "kelly_fraction": float(f_used),
        "kelly_fraction_config": float(cfg.kelly_fraction),
        "kelly_ex_ante_vol_ann": vol_full,
        "constraints_applied": log.frame(),
        "edge": edge.set_axis(symbols),
        "gross": float(np.abs(final).sum()),
        "net": float(final.sum()),
        "turnover": float(np.abs(final - current).sum()),
        "risk_cfg": cfg.to_dict(),
    }


def _aligned(weights: pd.Series | Mapping | None, symbols: pd.Index) -> np.ndarray:
    if weights is None:
        return np.zeros(len(symbols))
    s = pd.Series(weights, dtype=np.float64)
    s.index = s.index.astype(str)
    return s.reindex(symbols).fillna(0.0).to_numpy(np.float64)
