"""The Go/No-Go scorecard: one row per sleeve and session, and its trend over the sessions.

Each sleeve is judged out of sample and net of costs and impact by the research gate's bars
(:class:`~quant_assets.models.GateConfig`: Sharpe, maximum drawdown, PBO, DSR; the DSR deflated
by the number of trials behind it) and, for the options sleeves, net vega within policy. The
figures come from the sleeve's own evaluation (the equities backtest; the options backtest's
per-sleeve figures: the vol sleeve on delta-hedged PnL, the spread sleeve on total PnL): this
module only puts them in one table, says what is missing, and never invents a number. A sleeve
without figures is NO-GO with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quant_assets.models.gate import GateConfig

__all__ = [
    "FIGURES",
    "equities_row",
    "SLEEVES",
    "go_no_go_row",
    "missing_row",
    "options_rows",
    "scorecard_markdown",
    "scorecard_plot",
    "scorecard_trend",
]

SLEEVES = ("equities", "options_vol", "options_spread")
FIGURES = ("sharpe", "max_drawdown", "dsr", "pbo", "n_trials", "max_net_vega", "vega_cap")


def _num(v: Any) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return math.nan
    return x if math.isfinite(x) else math.nan


def go_no_go_row(asof, sleeve: str, figures: Mapping[str, Any], source: str) -> dict[str, Any]:
    """A scorecard row from a sleeve's figures (``passed``, ``reasons`` and :data:`FIGURES`; missing ones NaN)."""
    vega_ok = figures.get("vega_within_policy")
    return {
        "asof": pd.Timestamp(asof),
        "sleeve": sleeve,
        "passed": bool(figures.get("passed", False)),
        **{k: _num(figures.get(k)) for k in FIGURES},
        "vega_within_policy": "n/a" if vega_ok is None or vega_ok is np.nan else ("yes" if bool(vega_ok) else "no"),
        "reasons": str(figures.get("reasons") or ("" if figures.get("passed") else "failed")),
        "source": source,
    }


def missing_row(asof, sleeve: str, why: str) -> dict[str, Any]:
    """NO-GO for a sleeve without figures, saying why."""
    return go_no_go_row(asof, sleeve, {"passed": False, "reasons": f"not evaluated: {why}"}, "none")


def equities_row(
    asof,
    curve: pd.DataFrame,
    selection: pd.DataFrame,
    trials: pd.DataFrame,
    gate: GateConfig,
    initial_capital: float,
    periods_per_year: int = 252,
) -> dict[str, Any]:
    """The equities sleeve on its backtest through the close of ``asof``
    (:func:`quant_assets.reporting.scorecard.go_no_go`: the backtest's net Sharpe and drawdown, the
    selection's PBO, the DSR over every logged trial)."""
    from quant_assets.reporting.scorecard import go_no_go, scorecard

    through = curve[pd.to_datetime(curve["date"]) <= pd.Timestamp(asof)] if len(curve) else curve
    if len(through) < 2:
        return missing_row(asof, "equities", f"{len(through)} backtest session(s) through {pd.Timestamp(asof).date()}")
    metrics = scorecard(through, initial_capital, periods_per_year)
    g = go_no_go(through, initial_capital, metrics, selection, trials, gate, periods_per_year)
    return go_no_go_row(asof, "equities", g, "backtest_equities")


def options_rows(asof, frame: pd.DataFrame | None, source: str = "options_backtest") -> list[dict[str, Any]]:
    """The options sleeves' rows from the options backtest's per-sleeve figures.

    ``frame`` carries one row per sleeve (``sleeve`` in ``vol``/``spread`` or ``options_vol``/
    ``options_spread``) with the figures of :func:`quant_assets.options.book.sleeve_go_no_go`
    (``sharpe, max_drawdown, dsr, pbo, n_trials, max_net_vega, vega_cap, vega_within_policy,
    passed, reasons``); when several sessions are present, the latest at or before ``asof``.
    """
    out = []
    for sleeve in SLEEVES[1:]:
        if frame is None or frame.empty or "sleeve" not in frame or "passed" not in frame:
            out.append(missing_row(asof, sleeve, "no options Go/No-Go figures stored"))
            continue
        names = frame["sleeve"].astype(str).str.removeprefix("options_")
        rows = frame[names == sleeve.removeprefix("options_")]
        date_col = next((c for c in ("asof", "date", "as_of") if c in rows), None)
        if date_col is not None and len(rows):
            rows = rows[pd.to_datetime(rows[date_col]) <= pd.Timestamp(asof)]
            rows = rows.sort_values(date_col).tail(1)
        if rows.empty:
            out.append(missing_row(asof, sleeve, f"no {sleeve} figures at or before {pd.Timestamp(asof).date()}"))
            continue
        out.append(go_no_go_row(asof, sleeve, rows.iloc[-1].to_dict(), source))
    return out


def scorecard_trend(history: pd.DataFrame) -> pd.DataFrame:
    """Per sleeve and session: the verdict and figures, with the change of Sharpe and DSR since the previous session."""
    if history.empty:
        return history.assign(sharpe_change=pd.Series(dtype=float), dsr_change=pd.Series(dtype=float))
    h = history.sort_values(["sleeve", "asof"], kind="mergesort").reset_index(drop=True)
    g = h.groupby("sleeve", sort=False)
    return h.assign(sharpe_change=g["sharpe"].diff(), dsr_change=g["dsr"].diff())


def scorecard_markdown(rows: pd.DataFrame) -> str:
    """The Go/No-Go table: sleeve, verdict, Sharpe, drawdown, DSR (with its trial count), PBO, net vega, reasons."""

    def f(v, fmt):
        return "n/a" if v is None or (isinstance(v, float) and not np.isfinite(v)) else fmt.format(v)

    lines = [
        "| sleeve | verdict | net Sharpe | max DD | DSR (trials) | PBO | net vega / cap | reasons |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows.itertuples(index=False):
        vega = f"{f(r.max_net_vega, '{:.3f}')} / {f(r.vega_cap, '{:.3f}')}" if r.sleeve != "equities" else "-"
        trials = f(r.n_trials, "{:.0f}")
        lines.append(
            f"| {r.sleeve} | **{'GO' if r.passed else 'NO-GO'}** | {f(r.sharpe, '{:.2f}')} | "
            f"{f(r.max_drawdown, '{:.1%}')} | {f(r.dsr, '{:.3f}')} ({trials}) | {f(r.pbo, '{:.3f}')} | {vega} | "
            f"{r.reasons or '-'} |"
        )
    return "\n".join(lines)


def scorecard_plot(trend: pd.DataFrame, path: Path) -> Path:
    """Net Sharpe and DSR of each sleeve over the sessions (PNG at ``path``)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 5))
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    for sleeve, g in trend.groupby("sleeve"):
        ax1.plot(g["asof"], g["sharpe"], label=sleeve)
        ax2.plot(g["asof"], g["dsr"], label=sleeve)
    ax1.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax2.axhline(0.95, color="grey", lw=0.8, ls="--")
    ax1.set_ylabel("net Sharpe")
    ax2.set_ylabel("DSR")
    ax1.set_title("Go/No-Go scorecard")
    if len(trend):
        ax1.legend(loc="best", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    return path
