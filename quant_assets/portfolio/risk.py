"""Risk inputs of the builder: Ledoit–Wolf covariance, conservative edges, ex-ante volatility."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.covariance import LedoitWolf

from quant_assets.portfolio.config import RiskConfig

__all__ = ["MIN_OBS", "conservative_edge", "ex_ante_vol", "shrunk_covariance"]

MIN_OBS = 20
"""Fewest return observations a name needs to enter the estimated covariance; names with fewer
get the median variance and no correlation."""


def shrunk_covariance(returns: pd.DataFrame, symbols: pd.Index) -> NDArray[np.float64]:
    """Daily covariance of ``symbols`` by Ledoit and Wolf (2004) shrinkage.

    Ledoit, O. and Wolf, M. (2004), "A well-conditioned estimator for large-dimensional
    covariance matrices", *J. Multivariate Anal.* 88(2), 365-411 (scikit-learn's
    :class:`~sklearn.covariance.LedoitWolf`). Each column is demeaned over its own
    observations and missing returns are set to that mean (zero after demeaning); names with
    fewer than :data:`MIN_OBS` observations get the median variance and zero correlation.

    Parameters
    ----------
    returns : DataFrame
        Sessions x symbols of daily returns (fractions), NaN where missing.
    symbols : Index
        Names, in the order of the result.
    """
    x = returns.reindex(columns=symbols).astype(np.float64)
    n_obs = x.notna().sum().to_numpy()
    centred = (x - x.mean()).fillna(0.0).to_numpy()
    if centred.shape[0] < 2:
        raise ValueError(f"returns has {centred.shape[0]} rows; the covariance needs at least 2")
    cov = LedoitWolf().fit(centred).covariance_
    thin = n_obs < MIN_OBS
    if thin.any():
        good = np.diag(cov)[~thin]
        fill = float(np.median(good)) if good.size else 0.02**2
        cov[thin, :] = 0.0
        cov[:, thin] = 0.0
        cov[thin, thin] = fill
    return cov


def conservative_edge(scores: pd.DataFrame, cfg: RiskConfig) -> pd.Series:
    r"""Expected excess return over the horizon, shrunk by forecast uncertainty and borrow.

    ``e_i = μ_i s_i`` with the shrink ``s_i = μ_i^2 / (μ_i^2 + σ_{f,i}^2)`` when a
    ``forecast_std`` column gives the forecast's standard error (a signal-to-noise weight,
    Grinold and Kahn 2000, *Active Portfolio Management*, ch. 14), else ``s_i`` = ``confidence``
    in [0, 1]. For a negative edge (a short): the borrow fee over the horizon,
    ``fee_bps 1e-4 h / days_per_year`` (``h`` in sessions, a conservative calendar count), is
    paid out of it, and when the fee is unknown (NaN) the edge is haircut by
    ``short_haircut_unknown_borrow``; a short never turns into a long by these charges.
    """
    mu = scores["expected_excess_return"].to_numpy(np.float64)
    if "forecast_std" in scores:
        sd = scores["forecast_std"].to_numpy(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            shrink = np.where(mu**2 + sd**2 > 0, mu**2 / (mu**2 + sd**2), 0.0)
    else:
        shrink = np.clip(scores["confidence"].to_numpy(np.float64), 0.0, 1.0)
    edge = mu * shrink
    fee = scores["borrow_fee_bps"].to_numpy(np.float64) if "borrow_fee_bps" in scores else np.full(mu.size, np.nan)
    short = edge < 0
    known = np.isfinite(fee)
    carry = np.where(known, fee, 0.0) * 1e-4 * cfg.horizon_days / cfg.borrow_days_per_year
    edge = np.where(short & known, np.minimum(edge + carry, 0.0), edge)
    edge = np.where(short & ~known, edge * (1.0 - cfg.short_haircut_unknown_borrow), edge)
    return pd.Series(edge, index=scores.index, name="edge")


def ex_ante_vol(weights: NDArray[np.float64], cov: NDArray[np.float64], periods_per_year: int) -> float:
    """Annualized ex-ante volatility ``sqrt(w' Σ w · periods_per_year)``."""
    return float(np.sqrt(max(float(weights @ cov @ weights), 0.0) * periods_per_year))
