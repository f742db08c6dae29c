"""Self-test of the research path: does it find the planted edges, and only those?

Each seed generates a fresh synthetic market in memory (planted edges, or ``noise_only``) and
runs the whole research path without Dagster: universe, features, labels, selection under
CPCV with PBO and DSR, gate. Printed: the promotion rate with planted edges, the false-promotion
rate on noise-only markets, the mean PBO on noise, the selected model's out-of-sample rank IC
against the oracle's (the planted expected returns ranked against the same realized target),
and a power curve of the promotion rate against the edge strength (PNG).

Run::

    python -m quant_assets.research.selftest --seeds 50 --edge none
    python -m quant_assets.research.selftest --seeds 50 --edge planted --power-curve power.png
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

from quant_assets.calendars import sessions_in_range
from quant_assets.models import SelectionConfig, cost_inputs_from_wide, select_model
from quant_assets.models.candidates import CandidateSpec

__all__ = ["SelfTestConfig", "main", "run_seed", "run_selftest", "summarize"]


@dataclass(frozen=True)
class SelfTestConfig:
    """Market size and research settings of one self-test market.

    ``strength`` multiplies the default planted edge strengths of
    :class:`~quant_assets.market.synthetic.MarketConfig` (1 = the realistic defaults).
    """

    n_symbols: int = 150
    top_n: int = 100
    start: str = "2019-01-02"
    end: str = "2021-12-31"
    warmup: int = 260
    strength: float = 1.0
    selection: SelectionConfig = SelectionConfig(book_size=5_000_000.0, walk_forward_steps=0)


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
    costs = cost_inputs_from_wide(frames.wide)
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
    for seed, noise, c in jobs:
        rows.append(run_seed(seed, noise, c))
        if progress:
            progress(rows[-1])
    return pd.DataFrame(rows)


def summarize(rows: pd.DataFrame, base_strength: float = 1.0) -> dict[str, Any]:
    """The figures the self-test prints (NaN where no seed of a kind ran)."""
    planted = rows[(rows["edge"] == "planted") & (rows["strength"] == base_strength)]
    noise = rows[rows["edge"] == "none"]
    # Ratio of the means: per-seed ratios explode when a seed's oracle IC is near zero.
    ratio = planted["oos_rank_ic"].mean() / planted["oracle_ic"].mean() if len(planted) else float("nan")
    return {
        "planted_seeds": int(len(planted)),
        "promotion_rate": float(planted["promoted"].mean()) if len(planted) else float("nan"),
        "noise_seeds": int(len(noise)),
        "false_promotion_rate": float(noise["promoted"].mean()) if len(noise) else float("nan"),
        "mean_pbo_noise": float(noise["pbo"].mean()) if len(noise) else float("nan"),
        "mean_pbo_planted": float(planted["pbo"].mean()) if len(planted) else float("nan"),
        "oos_rank_ic": float(planted["oos_rank_ic"].mean()) if len(planted) else float("nan"),
        "oracle_ic": float(planted["oracle_ic"].mean()) if len(planted) else float("nan"),
        "ic_share_of_oracle": float(ratio),
        "power_curve": rows[rows["edge"] == "planted"].groupby("strength")["promoted"].mean().to_dict()
        | ({0.0: float(noise["promoted"].mean())} if len(noise) else {}),
    }


def plot_power_curve(summary: dict[str, Any], path: str | Path) -> Path:
    """Promotion rate against edge strength (0 = noise-only markets) as a PNG."""
    from matplotlib.figure import Figure

    curve = dict(sorted(summary["power_curve"].items()))
    fig = Figure(figsize=(5, 3.5), layout="constrained")
    ax = fig.subplots()
    ax.plot(list(curve), list(curve.values()), marker="o")
    ax.axhline(0.05, color="C3", lw=0.8, ls="--", label="5% false promotion")
    ax.axhline(0.9, color="C2", lw=0.8, ls="--", label="90% power target")
    ax.set_xlabel("edge strength (x realistic default)")
    ax.set_ylabel("promotion rate")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="best", fontsize=8)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png", dpi=100)
    return out


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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m quant_assets.research.selftest", description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--edge", choices=("planted", "none", "both"), default="both")
    p.add_argument("--first-seed", type=int, default=1000)
    p.add_argument("--strengths", type=float, nargs="*", default=[], help="extra edge multipliers (power curve)")
    p.add_argument("--power-curve", type=Path, default=None, help="PNG path of the power curve")
    p.add_argument("--small", action="store_true", help="CI-sized markets")
    p.add_argument("--json", type=Path, default=None, help="write per-seed rows and the summary here")
    args = p.parse_args(argv)
    cfg = small_config() if args.small else SelfTestConfig()

    def progress(row: dict) -> None:
        print(
            f"seed {row['seed']} {row['edge']:>7} x{row['strength']:.2f}: "
            f"{'PROMOTED' if row['promoted'] else 'refused '} {row['selected']:<24} sharpe {row['sharpe']:6.2f} "
            f"pbo {row['pbo']:.2f} ic {row['oos_rank_ic']:.4f} oracle {row['oracle_ic']:.4f} "
            f"({row['seconds']:.0f}s)",
            flush=True,
        )

    rows = run_selftest(args.seeds, args.edge, cfg, args.first_seed, tuple(args.strengths), progress)
    summary = summarize(rows, cfg.strength)
    print(json.dumps(summary, indent=2, default=str))
    if args.power_curve:
        print(f"power curve: {plot_power_curve(summary, args.power_curve)}")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rows": rows.to_dict("records")}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
