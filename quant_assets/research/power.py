"""Figures of the research self-test: rates, the gate's bars one by one, and the power curve.

The rows are those of :func:`quant_assets.research.selftest.run_seed`: one per market, with
``edge`` ("planted" or "none"), ``strength`` (the multiplier on the planted edges, 0 for
noise), ``promoted``, ``pbo``, ``oos_rank_ic``, ``oracle_ic`` and one ``pass_<bar>`` flag per
gate bar (:func:`~quant_assets.models.gate.evaluate_gate`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["bar_table", "plot_power_curve", "power_table", "summarize"]

PASS_PREFIX = "pass_"


def _bars(rows: pd.DataFrame) -> list[str]:
    return [c.removeprefix(PASS_PREFIX) for c in rows.columns if c.startswith(PASS_PREFIX)]


def bar_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per gate bar: pass rate, share of refused markets it failed, and share where it alone failed.

    Examples
    --------
    >>> rows = pd.DataFrame({"promoted": [False, False, True], "pass_pbo": [False, True, True],
    ...                      "pass_dsr": [False, False, True]})
    >>> bar_table(rows)[["pass_rate", "failed_alone"]].round(2).to_dict("index")
    {'pbo': {'pass_rate': 0.67, 'failed_alone': 0.0}, 'dsr': {'pass_rate': 0.33, 'failed_alone': 0.5}}
    """
    bars = _bars(rows)
    if not bars or rows.empty:
        return pd.DataFrame(columns=["pass_rate", "failed_when_refused", "failed_alone"])
    ok = rows[[PASS_PREFIX + b for b in bars]].astype(bool).to_numpy()
    refused = ~rows["promoted"].astype(bool).to_numpy()
    n_ref = max(int(refused.sum()), 1)
    alone = (~ok).sum(axis=1) == 1
    return pd.DataFrame(
        {
            "pass_rate": ok.mean(axis=0),
            "failed_when_refused": (~ok[refused]).sum(axis=0) / n_ref,
            "failed_alone": (~ok[refused] & alone[refused, None]).sum(axis=0) / n_ref,
        },
        index=pd.Index(bars, name="bar"),
    )


def _ratio(planted: pd.DataFrame) -> float:
    # Ratio of the means: per-seed ratios explode when a seed's oracle IC is near zero.
    if planted.empty:
        return float("nan")
    return float(planted["oos_rank_ic"].mean() / planted["oracle_ic"].mean())


def power_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per edge strength (0 = noise-only markets): seeds, promotion rate, OOS IC share of the oracle."""
    out = []
    for k, g in rows.groupby("strength"):
        out.append(
            {
                "strength": float(k),
                "seeds": len(g),
                "promotion_rate": float(g["promoted"].mean()),
                "mean_pbo": float(g["pbo"].mean()),
                "oos_rank_ic": float(g["oos_rank_ic"].mean()),
                "oracle_ic": float(g["oracle_ic"].mean()),
                "ic_share_of_oracle": _ratio(g) if k > 0 else float("nan"),
            }
        )
    return pd.DataFrame(out).set_index("strength").sort_index() if out else pd.DataFrame()


def summarize(rows: pd.DataFrame, base_strength: float = 1.0) -> dict[str, Any]:
    """The figures the self-test prints (NaN where no seed of a kind ran)."""
    planted = rows[(rows["edge"] == "planted") & np.isclose(rows["strength"], base_strength)]
    noise = rows[rows["edge"] == "none"]

    def mean(frame: pd.DataFrame, col: str) -> float:
        return float(frame[col].mean()) if len(frame) else float("nan")

    return {
        "planted_seeds": int(len(planted)),
        "promotion_rate": mean(planted, "promoted"),
        "noise_seeds": int(len(noise)),
        "false_promotion_rate": mean(noise, "promoted"),
        "mean_pbo_noise": mean(noise, "pbo"),
        "mean_pbo_planted": mean(planted, "pbo"),
        "oos_rank_ic": mean(planted, "oos_rank_ic"),
        "oracle_ic": mean(planted, "oracle_ic"),
        "ic_share_of_oracle": _ratio(planted),
        "mean_sharpe_planted": mean(planted, "sharpe"),
        "mean_sharpe_noise": mean(noise, "sharpe"),
        "bars_planted": bar_table(planted).round(3).to_dict("index"),
        "bars_noise": bar_table(noise).round(3).to_dict("index"),
        "power_curve": power_table(rows)["promotion_rate"].to_dict() if len(rows) else {},
    }


def plot_power_curve(rows_or_summary: pd.DataFrame | dict[str, Any], path: str | Path) -> Path:
    """Promotion rate and OOS IC / oracle IC against edge strength (0 = noise-only) as a PNG."""
    from matplotlib.figure import Figure

    if isinstance(rows_or_summary, pd.DataFrame):
        table = power_table(rows_or_summary)
    else:  # a summary: the promotion rates only
        curve = rows_or_summary["power_curve"]
        table = pd.DataFrame({"promotion_rate": curve, "ic_share_of_oracle": np.nan}).sort_index()
    fig = Figure(figsize=(6, 3.8), layout="constrained")
    ax = fig.subplots()
    x = table.index.to_numpy(dtype=float)
    ax.plot(x, table["promotion_rate"], marker="o", color="C0", label="promotion rate")
    share = table["ic_share_of_oracle"].to_numpy(dtype=float)
    if np.isfinite(share).any():
        ax.plot(x[np.isfinite(share)], share[np.isfinite(share)], marker="s", color="C1", label="OOS IC / oracle IC")
    ax.axhline(0.05, color="C3", lw=0.8, ls="--", label="5% false promotion")
    ax.axhline(0.9, color="C2", lw=0.8, ls="--", label="90% power target")
    ax.axhline(0.7, color="C1", lw=0.8, ls=":", label="70% of oracle IC")
    ax.set_xlabel("edge strength (x realistic default; 0 = noise only)")
    ax.set_ylabel("rate / share")
    ax.set_ylim(-0.02, 1.05)
    ax.legend(loc="best", fontsize=7)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png", dpi=100)
    return out
