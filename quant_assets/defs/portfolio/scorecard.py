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
from quant_assets.validation import deflated_sharpe_ratio, expected_max_sharpe

__all__ = ["ORDER_TOTALS", "equity_frame", "go_no_go", "go_no_go_markdown", "scorecard"]

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
    nav = pd.concat([pd.Series([initial_capital]), frame["nav"]], ignore_index=True)
    r = nav.pct_change().iloc[1:].to_numpy()
    n, sd = r.size, float(r.std(ddof=1)) if r.size > 1 else 0.0
    sr = float(r.mean() / sd) if sd > 0 else 0.0
    sharpes = pd.to_numeric(trials.get("sharpe_ann", pd.Series(dtype=float)), errors="coerce").dropna()
    sharpes = sharpes.to_numpy() / math.sqrt(periods_per_year)
    n_trials = max(int(sharpes.size), 1)
    var_trials = float(np.var(sharpes, ddof=1)) if sharpes.size > 1 else 0.0
    sr0 = float(expected_max_sharpe(n_trials, var_trials))
    if n > 3 and sd > 0:
        skew, kurt = float(stats.skew(r)), float(stats.kurtosis(r, fisher=False))
        dsr = float(deflated_sharpe_ratio(sr, n, skew, kurt, n_trials, var_trials))
    else:
        dsr = math.nan
    pbo = float(selection["pbo"].iloc[0]) if len(selection) and pd.notna(selection["pbo"].iloc[0]) else math.nan
    figures = {
        "sharpe": float(metrics["net_sharpe"]),
        "max_drawdown": abs(float(metrics["max_drawdown"])),
        "pbo": pbo,
        "dsr": dsr,
        "sharpe_obs": sr,
        "expected_max_sharpe_obs": sr0,
        "n_trials": int(sharpes.size),
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
