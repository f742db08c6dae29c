"""The backtest's stored equity curve, its headline numbers and the equities Go/No-Go figures.

No orchestration here: :func:`equity_frame` and :func:`scorecard` turn a
:class:`~quant_assets.backtest.BacktestResult` into the stored frame and the metrics of any
prefix of it (the blotter of session ``t`` shows the backtest through the close before ``t``);
:func:`go_no_go` applies the research gate to the backtest of the champion.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from quant_assets.backtest import EQUITY_COLUMNS, drawdown, summarize
from quant_assets.models import GateConfig, evaluate_gate
from quant_assets.validation import deflated_sharpe_ratio, expected_max_sharpe, probabilistic_sharpe_ratio

__all__ = [
    "ORDER_TOTALS",
    "curve_dsr",
    "equity_frame",
    "go_no_go",
    "go_no_go_markdown",
    "scorecard",
    "sharpe_trend",
    "trial_stats",
]

ORDER_TOTALS = ("requested_notional", "filled_notional", "modeled_impact")
"""Per-session sums of the order log kept beside the equity curve (modeled vs realized impact)."""


def equity_frame(equity: pd.DataFrame, orders: pd.DataFrame, start, initial_capital: float) -> pd.DataFrame:
    """The equity curve from ``start`` (the first decision) with drawdown and per-session order totals."""
    eq = equity[equity["date"] >= pd.Timestamp(start)].reset_index(drop=True)
    if len(orders):
        totals = orders.groupby("date")[list(ORDER_TOTALS)].sum()
    else:
        totals = pd.DataFrame(columns=list(ORDER_TOTALS), dtype=float)
    eq = eq.join(totals.reindex(eq["date"]).fillna(0.0).reset_index(drop=True))
    nav = pd.concat([pd.Series([initial_capital]), eq["nav"]], ignore_index=True)
    return eq.assign(drawdown=drawdown(nav).iloc[1:].to_numpy())


def scorecard(frame: pd.DataFrame, initial_capital: float, periods_per_year: int, through=None) -> dict:
    """:func:`~quant_assets.backtest.summarize` of the stored curve, through ``through`` if given."""
    eq = frame if through is None else frame[frame["date"] <= pd.Timestamp(through)]
    orders = eq.loc[:, list(ORDER_TOTALS)]
    return summarize(eq.loc[:, [c for c in EQUITY_COLUMNS if c in eq]], orders, initial_capital, periods_per_year)


def go_no_go(
    frame: pd.DataFrame,
    initial_capital: float,
    metrics: dict,
    selection: pd.DataFrame,
    trials: pd.DataFrame,
    gate: GateConfig,
    periods_per_year: int = 252,
) -> dict:
    """The equities Go/No-Go figures of the backtest, net of every cost, and the gate's verdict.

    Sharpe and maximum drawdown are the backtest's (annualized net Sharpe; drawdown as a positive
    fraction). PBO is the selection's (CSCV across its candidates, Bailey et al. 2017). The DSR
    (Bailey and López de Prado 2014) deflates the backtest's per-session Sharpe by the expected
    maximum of every logged trial, the trials' annualized Sharpes restated per session; without
    logged trials it is the PSR against zero.
    """
    r = _returns(frame, initial_capital)
    sd = float(r.std(ddof=1)) if r.size > 1 else 0.0
    sr = float(r.mean() / sd) if sd > 0 else 0.0
    n_trials, var_trials, n_logged = trial_stats(trials, periods_per_year)
    sr0 = float(expected_max_sharpe(n_trials, var_trials))
    dsr = curve_dsr(frame, initial_capital, trials, periods_per_year)
    pbo = float(selection["pbo"].iloc[0]) if len(selection) and pd.notna(selection["pbo"].iloc[0]) else math.nan
    figures = {
        "sharpe": float(metrics["net_sharpe"]),
        "max_drawdown": abs(float(metrics["max_drawdown"])),
        "pbo": pbo,
        "dsr": dsr,
        "sharpe_obs": sr,
        "expected_max_sharpe_obs": sr0,
        "n_trials": n_logged,
    }
    verdict = evaluate_gate(
        sharpe=figures["sharpe"],
        max_drawdown=figures["max_drawdown"],
        pbo=pbo,
        sharpe_obs=sr,
        expected_max_sharpe_obs=sr0,
        dsr=dsr,
        config=gate,
    )
    return {**figures, "passed": bool(verdict.passed), "reasons": "; ".join(verdict.reasons), "checks": verdict.checks}


def _returns(frame: pd.DataFrame, initial_capital: float) -> np.ndarray:
    nav = pd.concat([pd.Series([initial_capital]), frame["nav"]], ignore_index=True)
    return nav.pct_change().iloc[1:].to_numpy()


def trial_stats(trials: pd.DataFrame, periods_per_year: int = 252) -> tuple[int, float, int]:
    """``(N, V, logged)``: trials counted by the DSR (at least 1), variance of their per-session Sharpes, trials logged.

    The trials' annualized Sharpes (``sharpe_ann``) are restated per session.
    """
    sharpes = pd.to_numeric(trials.get("sharpe_ann", pd.Series(dtype=float)), errors="coerce").dropna()
    sharpes = sharpes.to_numpy() / math.sqrt(periods_per_year)
    var = float(np.var(sharpes, ddof=1)) if sharpes.size > 1 else 0.0
    return max(int(sharpes.size), 1), var, int(sharpes.size)


def curve_dsr(
    frame: pd.DataFrame, initial_capital: float, trials: pd.DataFrame | None = None, periods_per_year: int = 252
) -> float:
    """DSR of the curve's daily net returns against the logged trials (NaN with fewer than 4 sessions)."""
    r = _returns(frame, initial_capital)
    sd = float(r.std(ddof=1)) if r.size > 1 else 0.0
    if r.size <= 3 or sd <= 0:
        return math.nan
    n_trials, var_trials, _ = trial_stats(trials if trials is not None else pd.DataFrame(), periods_per_year)
    skew, kurt = float(stats.skew(r)), float(stats.kurtosis(r, fisher=False))
    return float(deflated_sharpe_ratio(float(r.mean() / sd), r.size, skew, kurt, n_trials, var_trials))


def sharpe_trend(
    frame: pd.DataFrame,
    initial_capital: float,
    trials: pd.DataFrame | None = None,
    periods_per_year: int = 252,
    min_obs: int = 20,
) -> pd.DataFrame:
    """PSR (true Sharpe > 0) and DSR of the curve through each session, from ``min_obs`` sessions on.

    Expanding windows of the daily net returns; the core
    :func:`~quant_assets.validation.probabilistic_sharpe_ratio` (Bailey and López de Prado 2012)
    and :func:`~quant_assets.validation.deflated_sharpe_ratio` (2014) against the logged trials
    (:func:`trial_stats`; none: the DSR is the PSR). Returns ``date, psr, dsr``.
    """
    r = _returns(frame, initial_capital)
    n_trials, var_trials, _ = trial_stats(trials if trials is not None else pd.DataFrame(), periods_per_year)
    rows = []
    for k in range(max(min_obs, 4), r.size + 1):
        x = r[:k]
        sd = float(x.std(ddof=1))
        if sd <= 0:
            continue
        sr, skew, kurt = float(x.mean() / sd), float(stats.skew(x)), float(stats.kurtosis(x, fisher=False))
        rows.append(
            (
                frame["date"].iloc[k - 1],
                float(probabilistic_sharpe_ratio(sr, k, skew, kurt)),
                float(deflated_sharpe_ratio(sr, k, skew, kurt, n_trials, var_trials)),
            )
        )
    return pd.DataFrame(rows, columns=["date", "psr", "dsr"])


GO_NO_GO_ROWS = (
    ("sharpe", "Net Sharpe (ann.)", "{:.2f}", ">="),
    ("max_drawdown", "Max drawdown", "{:.1%}", "<="),
    ("dsr", "DSR", "{:.3f}", ">="),
    ("pbo", "PBO", "{:.3f}", "<="),
    ("beats_expected_max", "Sharpe - expected max of trials (per session)", "{:+.4f}", ">"),
)


def go_no_go_markdown(g: dict) -> str:
    """The Go/No-Go table: figure, value, threshold, pass; then the verdict."""
    lines = ["| figure | value | threshold | pass |", "|---|---|---|---|"]
    for key, label, fmt, op in GO_NO_GO_ROWS:
        c = g["checks"][key]
        value = "n/a" if c["value"] is None else fmt.format(c["value"])
        lines.append(f"| {label} | {value} | {op} {fmt.format(c['threshold'])} | {'yes' if c['passed'] else 'no'} |")
    lines.append(f"| **verdict** | **{'GO' if g['passed'] else 'NO-GO'}** | | |")
    return "\n".join(lines)
