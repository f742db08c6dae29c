"""Measured properties of a market's feeds: planted-edge strength and stylized facts.

Everything here is computed from what a researcher sees (bars, corporate actions, reference
snapshots, delistings), except the planted signals, which are read from the oracle (they are
reproducible from the feeds). The figures are compared with published magnitudes:

* monthly rank IC of a single equity signal about 0.02-0.05 (Grinold & Kahn 2000, ch. 6;
  Qian, Hua & Sorensen 2007);
* stylized facts of Cont (2001), "Empirical properties of asset returns: stylized facts and
  statistical issues", Quantitative Finance 1: gain/loss asymmetry (negative skew), the
  leverage effect (returns negatively correlated with future volatility), slow decay of the
  autocorrelation of absolute returns (long memory of volatility), volume/volatility
  correlation;
* persistence of detrended log turnover (Lo & Wang 2000, "Trading volume: definitions, data
  analysis, and implications of portfolio theory");
* average pairwise correlation of large US stocks near 0.3 (Pollet & Wilson 2010).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MONTH", "market_properties", "monthly_rank_ic", "total_log_returns"]

MONTH = 21  # sessions per month


def _all(mkt, feed: str) -> pd.DataFrame:
    return getattr(mkt, feed)(mkt.config.start, mkt.config.end)


def total_log_returns(bars: pd.DataFrame, corporate_actions: pd.DataFrame) -> pd.DataFrame:
    """Wide (date x symbol) observed total log returns ``ln((C_t ratio_t + D_t) / C_{t-1})``."""
    close = bars.pivot(index="date", columns="symbol", values="close")
    ratio, div = np.ones(close.shape), np.zeros(close.shape)
    ca = corporate_actions[
        corporate_actions["ex_date"].isin(close.index) & corporate_actions["symbol"].isin(close.columns)
    ]
    r_i = close.index.get_indexer(ca["ex_date"])
    c_i = close.columns.get_indexer(ca["symbol"])
    split = (ca["event_type"] == "split").to_numpy()
    ratio[r_i[split], c_i[split]] = ca["ratio"].to_numpy()[split]
    div[r_i[~split], c_i[~split]] = ca["amount"].to_numpy()[~split]
    return np.log((close * ratio + div) / close.shift())


def _row_rank_corr(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 10:
        return np.nan
    ra = pd.Series(a[ok]).rank().to_numpy()
    rb = pd.Series(b[ok]).rank().to_numpy()
    return float(np.corrcoef(ra, rb)[0, 1])


def monthly_rank_ic(signal: pd.DataFrame, ret: pd.DataFrame, horizon: int = MONTH) -> pd.Series:
    """Spearman IC of ``signal`` at every ``horizon``-th session with the next ``horizon``
    sessions' summed log return (non-overlapping months).

    Zero signals (the oracle's "not available") are treated as missing.
    """
    sig, r = signal.align(ret, join="inner")
    fwd = r.fillna(0.0).rolling(horizon).sum().shift(-horizon).where(r.shift(-horizon).notna())
    s = sig.where(sig != 0.0).to_numpy()
    f = fwd.to_numpy()
    rows = np.arange(252, len(sig) - horizon, horizon)
    return pd.Series([_row_rank_corr(s[t], f[t]) for t in rows], index=sig.index[rows]).dropna()


def _quintile_long_short_sharpe(signal: pd.DataFrame, ret: pd.DataFrame) -> float:
    sig, r = signal.align(ret, join="inner")
    fwd = np.expm1(r.fillna(0.0).rolling(MONTH).sum().shift(-MONTH)).to_numpy()
    s = sig.where(sig != 0.0).to_numpy()
    out = []
    for t in range(252, len(sig) - MONTH, MONTH):
        ok = np.isfinite(s[t]) & np.isfinite(fwd[t])
        if ok.sum() < 25:
            continue
        x, y = s[t][ok], fwd[t][ok]
        lo, hi = np.quantile(x, [0.2, 0.8])
        out.append(y[x >= hi].mean() - y[x <= lo].mean())
    out = np.asarray(out)
    return float(out.mean() / out.std() * np.sqrt(12)) if len(out) > 2 else np.nan


def _acf(x: np.ndarray, lag: int) -> float:
    x = x[np.isfinite(x)]
    if len(x) <= lag + 10:
        return np.nan
    x = x - x.mean()
    return float((x[:-lag] * x[lag:]).sum() / (x * x).sum())


def _detrend(y: np.ndarray) -> np.ndarray:
    ok = np.isfinite(y)
    t = np.arange(len(y))
    out = np.full(len(y), np.nan)
    if ok.sum() > 10:
        coef = np.polyfit(t[ok], y[ok], 1)
        out[ok] = y[ok] - np.polyval(coef, t[ok])
    return out


def market_properties(mkt, *, n_large: int = 200) -> dict[str, Any]:
    """Headline properties of a generated market (see the module docstring for references).

    Returns a flat dict: per-signal monthly rank IC (mean and share of positive months), the
    gross Sharpe of a quintile momentum long/short, return skew, index leverage correlation,
    autocorrelation of absolute returns, mean pairwise correlation, turnover persistence and
    its link to absolute returns, split rates, listing balance, borrow-status predictiveness
    of bankruptcy and the price-size relation.
    """
    bars = _all(mkt, "bars")
    ca = _all(mkt, "corporate_actions")
    ret = total_log_returns(bars, ca)
    r = ret.clip(-0.5, 0.5)
    oracle = _all(mkt, "oracle")
    out: dict[str, Any] = {}

    for col in ("momentum_signal", "value_signal", "reversal_signal", "expected_return"):
        ic = monthly_rank_ic(oracle.pivot(index="date", columns="symbol", values=col), ret)
        key = col.replace("_signal", "")
        out[f"ic_{key}"] = float(ic.mean())
        out[f"ic_{key}_positive"] = float((ic > 0).mean())
    mom = oracle.pivot(index="date", columns="symbol", values="momentum_signal")
    out["momentum_ls_sharpe"] = _quintile_long_short_sharpe(mom, ret)

    counts = r.notna().sum()
    long_lived = counts.index[counts >= min(500, int(0.8 * len(r)))]
    rl = r[long_lived]
    skew = rl.skew()
    out["share_negative_skew"] = float((skew < 0).mean())
    out["median_skew"] = float(skew.median())

    index = r.mean(axis=1).dropna().to_numpy()
    a_idx = np.abs(index - index.mean())
    out["index_leverage_corr"] = float(np.mean([np.corrcoef(index[:-k], a_idx[k:])[0, 1] for k in range(1, 11)]))
    out["index_abs_acf_100"] = _acf(a_idx, 100)
    abs_r = np.abs(rl - rl.mean()).to_numpy()
    out["abs_acf_1"] = float(np.nanmean([_acf(abs_r[:, j], 1) for j in range(abs_r.shape[1])]))
    out["abs_acf_100"] = float(np.nanmean([_acf(abs_r[:, j], 100) for j in range(abs_r.shape[1])]))

    full = r.columns[r.notna().mean() > 0.98]
    sym = _all(mkt, "symbols")
    cap = (
        sym["shares_outstanding"]
        * bars.set_index(["date", "symbol"])["close"]
        .reindex(pd.MultiIndex.from_frame(sym[["date", "symbol"]]))
        .to_numpy()
    )
    mean_cap = pd.Series(cap, index=sym["symbol"].to_numpy()).groupby(level=0).mean()
    large = mean_cap.reindex(full).sort_values(ascending=False).index[:n_large]
    c = np.corrcoef(r[large].fillna(0.0).to_numpy().T)
    out["mean_pairwise_corr"] = float(c[np.triu_indices_from(c, 1)].mean())

    vol = bars.pivot(index="date", columns="symbol", values="volume").reindex(columns=rl.columns)
    shares = sym.pivot(index="date", columns="symbol", values="shares_outstanding")
    turn = np.log((vol / shares.reindex(columns=rl.columns)).where(vol > 0))
    acf1, link = [], []
    for j, s in enumerate(rl.columns):
        d = _detrend(turn[s].to_numpy())
        acf1.append(_acf(d, 1))
        ok = np.isfinite(d) & np.isfinite(abs_r[:, j])
        if ok.sum() > 100:
            link.append(np.corrcoef(d[ok], abs_r[ok, j])[0, 1])
    out["turnover_acf_1"] = float(np.nanmean(acf1))
    out["turnover_abs_return_corr"] = float(np.nanmean(link))

    live = ret.notna() | bars.pivot(index="date", columns="symbol", values="close").notna()
    name_years = live.to_numpy().sum() / 252.0
    sp = ca[ca["event_type"] == "split"]
    out["forward_splits_per_name_year"] = float((sp["ratio"] > 1).sum() / name_years)
    out["reverse_splits_per_name_year"] = float((sp["ratio"] < 1).sum() / name_years)
    n_live = live.sum(axis=1)
    yearly = n_live.groupby(n_live.index.year).mean()
    out["live_count_first"] = float(n_live.iloc[0])
    out["live_count_last"] = float(n_live.iloc[-1])
    out["live_count_min_over_max_yearly"] = float(yearly.min() / yearly.max())

    out.update(_borrow_properties(sym, _all(mkt, "delistings"), mkt.sessions))

    close = bars.pivot(index="date", columns="symbol", values="close")
    mid = close.index[len(close) // 2]
    mcap = (close.loc[mid] * shares.loc[mid].reindex(close.columns)).dropna()
    out["price_size_rank_corr"] = float(
        pd.Series(np.log(close.loc[mid, mcap.index])).corr(np.log(mcap), method="spearman")
    )
    und = mkt.option_oracle(mkt.config.start, mkt.config.end)
    if len(und):
        out["underlier_min_price"] = float(und["spot"].min())
        out["underlier_share_below_20"] = float((und["spot"] < 20).mean())
    return out


def _borrow_properties(
    sym: pd.DataFrame, delistings: pd.DataFrame, sessions: pd.DatetimeIndex, horizon: int = 120
) -> dict[str, float]:
    """Hard-to-borrow switch-ons (False -> True inside a name's listed life) and the share of
    them followed by a bankruptcy delisting within ``horizon`` sessions."""
    s = sym.sort_values(["symbol", "date"])
    prev = s.groupby("symbol")["htb"].shift()
    on = s[(s["htb"]) & (prev == False)]  # noqa: E712 (NaN on a first row is not a switch)
    bank = delistings[delistings["reason"] == "bankruptcy"].set_index("symbol")["delist_date"]
    pos = sessions.get_indexer(on["date"])
    d_end = bank.reindex(on["symbol"]).to_numpy()
    end_pos = np.where(pd.isna(d_end), -1, sessions.get_indexer(pd.DatetimeIndex(d_end)))
    hit = (end_pos >= pos) & (end_pos - pos <= horizon)
    n_bank = len(bank)
    caught = len(set(on.loc[hit, "symbol"]))
    return {
        "htb_share": float(s["htb"].mean()),
        "htb_switch_ons": float(len(on)),
        "p_bankrupt_within_120_given_htb_on": float(hit.mean()) if len(on) else np.nan,
        "share_bankruptcies_preceded_by_htb_on": caught / n_bank if n_bank else np.nan,
    }
