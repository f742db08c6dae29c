"""Model selection for the equities sleeve: CPCV on net decile long/short paths, PBO, DSR, gate.

:func:`select_model` joins the feature panel (scores for session ``t`` from data to the close
of ``t - 1``) with the labels entered at ``t``, keeps only labels whose every exit is before
the as-of date (a model trained as of ``d`` sees labels with ``exit_date < d``), seals the dark
hold-out away, and evaluates every candidate of :func:`~quant_assets.models.candidates.build_candidates`
with :func:`~quant_assets.validation.run_cpcv` (purging on the label's last exit, embargo in
sessions) on the net tranche returns of :class:`~quant_assets.models.portfolio.DecileLongShort`.

Assessment of the selection (the contender with the best mean path Sharpe; contenders are the
candidates except the family ablations of ridge, which are evaluated and logged as trials but
are near-copies of ``ridge``, not alternative models):

* PBO across the contenders (Bailey, Borwein, López de Prado and Zhu 2017) on the same CPCV
  path returns. Near-duplicate variants would make the in-sample winner's out-of-sample rank a
  coin toss among equals and push PBO towards 1/2 even where the edge is real; they still count
  as trials in the DSR;
* the expected maximum Sharpe of all trials so far and the DSR (Bailey and López de Prado
  2014) with the real trial count of the multiplicity log, the number of independent
  observations ``T / horizon`` (tranches overlap ``horizon`` sessions) and, as the variance of
  zero-skill Sharpe estimates, their sampling variance ``1 / (T / horizon - 1)``;
* walk-forward (expanding window) of the selected candidate as a realism check (reported,
  not gated);
* the gate (:func:`~quant_assets.models.gate.evaluate_gate`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from quant_assets.config.fields import reject_unknown_fields
from quant_assets.execution import DEFAULT_IMPACT_Y, CostModel
from quant_assets.models.candidates import CandidateSpec, build_candidates, is_ablation
from quant_assets.models.gate import GateConfig, GateVerdict, evaluate_gate
from quant_assets.models.holdout import DarkHoldout, SealedFrame, seal
from quant_assets.models.portfolio import (
    SESSIONS_PER_YEAR,
    CostInputs,
    DecileLongShort,
    annualized_sharpe,
    max_drawdown,
)
from quant_assets.models.scoring import ScoringModel
from quant_assets.models.trials import TrialsLog
from quant_assets.validation import probability_of_backtest_overfitting, run_cpcv, selection_dsr

__all__ = ["SelectionConfig", "SelectionResult", "research_panel", "select_model"]


@dataclass(frozen=True)
class SelectionConfig:
    """Settings of a selection run (the profile's ``models`` block).

    ``book_size`` is the capital of the whole book in USD: costs (impact especially) are stated
    at that size.
    """

    horizon: int = 5
    n_folds: int = 8
    n_test_folds: int = 2
    embargo_days: int = 10
    pbo_blocks: int = 16
    book_size: float = 10_000_000.0
    fee_bps: float = 0.5
    spread_bps: float = 5.0
    impact_y: float = DEFAULT_IMPACT_Y
    quantile: float = 0.1
    walk_forward_steps: int = 4
    n_jobs: int = 1
    gate: GateConfig = field(default_factory=GateConfig)
    candidates: CandidateSpec = field(default_factory=CandidateSpec)
    holdout: DarkHoldout | None = None

    @property
    def target(self) -> str:
        return f"xret_{self.horizon}"

    def cost_model(self) -> CostModel:
        return CostModel(fee_bps=self.fee_bps, impact_y=self.impact_y)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> SelectionConfig:
        """From a profile's ``models`` block (``gate``, ``holdout``, ``candidates`` sub-blocks)."""
        d = dict(d or {})
        gate = GateConfig.from_dict(d.pop("gate", None))
        holdout = DarkHoldout.from_dict(d.pop("holdout", None))
        cand = dict(d.pop("candidates", None) or {})
        horizon = int(d.get("horizon", 5))
        cand.setdefault("xret_target", f"xret_{horizon}")
        d.pop("tracking", None)
        d.pop("top_n", None)
        reject_unknown_fields(cls, d, "models settings")
        return cls(**d, gate=gate, holdout=holdout, candidates=CandidateSpec(**cand))


@dataclass
class SelectionResult:
    """Everything a selection run produced (see :func:`select_model`)."""

    selected: str
    candidates: pd.DataFrame
    path_returns: dict[str, pd.DataFrame]
    pbo: Any
    pbo_value: float
    dsr: dict[str, float]
    gate: GateVerdict
    walk_forward: dict[str, float]
    scorer: ScoringModel
    trials: list[dict[str, Any]]
    cpcv: dict[str, Any]
    data_hash: str
    n_rows: int
    n_sessions: int
    holdout: SealedFrame | None = None
    as_of: pd.Timestamp | None = None

    def headline(self) -> dict[str, Any]:
        """The numbers worth a glance: selection, OOS net Sharpe, drawdown, PBO, DSR, verdict."""
        row = self.candidates.loc[self.selected]
        return {
            "selected": self.selected,
            "oos_net_sharpe": float(row["sharpe_ann"]),
            "max_drawdown": float(row["max_drawdown"]),
            "rank_ic": float(row["rank_ic"]),
            "pbo": self.pbo_value,
            "dsr": self.dsr["dsr"],
            "expected_max_sharpe_ann": self.dsr["expected_max_sharpe_ann"],
            "n_trials": int(self.dsr["n_trials"]),
            "walk_forward_sharpe": self.walk_forward.get("sharpe_ann", float("nan")),
            "gate_passed": self.gate.passed,
            "gate_reasons": "; ".join(self.gate.reasons) or "all checks passed",
            "n_rows": self.n_rows,
            "n_sessions": self.n_sessions,
            "data_hash": self.data_hash,
        }


def research_panel(
    features: pd.DataFrame, labels: pd.DataFrame, as_of=None, horizon: int = 5, costs: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Features at ``asof = t`` joined with labels entered at ``t``, usable as of ``as_of``.

    A row is kept only if the targets the candidates fit are known before ``as_of`` (all rows
    if ``as_of`` is None): its ``xret_<horizon>`` (exit ``exit_date_<horizon>``, entry +
    ``horizon`` - 1) and its triple-barrier label (``exit_date``, the classifier's target). Adds
    ``label_end``, the later of those two exits: what the as-of cut, purging and the embargo use.
    The label panel's ``known_date`` (the latest exit of *every* horizon, e.g. the 20-session one)
    is deliberately not used: a 5-session model purged by a 20-session exit loses three weeks of
    training data around every test fold for nothing; instead, the targets of longer horizons not
    known before ``as_of`` (and ``known_date``) are blanked (NaN, NaT). Adds, when given, the cost inputs of
    ``costs`` (``date, symbol, price, spread, adv_dollar, daily_vol``) at the entry session.
    """
    target, exit_h = f"xret_{horizon}", f"exit_date_{horizon}"
    lab = labels.rename(columns={"entry_date": "asof"})
    panel = features.merge(lab, on=["asof", "symbol"], how="inner", validate="one_to_one")
    panel = panel[np.isfinite(panel[target].to_numpy(dtype=np.float64))]
    end = pd.to_datetime(panel[exit_h]) if exit_h in panel.columns else pd.to_datetime(panel["exit_date"])
    panel = panel.assign(label_end=np.maximum(pd.to_datetime(panel["exit_date"]).fillna(end), end))
    if as_of is not None:
        as_of = pd.Timestamp(as_of)
        panel = panel[panel["label_end"] < as_of].copy()
        # Longer horizons' targets (and the label's known date) not known before as_of are blanked.
        for col in [c for c in panel.columns if c.startswith("exit_date_") or c == "known_date"]:
            late = (pd.to_datetime(panel[col]) >= as_of).to_numpy()
            h = col.removeprefix("exit_date_")
            panel.loc[late, [c for c in (f"ret_fwd_{h}", f"xret_{h}") if c in panel.columns]] = np.nan
            panel.loc[late, col] = pd.NaT
    if costs is not None:
        panel = panel.merge(costs.rename(columns={"date": "asof"}), on=["asof", "symbol"], how="left")
    return panel.sort_values(["asof", "symbol"], kind="mergesort").reset_index(drop=True)


def _data_hash(panel: pd.DataFrame) -> str:
    h = hashlib.sha256()
    h.update(",".join(panel.columns).encode())
    h.update(pd.util.hash_pandas_object(panel, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _contest(out: Mapping[str, Any], contenders: list[str], pbo_blocks: int) -> dict[str, Any]:
    """Selection (best mean path Sharpe) and PBO restricted to ``contenders`` of a ``run_cpcv`` output."""
    mean = out["path_sharpe"].mean(axis=1).reindex(contenders)
    selected = str(mean.idxmax()) if mean.notna().any() else contenders[0]
    if len(contenders) < 2:
        return {"selected": selected, "pbo": None, "pbo_value": float("nan"), "pbo_reason": "PBO needs 2 contenders"}
    avg = pd.DataFrame({n: out["path_returns"][n].mean(axis=1) for n in contenders})
    try:
        res = probability_of_backtest_overfitting(avg, n_blocks=pbo_blocks)
    except ValueError as exc:
        return {"selected": selected, "pbo": None, "pbo_value": float("nan"), "pbo_reason": str(exc)}
    return {"selected": selected, "pbo": res, "pbo_value": float(res.pbo), "pbo_reason": None}


def _walk_forward(
    panel: pd.DataFrame, estimator, returns_fn: DecileLongShort, cfg: SelectionConfig, target: np.ndarray
) -> dict[str, float]:
    """Expanding-window walk-forward of one candidate over the second half of the sessions."""
    sessions = np.unique(panel["asof"].to_numpy())
    if sessions.size < 4 * cfg.walk_forward_steps or cfg.walk_forward_steps < 1:
        return {}
    starts = np.array_split(sessions[sessions.size // 2 :], cfg.walk_forward_steps)
    pieces = []
    asof, end = panel["asof"].to_numpy(), panel["label_end"].to_numpy()
    for block in starts:
        first = block[0]
        cut = sessions[max(0, np.searchsorted(sessions, first) - cfg.embargo_days)]
        train = np.flatnonzero(end < cut)
        test = np.flatnonzero(np.isin(asof, block))
        if train.size == 0 or test.size == 0:
            continue
        model = clone(estimator).fit(panel.iloc[train], target[train])
        pred = np.asarray(model.predict(panel.iloc[test]), dtype=np.float64)
        pieces.append(returns_fn(pred, target[test], asof[test]))
    if not pieces:
        return {}
    r = pd.concat(pieces)
    return {
        "sharpe_ann": annualized_sharpe(r, cfg.horizon),
        "max_drawdown": max_drawdown(r / cfg.horizon),
        "n_sessions": int(r.size),
    }


def select_model(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    config: SelectionConfig | None = None,
    *,
    costs: pd.DataFrame | None = None,
    as_of=None,
    trials_log: TrialsLog | None = None,
    run_id: str = "",
    diagram_path: str | Path | None = None,
    walk_forward: bool = True,
    candidates: Mapping[str, Any] | None = None,
) -> SelectionResult:
    """Evaluate the candidates under CPCV, select one, assess it and apply the gate.

    Parameters
    ----------
    features : DataFrame
        ``asof, symbol, feature_*`` (``quant_assets.features.build_feature_panel``).
    labels : DataFrame
        ``entry_date, symbol, exit_date, label, xret_<h>, exit_date_<h>`` and more
        (``quant_assets.labels.build_label_panel``).
    config : SelectionConfig, optional
    costs : DataFrame, optional
        Cost inputs (:func:`~quant_assets.models.costs.cost_inputs_from_wide`); without them
        every name trades at a 1 USD price, ``spread_bps`` spread, the median ADV of 1e6 USD
        and 2% daily volatility.
    as_of : date-like, optional
        Training as of this session: only labels with every exit before it.
    trials_log : TrialsLog, optional
        The multiplicity log; this run's trials are appended to it (in memory if None).
    run_id : str
        Written with every trial.
    diagram_path : path, optional
        Where the CPCV fold diagram PNG goes.
    walk_forward : bool
        Run the walk-forward realism check.
    candidates : mapping, optional
        Name -> estimator to compare instead of :func:`build_candidates` (a hyper-parameter
        search's trials: PBO is then across them).
    """
    cfg = config or SelectionConfig()
    log = trials_log if trials_log is not None else TrialsLog()
    panel = research_panel(features, labels, as_of=as_of, horizon=cfg.horizon, costs=costs)
    panel, sealed = seal(panel, cfg.holdout, date_cols=("asof", "label_end"))
    panel = panel.reset_index(drop=True)
    if panel.empty:
        raise ValueError("no labelled rows are usable for selection (check as_of and the hold-out)")
    feature_cols = [c for c in features.columns if c.startswith("feature_")]
    cands = dict(candidates) if candidates is not None else build_candidates(feature_cols, cfg.candidates)
    y = panel[cfg.target].to_numpy(dtype=np.float64)
    cost_frame = (
        panel
        if costs is not None
        else pd.DataFrame(
            {"price": 1.0, "spread": cfg.spread_bps * 1e-4, "adv_dollar": 1e6, "daily_vol": 0.02}, index=panel.index
        )
    )
    returns_fn = DecileLongShort(
        panel["asof"].to_numpy(),
        panel["symbol"].to_numpy(),
        CostInputs.from_frame(cost_frame),
        cfg.horizon,
        cfg.book_size,
        cfg.cost_model(),
        cfg.quantile,
    )
    prior = len(log)
    out = run_cpcv(
        panel,
        y,
        panel["asof"].to_numpy(),
        cfg.embargo_days,
        label_end=panel["label_end"].to_numpy(),
        candidates=cands,
        n_folds=cfg.n_folds,
        n_test_folds=cfg.n_test_folds,
        n_jobs=cfg.n_jobs,
        n_trials=prior + len(cands),
        returns_fn=returns_fn,
        pbo_blocks=cfg.pbo_blocks,
        diagram_path=diagram_path,
    )
    names = list(cands)
    ann = math.sqrt(SESSIONS_PER_YEAR / cfg.horizon)
    sharpe_obs = out["path_sharpe"].mean(axis=1)
    contenders = [n for n in names if not is_ablation(n)] or names
    out = {**out, **_contest(out, contenders, cfg.pbo_blocks)}
    by_cand = out["metrics"].groupby("candidate")
    rows = []
    for n in names:
        paths = out["path_returns"][n]
        dd = [max_drawdown(paths[c] / cfg.horizon) for c in paths.columns]
        rows.append(
            {
                "candidate": n,
                "sharpe_obs": float(sharpe_obs[n]),
                "sharpe_ann": float(sharpe_obs[n] * ann),
                "sharpe_ann_min_path": float(out["path_sharpe"].loc[n].min() * ann),
                "max_drawdown": float(np.median(dd)),
                "mean_return": float(paths.mean().mean()),
                "rank_ic": float(by_cand.get_group(n)["rank_ic"].mean()),
                "ic": float(by_cand.get_group(n)["ic"].mean()),
                "n_features": len(getattr(cands[n], "features", ())),
                "contender": n in contenders,
            }
        )
    table = pd.DataFrame(rows).set_index("candidate")
    selected = out["selected"]
    table["selected"] = table.index == selected

    # DSR with every trial so far (the count from the log plus this run). The null is "no trial
    # has skill": the Sharpe estimates then scatter with the sampling variance of a zero Sharpe,
    # 1 / (T - 1) over T independent observations (Lo 2002; Mertens 2002 at SR = 0). The spread
    # of the trials' own Sharpe ratios is reported but not used: on a market with an edge it
    # measures how different the candidates are (a poor baseline widens it), not luck.
    n_trials, var_observed = log.sharpe_stats(table["sharpe_obs"].tolist())
    sr = float(table.loc[selected, "sharpe_obs"])
    n_sessions = int(np.unique(panel["asof"]).size)
    n_obs = max(n_sessions / cfg.horizon, 2.0)
    var_trials = 1.0 / (n_obs - 1.0)
    dsr_info = selection_dsr(out["path_returns"][selected], sr, n_obs, n_trials, var_trials, ann)
    dsr_info["var_trials_observed"] = var_observed
    dsr = dsr_info["dsr"]
    verdict = evaluate_gate(
        sharpe=float(table.loc[selected, "sharpe_ann"]),
        max_drawdown=float(table.loc[selected, "max_drawdown"]),
        pbo=out["pbo_value"],
        sharpe_obs=sr,
        expected_max_sharpe_obs=dsr_info["expected_max_sharpe_obs"],
        dsr=dsr,
        config=cfg.gate,
    )
    wf = _walk_forward(panel, cands[selected], returns_fn, cfg, y) if walk_forward else {}

    final = clone(cands[selected]).fit(panel, y)
    scorer = ScoringModel(final, getattr(final, "features", ()), cfg.horizon, selected).fit(panel, y)
    data_hash = _data_hash(panel[["asof", "symbol", *feature_cols, cfg.target]])
    describe = {
        n: {
            "candidate": n,
            "feature_set": n.removeprefix("ridge_minus_") if n.startswith("ridge_minus_") else "all",
            "params": _params(cands[n]),
        }
        for n in names
    }
    trials = log.append_candidates(table, describe, run_id=run_id, data_hash=data_hash)
    return SelectionResult(
        selected=selected,
        candidates=table,
        path_returns=out["path_returns"],
        pbo=out["pbo"],
        pbo_value=float(out["pbo_value"]),
        dsr=dsr_info,
        gate=verdict,
        walk_forward=wf,
        scorer=scorer,
        trials=trials,
        cpcv=out,
        data_hash=data_hash,
        n_rows=len(panel),
        n_sessions=n_sessions,
        holdout=sealed,
        as_of=None if as_of is None else pd.Timestamp(as_of),
    )


def _params(estimator) -> dict[str, Any]:
    """Flat, JSON-friendly hyper-parameters of a candidate (feature lists as counts)."""
    out = {}
    for k, v in estimator.get_params(deep=True).items():
        if k in ("features", "signs") or k.endswith("__features"):
            out[k] = len(v) if v is not None else None
        elif isinstance(v, (int, float, str, bool)) or v is None:
            out[k] = v
        elif isinstance(v, (list, tuple)) and len(v) < 50:
            out[k] = list(v)
    return out
