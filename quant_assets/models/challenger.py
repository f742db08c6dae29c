"""Champion and challenger: a shadow paper book for each, and the promotion decision.

A challenger is trained by :func:`~quant_assets.models.hpsearch.hyperparameter_search` (CPCV,
PBO across the period's trials, DSR over every logged trial). It then **shadow-trades**: from
its training date, each session's scores form the same decile long/short book the selection
judges candidates by (:class:`~quant_assets.models.portfolio.DecileLongShort`: tranches held
``horizon`` sessions, fee, half-spread and square-root impact), on paper, beside the champion's
book on the same sessions. A session's PnL is known once its ``horizon``-session return is.

:func:`decide_promotion` promotes only if every check holds, and says why otherwise:

* ``shadow_length``: at least ``shadow_weeks`` of sessions with realized PnL;
* ``beats_champion``: the challenger's cumulative net PnL beats the champion's by more than
  ``min_margin`` (fraction of the book) over the same sessions;
* ``go_no_go``: the challenger's selection passed the gate (OOS net Sharpe, drawdown, PBO, DSR).

:class:`PromotionLog` keeps every decision (append-only JSON Lines); a blocked one carries its
reasons there and, through :meth:`~quant_assets.models.tracking.MlflowTracker.record_promotion`,
as MLflow tags on the challenger's version.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quant_assets.config.fields import reject_unknown_fields
from quant_assets.models.gate import GateVerdict
from quant_assets.models.portfolio import CostInputs, DecileLongShort, decile_weights
from quant_assets.models.selection import SelectionConfig, research_panel

__all__ = [
    "PROMOTION_FIELDS",
    "PROMOTION_FIGURES",
    "ChallengerConfig",
    "PromotionDecision",
    "PromotionLog",
    "ShadowBook",
    "decide_promotion",
    "paper_positions",
    "shadow_book",
]


@dataclass(frozen=True)
class ChallengerConfig:
    """The profile's ``governance.challenger`` block.

    ``shadow_weeks``: how long the challenger shadow-trades before a decision (weeks of
    ``sessions_per_week`` sessions with realized PnL); ``min_margin``: by how much (fraction of
    the book, cumulative over the period) its net PnL must beat the champion's.
    """

    shadow_weeks: int = 4
    sessions_per_week: int = 5
    min_margin: float = 0.0

    @property
    def shadow_sessions(self) -> int:
        return int(self.shadow_weeks * self.sessions_per_week)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> ChallengerConfig:
        d = dict(d or {})
        reject_unknown_fields(cls, d, "governance.challenger")
        return cls(**d)


@dataclass
class ShadowBook:
    """A paper book: ``positions`` (``asof, symbol, score, weight``) and ``pnl`` per session.

    ``pnl``: ``asof, gross_return, cost, net_return, cum_net`` with returns as the book's
    equity move of the session's tranche (tranche return / horizon), NaN-free, only sessions
    whose ``horizon``-session return is known.
    """

    name: str
    positions: pd.DataFrame
    pnl: pd.DataFrame

    def total(self, sessions=None) -> dict[str, float]:
        p = self.pnl if sessions is None else self.pnl[self.pnl["asof"].isin(sessions)]
        return {"net": float(p["net_return"].sum()), "gross": float(p["gross_return"].sum()), "n": int(len(p))}


def _costs(panel: pd.DataFrame, cfg: SelectionConfig) -> CostInputs:
    cols = ("price", "spread", "adv_dollar", "daily_vol")
    if all(c in panel for c in cols):
        return CostInputs.from_frame(panel)
    default = {"price": 1.0, "spread": cfg.spread_bps * 1e-4, "adv_dollar": 1e6, "daily_vol": 0.02}
    return CostInputs.from_frame(pd.DataFrame(default, index=panel.index))


def paper_positions(model, features: pd.DataFrame, quantile: float = 0.1) -> pd.DataFrame:
    """``asof, symbol, score, weight``: each session's decile long/short tranche from ``model``'s scores."""
    feats = features.sort_values(["asof", "symbol"], kind="mergesort").reset_index(drop=True)
    if feats.empty:
        return pd.DataFrame(
            {
                "asof": pd.Series(dtype="datetime64[ns]"),
                "symbol": pd.Series(dtype=object),
                "score": pd.Series(dtype=float),
                "weight": pd.Series(dtype=float),
            }
        )
    _, codes = np.unique(feats["asof"].to_numpy(), return_inverse=True)
    score = np.asarray(model.predict(feats), dtype=np.float64)
    return pd.DataFrame(
        {
            "asof": feats["asof"].to_numpy(),
            "symbol": feats["symbol"].astype(str).to_numpy(),
            "score": score,
            "weight": decile_weights(score, codes, quantile),
        }
    )


def shadow_book(
    model,
    features: pd.DataFrame,
    labels: pd.DataFrame,
    cfg: SelectionConfig,
    *,
    start,
    end=None,
    costs: pd.DataFrame | None = None,
    name: str = "",
) -> ShadowBook:
    """The paper book of ``model`` over sessions ``[start, end]`` (scores from features known before each open).

    ``model.predict`` takes the feature rows (``asof``, ``symbol``, ``feature_*``); labels give
    the realized ``xret_<horizon>``; ``costs`` the cost inputs as in
    :func:`~quant_assets.models.selection.select_model` (a 1 USD price, ``spread_bps``, 1e6 USD
    ADV and 2% daily volatility without them).
    """
    lo = pd.Timestamp(start)
    hi = pd.Timestamp(end) if end is not None else pd.Timestamp.max
    feats = features[(features["asof"] >= lo) & (features["asof"] <= hi)]
    positions = paper_positions(model, feats, cfg.quantile)
    panel = research_panel(feats, labels, horizon=cfg.horizon, costs=costs)
    cols = ["asof", "gross_return", "cost", "net_return", "cum_net"]
    if panel.empty:
        return ShadowBook(name, positions, pd.DataFrame({c: pd.Series(dtype=float) for c in cols}))
    pred = np.asarray(model.predict(panel), dtype=np.float64)
    times = panel["asof"].to_numpy()
    fn = DecileLongShort(
        times,
        panel["symbol"].to_numpy(),
        _costs(panel, cfg),
        cfg.horizon,
        cfg.book_size,
        cfg.cost_model(),
        cfg.quantile,
    )
    net = fn(pred, panel[cfg.target].to_numpy(dtype=np.float64), times)
    idx = np.arange(len(panel))
    t_u, codes = np.unique(times, return_inverse=True)
    w = decile_weights(pred, codes, cfg.quantile)
    gross = pd.Series(np.bincount(codes, weights=w * panel[cfg.target].to_numpy(np.float64)), index=t_u)
    cost = fn.tranche_costs(idx, w).reindex(t_u).fillna(0.0)
    h = float(cfg.horizon)
    pnl = pd.DataFrame(
        {
            "asof": pd.to_datetime(t_u),
            "gross_return": gross.to_numpy() / h,
            "cost": cost.to_numpy() / h,
            "net_return": net.reindex(t_u).to_numpy() / h,
        }
    )
    return ShadowBook(name, positions, pnl.assign(cum_net=pnl["net_return"].cumsum()))


@dataclass(frozen=True)
class PromotionDecision:
    """``promoted`` and each check's value, threshold and result; ``reasons`` for the failed ones."""

    promoted: bool
    checks: dict[str, dict[str, Any]]
    figures: dict[str, Any]

    @property
    def reasons(self) -> list[str]:
        return [c["reason"] for c in self.checks.values() if not c["passed"]]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "reasons": self.reasons}


def decide_promotion(
    challenger: ShadowBook,
    champion: ShadowBook | None,
    gate: GateVerdict,
    config: ChallengerConfig | None = None,
) -> PromotionDecision:
    """Promote the challenger only if its shadow was long enough, beat the champion net, and the gate passed.

    Both books are compared on the sessions where both have realized PnL (all of the
    challenger's when there is no champion: it must then beat flat, a net PnL above zero).
    """
    cfg = config or ChallengerConfig()
    mine = set(challenger.pnl["asof"])
    common = sorted(mine & set(champion.pnl["asof"])) if champion is not None else sorted(mine)
    ch = challenger.total(common)
    cp = champion.total(common) if champion is not None else {"net": 0.0, "gross": 0.0, "n": len(common)}
    need = cfg.shadow_sessions
    diff = ch["net"] - cp["net"]
    versus = "the champion" if champion is not None else "flat (no champion)"
    checks = {
        "shadow_length": {
            "value": len(common),
            "threshold": need,
            "passed": len(common) >= need,
            "reason": f"shadow of {len(common)} sessions with realized PnL < {need} ({cfg.shadow_weeks} weeks)",
        },
        "beats_champion": {
            "value": diff,
            "threshold": cfg.min_margin,
            "passed": bool(math.isfinite(diff) and diff > cfg.min_margin),
            "reason": (
                f"shadow net PnL {ch['net']:+.4%} does not beat {versus} {cp['net']:+.4%} by more than "
                f"{cfg.min_margin:.4%} (gross {ch['gross']:+.4%} vs {cp['gross']:+.4%})"
            ),
        },
        "go_no_go": {
            "value": bool(gate.passed),
            "threshold": True,
            "passed": bool(gate.passed),
            "reason": "Go/No-Go: " + ("; ".join(gate.reasons) or "failed"),
        },
    }
    figures = {
        "shadow_sessions": len(common),
        "challenger_net": ch["net"],
        "champion_net": cp["net"],
        "challenger_gross": ch["gross"],
        "champion_gross": cp["gross"],
        "first_session": str(pd.Timestamp(common[0]).date()) if common else None,
        "last_session": str(pd.Timestamp(common[-1]).date()) if common else None,
    }
    return PromotionDecision(all(c["passed"] for c in checks.values()), checks, figures)


PROMOTION_FIGURES = (
    "shadow_sessions",
    "challenger_net",
    "champion_net",
    "challenger_gross",
    "champion_gross",
    "n_trials",
    "pbo",
    "dsr",
)
"""The numeric fields of a promotion decision."""
PROMOTION_FIELDS = (
    "decided_at",
    "period",
    "challenger",
    "challenger_version",
    "champion_version",
    "promoted",
    "reasons",
    *PROMOTION_FIGURES,
)


class PromotionLog:
    """Every promotion decision, blocked or not, with why (append-only JSON Lines at ``path``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def record(self, decision: PromotionDecision, **context: Any) -> dict[str, Any]:
        rec = {f: None for f in PROMOTION_FIELDS}
        rec.update({k: v for k, v in decision.figures.items() if k in rec})
        rec.update({k: v for k, v in context.items() if k in rec})
        rec.update(
            decided_at=pd.Timestamp.now(tz="UTC").isoformat(),
            promoted=bool(decision.promoted),
            reasons="; ".join(decision.reasons),
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as fh:
            fh.write(json.dumps(rec, sort_keys=True, default=str) + "\n")
        return rec

    def frame(self) -> pd.DataFrame:
        if not self.path.exists():
            return pd.DataFrame(columns=list(PROMOTION_FIELDS))
        recs = [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
        return pd.DataFrame(recs).reindex(columns=list(PROMOTION_FIELDS))
