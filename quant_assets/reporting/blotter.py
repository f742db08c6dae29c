"""The daily equities blotter: §10.1 JSON (schema-validated) and a Markdown page with a scorecard.

``emit_daily`` renders one session: the JSON the stakeholder's tools read (validated against
``schemas/daily_blotter.schema.json`` before anything is written) and a Markdown page with the
top longs and shorts, factor exposures and the one-page scorecard with its plots.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from quant_assets.backtest.metrics import drawdown
from quant_assets.reporting.exposures import book_exposures

__all__ = [
    "BLOTTER_COLUMNS",
    "blotter_positions",
    "blotter_schema",
    "emit_daily",
    "validate_blotter",
    "validate_strategies",
]

BLOTTER_COLUMNS = ("symbol", "target_w", "horizon_days", "expected_alpha_bps", "conf", "tp_bps", "sl_bps")
SCORECARD = (
    ("net_pnl", "Net PnL", "{:,.0f}"),
    ("net_sharpe", "Net Sharpe (ann.)", "{:.2f}"),
    ("net_sortino", "Net Sortino (ann.)", "{:.2f}"),
    ("max_drawdown", "Max drawdown", "{:.1%}"),
    ("time_under_water_sessions", "Longest time under water (sessions)", "{:.0f}"),
    ("turnover_ann", "Turnover (traded / NAV, ann.)", "{:.1f}x"),
    ("capacity", "Capacity (impact = half the gross edge)", "{:,.0f}"),
    ("modeled_impact_bps", "Modeled impact (bps)", "{:.2f}"),
    ("realized_impact_bps", "Realized impact (bps)", "{:.2f}"),
    ("psr", "PSR (SR > 0)", "{:.3f}"),
    ("dsr", "DSR", "{:.3f}"),
)


@cache
def blotter_schema() -> dict:
    """The JSON Schema of the daily blotter (package data)."""
    text = resources.files("quant_assets.reporting").joinpath("schemas/daily_blotter.schema.json").read_text()
    return json.loads(text)


def validate_blotter(payload: Mapping) -> None:
    """Raise :class:`jsonschema.ValidationError` unless ``payload`` has the §10.1 shape."""
    jsonschema.Draft202012Validator(blotter_schema()).validate(payload)


def blotter_positions(
    target_weights: pd.Series,
    scores: pd.DataFrame,
    horizon_days: int,
    tp_mult: float = 2.0,
    sl_mult: float = 1.0,
) -> pd.DataFrame:
    """Blotter rows from built weights and the session's scores.

    ``expected_alpha_bps`` is ``1e4 x`` the expected excess return; take-profit and stop-loss
    are ``tp_mult`` and ``-sl_mult`` times the name's volatility over the horizon,
    ``σ_d sqrt(h)`` in bps (``daily_vol`` column, else 2 % a day) — the triple-barrier
    convention of the labels. Extra score columns (``sector``, ``rationale``, ``factor_*``)
    are carried along for the Markdown page.
    """
    s = scores.assign(symbol=scores["symbol"].astype(str)).drop_duplicates("symbol", keep="last")
    s = s.set_index("symbol")
    w = target_weights[target_weights != 0].astype(float)
    s = s.reindex(w.index)
    vol = s["daily_vol"].to_numpy(float) if "daily_vol" in s else np.full(len(s), 0.02)
    vol = np.where(np.isfinite(vol) & (vol > 0), vol, 0.02)
    band = 1e4 * vol * math.sqrt(horizon_days)
    out = pd.DataFrame(
        {
            "symbol": w.index.astype(str),
            "target_w": w.to_numpy(),
            "horizon_days": int(horizon_days),
            "expected_alpha_bps": 1e4 * s["expected_excess_return"].to_numpy(float),
            "conf": np.clip(s["confidence"].to_numpy(float), 0, 1),
            "tp_bps": tp_mult * band,
            "sl_bps": -sl_mult * band,
        }
    )
    extra = [c for c in s.columns if c in ("sector", "rationale") or str(c).startswith("factor_")]
    for c in extra:
        out[c] = s[c].to_numpy()
    return out


def _payload(asof: str, positions: pd.DataFrame, universe: Sequence[str], risk: Mapping, strategies) -> dict:
    rows = [
        {
            "symbol": str(r.symbol),
            "target_w": round(float(r.target_w), 6),
            "horizon_days": int(r.horizon_days),
            "expected_alpha_bps": round(float(r.expected_alpha_bps), 2),
            "conf": round(float(r.conf), 4),
            "tp_bps": round(float(r.tp_bps), 2),
            "sl_bps": round(float(r.sl_bps), 2),
        }
        for r in positions.loc[:, list(BLOTTER_COLUMNS)].itertuples(index=False)
    ]
    return {
        "asof": asof,
        "universe": [str(s) for s in universe],
        "positions": rows,
        "risk": {
            "target_vol_ann": float(risk["target_vol_ann"]),
            "gross_cap": float(risk["gross_cap"]),
            "sector_caps": {str(k): float(v) for k, v in dict(risk.get("sector_caps", {})).items()},
        },
        "strategies": list(strategies),
    }


def _rationale(value) -> str:
    if not isinstance(value, str) or not value:
        return ""
    try:
        items = json.loads(value)
    except json.JSONDecodeError:
        return value
    return ", ".join(f"{d['feature']} {d['contribution']:+.3g}" for d in items)


def _table(df: pd.DataFrame, book_size: float | None) -> list[str]:
    head = "| symbol | weight | capital | alpha (bps) | conf | TP (bps) | SL (bps) | sector | rationale |"
    lines = [head, "|" + "---|" * 9]
    for r in df.itertuples(index=False):
        capital = f"{abs(r.target_w) * book_size:,.0f}" if book_size else "-"
        lines.append(
            f"| {r.symbol} | {r.target_w:+.4f} | {capital} | {r.expected_alpha_bps:+.1f} | {r.conf:.2f} | "
            f"{r.tp_bps:.0f} | {r.sl_bps:.0f} | {getattr(r, 'sector', '') or ''} | "
            f"{_rationale(getattr(r, 'rationale', ''))} |"
        )
    return lines


def _fmt(value, pattern: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return pattern.format(value)


def _figures(metrics: Mapping, out_dir: Path) -> list[str]:
    names = []
    nav = metrics.get("equity")
    if isinstance(nav, pd.Series) and len(nav) > 1:
        fig = Figure(figsize=(8, 5))
        ax1, ax2 = fig.subplots(2, 1, sharex=True)
        ax1.plot(nav.index, nav.to_numpy())
        ax1.set_ylabel("NAV")
        ax1.set_title("Equity curve (net of all costs)")
        ax2.fill_between(nav.index, drawdown(nav).to_numpy(), 0.0, color="tab:red")
        ax2.set_ylabel("drawdown")
        fig.tight_layout()
        fig.savefig(out_dir / "equity_drawdown.png", dpi=100)
        names.append("equity_drawdown.png")
    trend = {k: metrics[k] for k in ("psr_trend", "dsr_trend") if isinstance(metrics.get(k), pd.Series)}
    costs = metrics.get("costs")
    if trend or isinstance(costs, Mapping):
        fig = Figure(figsize=(8, 3.5))
        ax1, ax2 = fig.subplots(1, 2)
        if isinstance(costs, Mapping):
            ax1.bar(list(costs), [float(v) for v in costs.values()])
            ax1.set_title("Cost breakdown")
        for k, s in trend.items():
            ax2.plot(s.index, s.to_numpy(), label=k.removesuffix("_trend").upper())
        if trend:
            ax2.set_ylim(0, 1)
            ax2.legend()
            ax2.set_title("PSR / DSR trend")
        fig.tight_layout()
        fig.savefig(out_dir / "costs_psr.png", dpi=100)
        names.append("costs_psr.png")
    return names


def emit_daily(
    asof,
    positions: pd.DataFrame,
    strategies: Sequence[Mapping],
    metrics: Mapping,
    *,
    risk: Mapping | None = None,
    universe: Sequence[str] | None = None,
    out_dir: str | Path | None = None,
    top_n: int = 20,
) -> tuple[str, dict]:
    """Render (and optionally write) the blotter of session ``asof``.

    Parameters
    ----------
    asof : date-like
        The session the targets are for.
    positions : DataFrame
        :data:`BLOTTER_COLUMNS`, optionally ``sector``, ``rationale`` (JSON list of
        ``{"feature", "contribution"}``) and ``factor_*`` exposures (see
        :func:`blotter_positions`).
    strategies : sequence of mapping
        Options sleeve entries (the ``strategies`` of the §10.2 document, best first), each
        validated against its schema; the top ``top_n`` are listed in the Markdown.
    metrics : mapping
        Scorecard figures (keys of the backtest metrics: ``net_pnl``, ``net_sharpe``, ...,
        optional ``dsr``, ``book_size``, ``equity`` NAV Series, ``costs`` dict,
        ``psr_trend``/``dsr_trend`` Series).
    risk : mapping, optional
        ``target_vol_ann``, ``gross_cap``, ``sector_caps`` (default: the portfolio defaults).
    universe : sequence of str, optional
        The session's universe (default: the positions' symbols).
    out_dir : path, optional
        When given, writes ``blotter.json``, ``blotter.md`` and the PNG plots there.
    top_n : int, default 20

    Returns
    -------
    (str, dict)
        The Markdown page and the validated JSON payload.
    """
    day = pd.Timestamp(asof).strftime("%Y-%m-%d")
    pos = positions.reset_index(drop=True)
    missing = [c for c in BLOTTER_COLUMNS if c not in pos]
    if missing:
        raise ValueError(f"positions is missing columns {missing}")
    if risk is None:
        from quant_assets.portfolio import RiskConfig

        cfg = RiskConfig()
        risk = {"target_vol_ann": cfg.target_vol_ann, "gross_cap": cfg.gross_cap, "sector_caps": {}}
    universe = sorted(pos["symbol"].astype(str)) if universe is None else list(universe)
    strategies = validate_strategies(strategies)
    payload = _payload(day, pos.sort_values("symbol", kind="stable"), universe, risk, strategies)
    validate_blotter(payload)

    out = Path(out_dir) if out_dir is not None else None
    figures = []
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        figures = _figures(metrics, out)
    md = _markdown(day, pos, strategies, metrics, risk, figures, top_n)
    if out is not None:
        (out / "blotter.json").write_text(json.dumps(payload, indent=2) + "\n")
        (out / "blotter.md").write_text(md)
    return md, payload


def _markdown(day, pos, strategies, metrics, risk, figures, top_n) -> str:
    book = metrics.get("book_size")
    longs = pos[pos["target_w"] > 0].sort_values(["target_w", "symbol"], ascending=[False, True]).head(top_n)
    shorts = pos[pos["target_w"] < 0].sort_values(["target_w", "symbol"]).head(top_n)
    lines = [f"# Daily equities blotter — {day}", ""]
    if metrics.get("kill_switch"):  # quant_assets.monitoring.tripwires.KillState.line()
        lines += [f"> **{metrics['kill_switch']}**", ""]
    lines.append(
        f"{int((pos['target_w'] > 0).sum())} longs, {int((pos['target_w'] < 0).sum())} shorts; "
        f"gross {pos['target_w'].abs().sum():.3f}, net {pos['target_w'].sum():+.3f} of book"
        + (f" ({book:,.0f})" if book else "")
        + f"; target vol {risk['target_vol_ann']:.1%}, "
        f"gross cap {risk['gross_cap']:.2f}."
    )
    for title, frame in ((f"Top {top_n} longs", longs), (f"Top {top_n} shorts", shorts)):
        lines += ["", f"## {title}", ""]
        lines += _table(frame, book) if len(frame) else ["none"]
    exposures = book_exposures(pos.set_index("symbol")["target_w"], pos.set_index("symbol"))
    lines += ["", "## Factor exposures (sum of weight x exposure over the names with one)", ""]
    if exposures:
        lines += ["| factor | exposure |", "|---|---|"]
        lines += [f"| {name} | {_fmt(x, '{:+.4f}')} |" for name, x in exposures.items()]
    else:
        lines.append("no factor exposures supplied")
    if "sector" in pos:
        lines += ["", "| sector | net | gross |", "|---|---|---|"]
        for sec, g in pos.groupby("sector", sort=True):
            lines.append(f"| {sec} | {g['target_w'].sum():+.4f} | {g['target_w'].abs().sum():.4f} |")
    lines += ["", "## Scorecard", "", "| metric | value |", "|---|---|"]
    lines += [f"| {label} | {_fmt(metrics.get(key), pattern)} |" for key, label, pattern in SCORECARD]
    lines += ["", *[f"![{f}]({f})" for f in figures]] if figures else []
    lines += ["", "## Options strategies", ""]
    lines += _strategies_table(strategies, top_n) if strategies else ["none formed at the previous close"]
    return "\n".join(lines) + "\n"


def _strategies_table(strategies: Sequence[Mapping], top_n: int) -> list[str]:
    """The first ``top_n`` strategies (the document lists them best first)."""
    head = "| underlier | type | expiry | qty | target vega | expected PnL (bps) | conf | hedge |"
    lines = [f"{len(strategies)} strategies; top {min(top_n, len(strategies))}:", "", head, "|" + "---|" * 8]
    for d in list(strategies)[:top_n]:
        rules = d.get("hedge_rules") or {}
        hedge = f"{rules.get('rebalance', '')} / \\|Δ\\| > {rules.get('delta_threshold', '')}" if rules else ""
        lines.append(
            f"| {d['underlier']} | {d['type']} | {d['expiry']} | {int(d['qty']):+d} | {float(d['target_vega']):,.0f} | "
            f"{float(d['expected_pnl_bps']):+.1f} | {float(d['conf']):.2f} | {hedge} |"
        )
    return lines


def validate_strategies(strategies: Sequence[Mapping]) -> list[dict]:
    """The strategies as plain JSON values, each validated against the §10.2 strategy schema."""
    from quant_assets.options.strategies_json import STRATEGIES_JSON_SCHEMA

    plain = json.loads(json.dumps(list(strategies), default=_plain))
    item = STRATEGIES_JSON_SCHEMA["properties"]["strategies"]["items"]
    jsonschema.Draft202012Validator({"type": "array", "items": item}).validate(plain)
    return plain


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
