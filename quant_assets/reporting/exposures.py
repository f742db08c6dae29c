r"""Factor exposures of a book: market beta from trailing returns, style z-exposures from the features.

Per name, ``factor_market_beta`` is the OLS beta of its daily total returns on the
equal-weighted mean return of the names in the window, ``β_i = cov(r_i, r_m) / var(r_m)``
(Sharpe 1964; at least :data:`MIN_BETA_OBS` joint observations, else NaN); ``factor_<style>`` is
the name's cross-sectional z-score of the style's feature (:data:`STYLE_FEATURES`: momentum
12-1, book-to-price for value, 60-session dollar volume as the size proxy; Fama and French 1993,
Carhart 1997). The book's exposure to a factor is ``sum_i w_i x_i`` over the names with a value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["MIN_BETA_OBS", "STYLE_FEATURES", "book_exposures", "factor_exposures"]

STYLE_FEATURES = {"momentum": "feature_mom_12_1", "value": "feature_bp", "size": "feature_dvol_60"}
"""Style factor -> the equity feature (a winsorized cross-sectional z-score) that measures it."""
MIN_BETA_OBS = 20


def factor_exposures(symbols, features: pd.DataFrame | None, returns: pd.DataFrame | None) -> pd.DataFrame:
    """``factor_market_beta`` and ``factor_<style>`` by symbol (index), NaN where unknown.

    Parameters
    ----------
    symbols : sequence of str
    features : DataFrame, optional
        One session's features: ``symbol`` and the ``feature_*`` columns.
    returns : DataFrame, optional
        Sessions x symbols daily total returns before the session.
    """
    idx = pd.Index([str(s) for s in symbols], name="symbol")
    out = pd.DataFrame(index=idx)
    beta = pd.Series(np.nan, index=idx)
    if returns is not None and len(returns) >= MIN_BETA_OBS:
        r = returns.astype(float)
        r.columns = r.columns.astype(str)
        beta = r.apply(_beta, market=r.mean(axis=1)).reindex(idx)
    out["factor_market_beta"] = beta.to_numpy(float)
    f = None
    if features is not None and len(features):
        f = features.assign(symbol=features["symbol"].astype(str)).drop_duplicates("symbol", keep="last")
        f = f.set_index("symbol").reindex(idx)
    for style, col in STYLE_FEATURES.items():
        out[f"factor_{style}"] = f[col].to_numpy(float) if f is not None and col in f else np.nan
    return out


def _beta(r: pd.Series, market: pd.Series) -> float:
    ok = r.notna() & market.notna()
    if ok.sum() < MIN_BETA_OBS:
        return np.nan
    var = float(market[ok].var())
    return float(r[ok].cov(market[ok]) / var) if var > 0 else np.nan


def book_exposures(weights: pd.Series, exposures: pd.DataFrame) -> dict[str, float]:
    """``sum_i w_i x_i`` for each ``factor_*`` column (names without a value left out); NaN if none has one."""
    w = weights.astype(float)
    out = {}
    for col in [c for c in exposures.columns if str(c).startswith("factor_")]:
        x = exposures[col].reindex(w.index).astype(float)
        known = x.notna()
        out[col.removeprefix("factor_")] = float((w[known] * x[known]).sum()) if known.any() else float("nan")
    return out
