"""A one-page overview of the stored market data, with plots people would rather look at.

Reads the curated and raw layers through their DuckDB views; writes
``market_summary.md`` and PNG figures into the reports folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from quant_assets.market.adjustments import pit_adjusted_history  # noqa: E402
from quant_assets.market.store import ParquetStore  # noqa: E402

__all__ = ["MarketSummary", "write_market_summary"]


@dataclass
class MarketSummary:
    markdown: Path
    figures: list[Path] = field(default_factory=list)
    datasets: list[dict] = field(default_factory=list)


def _survivorship_figure(curated: pd.DataFrame, delisted: set[str], path: Path) -> Path:
    rets = curated.pivot(index="date", columns="symbol", values="ret_total")
    all_names = (1 + rets.mean(axis=1, skipna=True).fillna(0)).cumprod()
    survivors = [c for c in rets.columns if c not in delisted]
    surv = (1 + rets[survivors].mean(axis=1, skipna=True).fillna(0)).cumprod()
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(all_names.index, all_names.values, label="all listed names (incl. later delisted)")
    ax.plot(surv.index, surv.values, label="survivors only (biased)", linestyle="--")
    ax.set_title("Equal-weight total-return index: survivorship bias")
    ax.set_ylabel("growth of $1")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _liquidity_figure(curated: pd.DataFrame, path: Path) -> Path:
    dollar = (curated["close"] * curated["volume"]).groupby(curated["symbol"]).median()
    dollar = dollar[dollar > 0]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.hist(np.log10(dollar.values), bins=40)
    ax.set_title("Median daily dollar volume per name")
    ax.set_xlabel("log10 $ volume")
    ax.set_ylabel("names")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _split_figure(curated: pd.DataFrame, path: Path) -> Path | None:
    splits = curated[curated["split_ratio"] != 1.0]
    if splits.empty:
        return None
    symbol = splits.iloc[0]["symbol"]
    one = curated[curated["symbol"] == symbol]
    asof = one["date"].max()
    adj = pit_adjusted_history(one, asof)
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(one["date"], one["close"], label="raw close (as delivered)")
    ax.plot(adj["date"], adj["adj_close"], label=f"back-adjusted as of {asof.date()}")
    for d, r in splits[splits["symbol"] == symbol][["date", "split_ratio"]].itertuples(index=False):
        ax.axvline(d, color="grey", linestyle=":")
        ax.annotate(f"split x{r:g}", (d, ax.get_ylim()[1]), fontsize=8, va="top")
    ax.set_title(f"{symbol}: raw vs point-in-time adjusted close")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_market_summary(store_root: Path, reports_dir: Path) -> MarketSummary:
    """Write the overview of a store into ``reports_dir``; return where it went."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    store = ParquetStore(Path(store_root))
    con = store.duckdb_connect()
    datasets = []
    for view in [
        r[0] for r in con.execute("select view_name from duckdb_views() where not internal order by 1").fetchall()
    ]:
        n = con.execute(f"select count(*) from {view}").fetchone()[0]
        datasets.append({"view": view, "rows": int(n)})
    curated = con.execute(
        "select date, symbol, open, high, low, close, volume, vwap, split_ratio, dividend, "
        "ret_price, ret_total, is_delisting from curated_adjusted_prices order by symbol, date"
    ).df()
    delistings = con.execute("select symbol, reason, delisting_return from raw_delistings").df()
    actions = con.execute("select event_type, ratio from raw_corporate_actions").df()
    quotes = con.execute("select qc_flag, count(*) n from raw_option_quotes group by 1").df()
    con.close()

    figures = [
        _survivorship_figure(curated, set(delistings["symbol"]), reports_dir / "survivorship.png"),
        _liquidity_figure(curated, reports_dir / "liquidity.png"),
    ]
    split_fig = _split_figure(curated, reports_dir / "split_adjustment.png")
    if split_fig is not None:
        figures.append(split_fig)

    splits = actions[actions["event_type"] == "split"]
    lines = [
        "# Market data summary",
        "",
        f"- sessions: {curated['date'].nunique()} ({curated['date'].min().date()} .. {curated['date'].max().date()})",
        f"- names with bars: {curated['symbol'].nunique()}; delisted: {len(delistings)} "
        f"({', '.join(f'{k}: {v}' for k, v in delistings['reason'].value_counts().items())})",
        f"- splits: {int((splits['ratio'] > 1).sum())} forward, {int((splits['ratio'] < 1).sum())} reverse; "
        f"dividends: {int((actions['event_type'] == 'dividend').sum())}",
        f"- option quotes by QC flag: {dict(zip(quotes['qc_flag'], quotes['n'].astype(int)))}",
        "",
        "| DuckDB view | rows |",
        "|---|---:|",
        *[f"| {d['view']} | {d['rows']:,} |" for d in datasets],
        "",
        *[f"![{p.stem}]({p.name})" for p in figures],
        "",
    ]
    md = reports_dir / "market_summary.md"
    md.write_text("\n".join(lines))
    return MarketSummary(markdown=md, figures=figures, datasets=datasets)
