"""Go/No-Go figures of an options sleeve: Sharpe, max drawdown, DSR, PBO and net vega within policy.

The vol sleeve is judged on its delta-hedged PnL, the spread sleeve on its total PnL, both net
of costs, as daily returns on the policy's book. DSR (Bailey and López de Prado 2014) deflates
the sleeve's per-session Sharpe by the expected maximum Sharpe of the trials (the policy
variants of :func:`trial_grid`, each backtested); PBO (Bailey et al. 2017) is the CSCV
probability over the same trials. The research gate
(:func:`quant_assets.models.evaluate_gate`) then decides, with one more condition: the largest
daily ``|net vega|`` stays within the policy's vega cap.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import stats

from quant_assets.backtest.metrics import drawdown
from quant_assets.models.gate import GateConfig, evaluate_gate
from quant_assets.options.strategies.policy import StrategyPolicy
from quant_assets.validation import deflated_sharpe_ratio, expected_max_sharpe, probability_of_backtest_overfitting

__all__ = ["sleeve_go_no_go", "trial_grid"]


def trial_grid(
    policy: StrategyPolicy, holds: tuple[int, ...] = (5, 10, 20), dtes: tuple[int, ...] = (30, 45)
) -> dict[str, StrategyPolicy]:
    """The policy and its variants (holding sessions x days to expiry) tried for DSR and PBO; the policy first."""
    out = {"policy": policy}
    for hold in holds:
        for dte in dtes:
            name = f"hold{hold}_dte{dte}"
            if hold != policy.holding_sessions or dte != policy.target_dte:
                out[name] = replace(policy, holding_sessions=hold, spread_horizon_sessions=hold, target_dte=dte)
    return out


def _blocks(n: int) -> int:
    return int(min(16, max(2, 2 * (n // 40))))


def sleeve_go_no_go(
    daily: pd.DataFrame, trials: pd.DataFrame, policy: StrategyPolicy, gate: GateConfig | None = None
) -> dict:
    """Figures and verdict of one sleeve.

    Parameters
    ----------
    daily : DataFrame
        The sleeve's rows of :attr:`OptionsBacktest.daily` (``date, net, net_vega``).
    trials : DataFrame
        Daily net PnL (USD) of every trial, one column each (the policy's included).
    """
    r = daily["net"].to_numpy(float) / policy.book_size
    n = r.size
    sd = float(r.std(ddof=1)) if n > 1 else 0.0
    sr = float(r.mean() / sd) if sd > 0 else 0.0
    nav = pd.Series(policy.book_size + np.r_[0.0, np.cumsum(daily["net"].to_numpy(float))])
    tr = trials.to_numpy(float) / policy.book_size
    tsd = tr.std(axis=0, ddof=1)
    trial_sr = np.where(tsd > 0, tr.mean(axis=0) / np.where(tsd > 0, tsd, 1.0), 0.0)
    n_trials = max(tr.shape[1], 1)
    var_trials = float(np.var(trial_sr, ddof=1)) if tr.shape[1] > 1 else 0.0
    sr0 = float(expected_max_sharpe(n_trials, var_trials))
    if n > 3 and sd > 0:
        dsr = float(
            deflated_sharpe_ratio(
                sr, n, float(stats.skew(r)), float(stats.kurtosis(r, fisher=False)), n_trials, var_trials
            )
        )
    else:
        dsr = math.nan
    pbo = math.nan
    if tr.shape[1] > 1 and n >= 8 and (tsd > 0).all():
        pbo = float(probability_of_backtest_overfitting(tr, n_blocks=_blocks(n)).pbo)
    max_vega = float(np.abs(daily["net_vega"].to_numpy(float)).max()) if n else 0.0
    figures = {
        "sharpe": sr * math.sqrt(252.0),
        "max_drawdown": abs(float(drawdown(nav).min())),
        "dsr": dsr,
        "pbo": pbo,
        "mean_daily_pnl": float(daily["net"].mean()) if n else 0.0,
        "t_stat": sr * math.sqrt(n) if n else 0.0,
        "max_net_vega": max_vega / policy.book_size,
        "vega_cap": policy.vega_cap,
        "n_trials": int(tr.shape[1]),
    }
    verdict = evaluate_gate(
        sharpe=figures["sharpe"],
        max_drawdown=figures["max_drawdown"],
        pbo=pbo if np.isfinite(pbo) else 1.0,
        sharpe_obs=sr,
        expected_max_sharpe_obs=sr0,
        dsr=dsr if np.isfinite(dsr) else 0.0,
        config=gate,
    )
    vega_ok = max_vega <= policy.vega_limit * (1 + 1e-9)
    reasons = list(verdict.reasons) + ([] if vega_ok else [f"net vega {figures['max_net_vega']:.3f} > cap"])
    return {
        **figures,
        "vega_within_policy": vega_ok,
        "passed": bool(verdict.passed and vega_ok),
        "reasons": "; ".join(reasons),
    }
