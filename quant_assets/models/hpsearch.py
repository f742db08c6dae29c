"""Hyper-parameter search with a fixed trial budget per period, every trial in the multiplicity log.

A trial is one configuration of the challenger family: which feature families it reads and
the ridge penalty (:class:`SearchSpace`). Optuna's seeded TPE sampler proposes ``budget``
configurations per period (Bergstra et al. 2011, "Algorithms for Hyper-Parameter
Optimization"; Akiba et al. 2019, "Optuna"); a study stored on disk carries what earlier
periods learned into the next one. All the period's trials are then compared in *one* CPCV run
of :func:`~quant_assets.models.selection.select_model`, so the PBO is across the trials and the
DSR counts every trial ever logged, this period's included (a proposal that could not be
evaluated, e.g. with every family switched off, is logged too, without a Sharpe ratio, so the
count stays conservative). The trials that were not selected, and any that failed, are archived
(append-only JSON Lines) with why.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quant_assets.config.fields import reject_unknown_fields
from quant_assets.models.candidates import FeatureModel, feature_families
from quant_assets.models.selection import SelectionConfig, SelectionResult, select_model
from quant_assets.models.trials import TrialsLog

__all__ = ["SearchConfig", "SearchOutcome", "SearchSpace", "hyperparameter_search", "ridge_on"]


@dataclass(frozen=True)
class SearchSpace:
    """Ridge penalty range (log-uniform) and the feature families a trial may switch off."""

    alpha_low: float = 0.1
    alpha_high: float = 1000.0
    families: Sequence[str] | None = None  # None: every family of the panel


@dataclass(frozen=True)
class SearchConfig:
    """The profile's ``governance.search`` block: trials per period, seed, where the study lives."""

    budget: int = 8
    seed: int = 0
    space: SearchSpace = field(default_factory=SearchSpace)

    def __post_init__(self) -> None:
        if self.budget < 2:
            raise ValueError(f"budget must be >= 2 (PBO compares trials), got {self.budget}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> SearchConfig:
        d = dict(d or {})
        space = SearchSpace(**(d.pop("space", None) or {}))
        reject_unknown_fields(cls, d, "governance.search")
        return cls(**d, space=space)


@dataclass
class SearchOutcome:
    """The selection over the period's trials, the trials' table and the archived lines."""

    selection: SelectionResult
    trials: pd.DataFrame
    archived: list[dict[str, Any]]
    study_name: str


def ridge_on(features: Sequence[str], alpha: float, target: str) -> FeatureModel:
    """The challenger family: standardized ridge on ``features`` fitted on ``target``."""
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return FeatureModel(make_pipeline(StandardScaler(), Ridge(alpha=alpha)), list(features), target=target)


def _propose(trial, fams: Mapping[str, list[str]], space: SearchSpace) -> tuple[list[str], float]:
    names = [f for f in fams if space.families is None or f in space.families]
    on = [f for f in names if trial.suggest_categorical(f"use_{f}", [True, False])]
    alpha = trial.suggest_float("alpha", space.alpha_low, space.alpha_high, log=True)
    keep = [c for f in fams if f in on or f not in names for c in fams[f]]
    return keep, alpha


def hyperparameter_search(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    selection: SelectionConfig,
    search: SearchConfig | None = None,
    *,
    period: str,
    trials_log: TrialsLog,
    archive: str | Path | None = None,
    storage: str | None = None,
    costs: pd.DataFrame | None = None,
    as_of=None,
    run_id: str = "",
) -> SearchOutcome:
    """Propose ``budget`` configurations, compare them under CPCV in one selection, archive the losers.

    ``period`` names the period (e.g. the training date): one study per model family, the
    budget spent per call. ``storage`` (an Optuna storage URL) keeps the study across periods.
    """
    import optuna

    cfg = search or SearchConfig()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cols = [c for c in features.columns if c.startswith("feature_")]
    fams = feature_families(cols)
    study = optuna.create_study(
        study_name="challenger_ridge",
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=cfg.seed + len(trials_log)),
        storage=storage,
        load_if_exists=True,
    )
    proposed, candidates = [], {}
    for _ in range(cfg.budget):
        trial = study.ask()
        keep, alpha = _propose(trial, fams, cfg.space)
        name = f"{period}_t{trial.number:03d}"
        if not keep:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            proposed.append((trial, name, None, "no feature family switched on"))
            continue
        candidates[name] = ridge_on(keep, alpha, selection.target)
        proposed.append(
            (trial, name, {"alpha": alpha, "families": sorted(f for f in fams if set(fams[f]) & set(keep))}, "")
        )
    if len(candidates) < 2:
        raise ValueError(f"only {len(candidates)} usable trial(s) out of {cfg.budget}: the search space is too narrow")
    result = select_model(
        features,
        labels,
        selection,
        costs=costs,
        as_of=as_of,
        trials_log=trials_log,
        run_id=run_id,
        walk_forward=False,
        candidates=candidates,
    )
    rows, archived, failed = [], [], []
    for trial, name, params, failure in proposed:
        if failure:
            archived.append(
                {"period": period, "trial": name, "state": "failed", "reason": failure, "params": trial.params}
            )
            rows.append(
                {
                    "trial": name,
                    "alpha": trial.params.get("alpha"),
                    "families": [],
                    "sharpe_ann": np.nan,
                    "selected": False,
                    "state": "failed",
                }
            )
            failed.append(
                {
                    "run_id": run_id,
                    "recorded_at": pd.Timestamp.now(tz="UTC").isoformat(),
                    "candidate": name,
                    "feature_set": "none",
                    "n_features": 0,
                    "params": trial.params,
                    "selected": False,
                }
            )
            continue
        sharpe = float(result.candidates.loc[name, "sharpe_ann"])
        study.tell(trial, sharpe if math.isfinite(sharpe) else float("-inf"))
        selected = name == result.selected
        rows.append({"trial": name, **params, "sharpe_ann": sharpe, "selected": selected, "state": "complete"})
        if not selected:
            archived.append(
                {
                    "period": period,
                    "trial": name,
                    "state": "not_selected",
                    "reason": f"OOS net Sharpe {sharpe:.2f} below the selected {result.selected}",
                    "params": params,
                }
            )
    # A proposal that could not be evaluated is still a trial of the search: it counts in the log.
    trials_log.append(failed)
    if archive is not None:
        path = Path(archive)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as fh:
            for line in archived:
                fh.write(json.dumps(line, sort_keys=True, default=str) + "\n")
    return SearchOutcome(result, pd.DataFrame(rows), archived, study.study_name)
