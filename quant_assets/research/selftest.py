"""Self-test of the research path: does it find the planted edges, and only those?

Each seed generates a fresh synthetic market in memory (planted edges, or ``noise_only``) and
runs the whole research path without Dagster: universe, features, labels, selection under
CPCV with PBO and DSR, gate. Printed: the promotion rate with planted edges, the false-promotion
rate on noise-only markets, the mean PBO on noise, the selected model's out-of-sample rank IC
against the oracle's (the planted expected returns ranked against the same realized target),
and a power curve of the promotion rate against the edge strength (PNG).

Run::

    python -m quant_assets.research.selftest --seeds 50 --edge none
    python -m quant_assets.research.selftest --seeds 50 --edge planted --strengths 0.5 2 4

Per market a line (and a JSON line in ``<out>/<tag>_rows.jsonl``); at the end the pass rate of
each gate bar (which bar refuses the planted edges), the power table and its PNG
(``<out>/<tag>_power.png``, default ``out`` = ``data/<profile>/reports/selftest``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
from threadpoolctl import threadpool_limits

from quant_assets.calendars import sessions_in_range
from quant_assets.models import SelectionConfig, cost_inputs_from_wide, select_model
from quant_assets.models.candidates import CandidateSpec
from quant_assets.research.power import PASS_PREFIX, bar_table, plot_power_curve, power_table, summarize

__all__ = ["SelfTestConfig", "main", "plot_power_curve", "run_seed", "run_selftest", "summarize"]


#: The self-test's selection: the sleeve's CPCV (2 test folds, 10-session embargo, purging on
#: the fitted labels' exits), gate and costs, with 6 folds (15 splits instead of 28) and without
#: the family ablations (diagnostics, not contenders) so that a market costs about 25 CPU seconds.
SELFTEST_SELECTION = SelectionConfig(
    n_folds=6,
    book_size=1_000_000.0,
    walk_forward_steps=0,
    candidates=CandidateSpec(
        ablation=False,
        lgbm_params={**CandidateSpec().lgbm_params, "n_estimators": 30},
    ),
)


@dataclass(frozen=True)
class SelfTestConfig:
    """Market size and research settings of one self-test market.

    ``strength`` multiplies the default planted edge strengths of
    :class:`~quant_assets.market.synthetic.MarketConfig` (1 = the realistic defaults).

    Sizing: the gate needs the net Sharpe ``S`` (annualized) of ``Y`` years of out-of-sample
    tranches to clear both 1.0 and the DSR bar, about ``(z_N + 1.645) / sqrt(Y)`` with
    ``z_N`` = 1.3 for 6 trials (a Sharpe estimate's standard error is ``1 / sqrt(Y)``
    annualized). Four research years after a year of warm-up put that bar near 1.5; 100 names
    give the realistic planted edges (5-session oracle rank IC about 0.04) a gross Sharpe near
    1.5. The book is 1 MUSD: square-root impact of a 5 MUSD book in a 150-name market takes
    most of that edge (one market: net Sharpe 0.33 at 5 MUSD, 0.96 at 1 MUSD, 1.49 without fee
    and impact).
    """

    n_symbols: int = 150
    top_n: int = 100
    start: str = "2017-01-03"
    end: str = "2021-12-31"
    warmup: int = 260
    strength: float = 1.0
    selection: SelectionConfig = SELFTEST_SELECTION


def _market(seed: int, noise: bool, cfg: SelfTestConfig):
    from quant_assets.market.synthetic import MarketConfig, SyntheticMarket

    base = MarketConfig()
    mc = MarketConfig(
        seed=seed,
        n_symbols=cfg.n_symbols,
        start=cfg.start,
        end=cfg.end,
        n_option_underliers=0,
        noise_only=noise,
        momentum_strength=base.momentum_strength * cfg.strength,
        value_strength=base.value_strength * cfg.strength,
        reversal_strength=base.reversal_strength * cfg.strength,
    )
    return SyntheticMarket(mc, sessions_in_range(mc.start, mc.end))


def _mean_rank_ic(frame: pd.DataFrame, col: str, target: str) -> float:
    ics = frame.groupby("asof").apply(lambda g: g[col].corr(g[target], method="spearman"), include_groups=False)
    return float(ics.mean())


def run_seed(seed: int, noise: bool, cfg: SelfTestConfig | None = None) -> dict[str, Any]:
    """One market, the whole research path; the selection's headline plus IC against the oracle."""
    from quant_assets.features import build_feature_panel
    from quant_assets.labels import build_label_panel
    from quant_assets.research.frames import MarketFrames
    from quant_assets.research.universe import build_universe

    cfg = cfg or SelfTestConfig()
    t0 = time.perf_counter()
    market = _market(seed, noise, cfg)
    frames = MarketFrames.from_synthetic(market)
    sessions = market.sessions[cfg.warmup :]
    universe = build_universe(frames, sessions, cfg.top_n)
    features = build_feature_panel(frames, sessions, universe=universe)
    labels = build_label_panel(frames, sessions, {"horizons": (cfg.selection.horizon,)}, universe=universe)
    costs = cost_inputs_from_wide(frames.wide, spread_bps=cfg.selection.spread_bps)
    res = select_model(features, labels, cfg.selection, costs=costs, walk_forward=False)

    # Oracle: the planted expected return formed at the close of t-1 (the oracle's row t-1 is the
    # expectation for session t), ranked against the same realized target as the model.
    target = cfg.selection.target
    oracle = market.oracle(market.sessions[0], market.sessions[-1])[["date", "symbol", "expected_return"]]
    nxt = dict(zip(market.sessions[:-1], market.sessions[1:]))
    oracle = oracle.assign(asof=oracle["date"].map(nxt)).dropna(subset=["asof"])
    rows = labels.rename(columns={"entry_date": "asof"})[["asof", "symbol", target]].merge(
        oracle[["asof", "symbol", "expected_return"]], on=["asof", "symbol"]
    )
    oracle_ic = float("nan") if noise else _mean_rank_ic(rows, "expected_return", target)
    head = res.headline()
    return {
        "seed": seed,
        "edge": "none" if noise else "planted",
        "strength": 0.0 if noise else cfg.strength,
        "promoted": bool(res.gate.passed),
        "selected": res.selected,
        "pbo": head["pbo"],
        "sharpe": head["oos_net_sharpe"],
        "dsr": head["dsr"],
        "oos_rank_ic": head["rank_ic"],
        "oracle_ic": oracle_ic,
        "reasons": head["gate_reasons"],
        **{PASS_PREFIX + bar: bool(check["passed"]) for bar, check in res.gate.checks.items()},
        "seconds": time.perf_counter() - t0,
    }


def run_selftest(
    seeds: int,
    edge: str,
    cfg: SelfTestConfig | None = None,
    first_seed: int = 1000,
    strengths: tuple[float, ...] = (),
    progress=None,
) -> pd.DataFrame:
    """Rows of :func:`run_seed` for ``seeds`` seeds of ``edge`` ("planted", "none" or "both").

    ``strengths`` adds planted markets at each edge-strength multiplier (the power curve).
    """
    cfg = cfg or SelfTestConfig()
    jobs: list[tuple[int, bool, SelfTestConfig]] = []
    for s in range(first_seed, first_seed + seeds):
        if edge in ("planted", "both"):
            jobs.append((s, False, cfg))
        if edge in ("none", "both"):
            jobs.append((s, True, cfg))
        jobs += [(s, False, replace(cfg, strength=k)) for k in strengths if k != cfg.strength]
    rows = []
    # One BLAS thread per market: the markets are the unit of work, and a multi-threaded BLAS
    # spinning on a busy machine made the logistic fits twenty times slower.
    with threadpool_limits(limits=1):
        for seed, noise, c in jobs:
            rows.append(run_seed(seed, noise, c))
            if progress:
                progress(rows[-1])
    return pd.DataFrame(rows)


def small_config() -> SelfTestConfig:
    """A market small enough for CI (a few seeds in well under a minute)."""
    sel = SelectionConfig(
        n_folds=6,
        pbo_blocks=8,
        book_size=1_000_000.0,
        walk_forward_steps=0,
        candidates=CandidateSpec(
            ablation=False, lgbm_params={"n_estimators": 20, "num_leaves": 4, "min_child_samples": 100}
        ),
    )
    return SelfTestConfig(n_symbols=50, top_n=40, start="2020-01-02", end="2021-06-30", warmup=260, selection=sel)


def _default_out(profile: str | None) -> Path:
    from quant_assets.config import load_profile

    return load_profile(profile).data_dir / "reports" / "selftest"


def _print_row(row: dict) -> None:
    print(
        f"seed {row['seed']} {row['edge']:>7} x{row['strength']:.2f}: "
        f"{'PROMOTED' if row['promoted'] else 'refused '} {row['selected']:<18} sharpe {row['sharpe']:6.2f} "
        f"pbo {row['pbo']:.2f} dsr {row['dsr']:.2f} ic {row['oos_rank_ic']:.4f} oracle {row['oracle_ic']:.4f} "
        f"({row['seconds']:.0f}s) {'' if row['promoted'] else row['reasons']}",
        flush=True,
    )


def report(rows: pd.DataFrame, out: Path, base_strength: float = 1.0, tag: str = "selftest") -> dict[str, Any]:
    """Print the summary, the per-bar table and the power table; write the PNG and JSON under ``out``."""
    summary = summarize(rows, base_strength)
    for edge in ("planted", "none"):
        sub = rows[(rows["edge"] == edge) & ((rows["strength"] == base_strength) | (edge == "none"))]
        if len(sub):
            print(f"gate bars, {edge} ({len(sub)} markets):\n{bar_table(sub).round(3).to_string()}")
    print(f"power curve:\n{power_table(rows).round(4).to_string()}")
    print(json.dumps(summary, indent=2, default=str))
    out.mkdir(parents=True, exist_ok=True)
    print(f"power curve PNG: {plot_power_curve(rows, out / f'{tag}_power.png')}")
    (out / f"{tag}_summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m quant_assets.research.selftest", description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--edge", choices=("planted", "none", "both"), default="both")
    p.add_argument("--first-seed", type=int, default=1000)
    p.add_argument(
        "--strengths", type=float, nargs="*", default=[], help="edge multipliers swept for the power curve (besides 1)"
    )
    p.add_argument("--out", type=Path, default=None, help="output directory (default data/<profile>/reports/selftest)")
    p.add_argument("--profile", default=None, help="profile whose data directory holds the reports")
    p.add_argument("--small", action="store_true", help="CI-sized markets")
    p.add_argument("--names", type=int, default=None, help="names listed in each market")
    p.add_argument("--top-n", type=int, default=None, help="universe size")
    p.add_argument("--start", default=None, help="first session of each market (a year of it is warm-up)")
    p.add_argument("--end", default=None, help="last session of each market")
    p.add_argument("--book-size", type=float, default=None, help="book size in USD the costs are stated at")
    p.add_argument("--tag", default=None, help="file name stem of the outputs (default selftest_<edge>)")
    p.add_argument("--from-rows", type=Path, nargs="*", default=None, help="summarize stored rows (JSON lines) only")
    args = p.parse_args(argv)
    cfg = small_config() if args.small else SelfTestConfig()
    sizes = {"n_symbols": args.names, "top_n": args.top_n, "start": args.start, "end": args.end}
    cfg = replace(cfg, **{k: v for k, v in sizes.items() if v is not None})
    if args.book_size is not None:
        cfg = replace(cfg, selection=replace(cfg.selection, book_size=args.book_size))
    out = args.out or _default_out(args.profile)
    tag = args.tag or f"selftest_{args.edge}"
    if args.from_rows:
        rows = pd.concat([pd.read_json(f, lines=True) for f in args.from_rows], ignore_index=True)
        report(rows, out, cfg.strength, tag)
        return 0
    out.mkdir(parents=True, exist_ok=True)
    rows_path = out / f"{tag}_rows.jsonl"
    rows_path.write_text("")

    def progress(row: dict) -> None:
        _print_row(row)
        with rows_path.open("a") as fh:  # one line per market: a partial run can still be summarized
            fh.write(json.dumps(row, default=str) + "\n")

    rows = run_selftest(args.seeds, args.edge, cfg, args.first_seed, tuple(args.strengths), progress)
    report(rows, out, cfg.strength, tag)
    print(f"rows: {rows_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
