"""The candidate models of the equities sleeve, as scikit-learn estimators on the research panel.

Every candidate is a :class:`FeatureModel`: it reads its own feature columns (``feature_*``) from
the panel and fits on its own target column (the excess-return target for regressions, the
triple-barrier label for the classifier), so that one CPCV run can compare candidates fitted on
different targets while measuring all of them on the same realized return. Baselines (the ones
every model must beat net of costs) are :class:`RankScore` estimators that learn nothing.

Missing features: LightGBM handles NaN natively; the linear models impute a NaN z-score by 0,
the cross-sectional mean of a standardized feature (the ``*_missing`` flag columns carry the
fact that it was missing). No other imputation happens here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, clone

__all__ = [
    "ABLATION_PREFIX",
    "FAMILY_PATTERNS",
    "CandidateSpec",
    "FeatureModel",
    "RankScore",
    "build_candidates",
    "feature_families",
    "is_ablation",
]

#: Name prefix of the family ablations of ridge (``ridge_minus_<family>``).
ABLATION_PREFIX = "ridge_minus_"


def is_ablation(name: str) -> bool:
    """Whether a candidate name is a family ablation: a logged diagnostic, not a model to select.

    Examples
    --------
    >>> is_ablation("ridge_minus_value"), is_ablation("ridge")
    (True, False)
    """
    return name.startswith(ABLATION_PREFIX)


#: Feature family by name pattern (first match wins); a column matching none is "other".
FAMILY_PATTERNS: dict[str, str] = {
    "reversal": r"rev|_1d|ret_5d|str_",
    "momentum": r"mom",
    "value": r"value|book|bp|earnings_yield|_ey|pe_|price_to|^ep(_|$)",
    "volatility": r"vol|quart|skew|kurt|downside|disp",
    "liquidity": r"amihud|illiq|turnover|adv|dollar_volume|spread",
    "earnings": r"earn|announce",
    "seasonality": r"dow|day_of_week|turn_of_month|month|season",
    "beta": r"beta",
}


def feature_families(columns: Sequence[str]) -> dict[str, list[str]]:
    """Group ``feature_*`` columns into families by :data:`FAMILY_PATTERNS`.

    Examples
    --------
    >>> feature_families(["feature_mom_12_1", "feature_value_bp", "feature_x"])
    {'momentum': ['feature_mom_12_1'], 'value': ['feature_value_bp'], 'other': ['feature_x']}
    """
    out: dict[str, list[str]] = {}
    for col in columns:
        stem = col.removeprefix("feature_")
        fam = next((f for f, pat in FAMILY_PATTERNS.items() if re.search(pat, stem)), "other")
        out.setdefault(fam, []).append(col)
    return out


def _frame(X: Any) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise TypeError("candidates read named columns: X must be a pandas DataFrame")
    return X


class FeatureModel(BaseEstimator, RegressorMixin):
    """An estimator on selected panel columns and its own target column.

    Parameters
    ----------
    estimator : estimator
        The underlying scikit-learn-style model (cloned on fit).
    features : sequence of str
        Columns of ``X`` the model uses.
    target : str, optional
        Column of ``X`` fitted as the target; default the ``y`` passed to :meth:`fit`.
    kind : {"regress", "classify"}
        ``classify``: the score is ``P(label = 1) - P(label = -1)`` (expected direction).
    impute : bool
        Replace NaN features by 0 (the cross-sectional mean of a z-scored feature).
    """

    def __init__(
        self,
        estimator: Any = None,
        features: Sequence[str] = (),
        target: str | None = None,
        kind: str = "regress",
        impute: bool = True,
    ) -> None:
        self.estimator = estimator
        self.features = features
        self.target = target
        self.kind = kind
        self.impute = impute

    def _x(self, X: Any) -> np.ndarray:
        x = _frame(X)[list(self.features)].to_numpy(dtype=np.float64)
        return np.nan_to_num(x, nan=0.0) if self.impute else x

    def fit(self, X: Any, y: Any = None) -> FeatureModel:
        if self.kind not in ("regress", "classify"):
            raise ValueError(f"kind must be 'regress' or 'classify', got {self.kind!r}")
        if not self.features:
            raise ValueError("features must name at least one column")
        target = np.asarray(y if self.target is None else _frame(X)[self.target], dtype=np.float64)
        ok = np.isfinite(target)
        self.estimator_ = clone(self.estimator).fit(
            self._x(X)[ok], target[ok].astype(np.int64 if self.kind == "classify" else np.float64)
        )
        return self

    def predict(self, X: Any) -> np.ndarray:
        x = self._x(X)
        if self.kind == "regress":
            return np.asarray(self.estimator_.predict(x), dtype=np.float64).ravel()
        proba = self.estimator_.predict_proba(x)
        classes = list(self.estimator_.classes_)
        up = proba[:, classes.index(1)] if 1 in classes else 0.0
        down = proba[:, classes.index(-1)] if -1 in classes else 0.0
        return np.asarray(up - down, dtype=np.float64)

    def contributions(self, X: Any) -> pd.DataFrame:
        """Per-row additive contribution of each feature to the score (linear or tree SHAP)."""
        x = self._x(X)
        est = self.estimator_
        if hasattr(est, "predict") and hasattr(est, "booster_"):
            contrib = est.predict(x, pred_contrib=True)[:, :-1]
        else:
            final = est[-1] if hasattr(est, "steps") else est
            coef = np.atleast_2d(getattr(final, "coef_", np.zeros(len(self.features))))
            if coef.shape[0] > 1:  # multinomial: direction of label 1 against label -1
                classes = list(final.classes_)
                coef = coef[classes.index(1)] - coef[classes.index(-1)]
            coef = np.ravel(coef)
            scale = getattr(est[0], "scale_", None) if hasattr(est, "steps") else None
            mean = getattr(est[0], "mean_", None) if hasattr(est, "steps") else None
            xc = x if mean is None else (x - mean) / np.where(scale > 0, scale, 1.0)
            contrib = xc * coef
        return pd.DataFrame(contrib, columns=list(self.features), index=_frame(X).index)


class RankScore(BaseEstimator, RegressorMixin):
    """Baseline: the equal-weight mean of the cross-sectional ranks of given features (no fitting).

    The score of a row is the mean over ``features`` of ``sign * z`` (NaN ignored; all-NaN
    scores 0): with standardized features this is the classic rank-signal baseline.
    """

    def __init__(self, features: Sequence[str] = (), signs: Sequence[float] | None = None) -> None:
        self.features = features
        self.signs = signs

    def fit(self, X: Any, y: Any = None) -> RankScore:
        self.signs_ = np.ones(len(self.features)) if self.signs is None else np.asarray(self.signs, float)
        return self

    def predict(self, X: Any) -> np.ndarray:
        x = _frame(X)[list(self.features)].to_numpy(dtype=np.float64) * self.signs_
        with np.errstate(invalid="ignore"):
            n = np.isfinite(x).sum(axis=1)
            return np.where(n > 0, np.nansum(x, axis=1) / np.maximum(n, 1), 0.0)

    def contributions(self, X: Any) -> pd.DataFrame:
        x = _frame(X)[list(self.features)].to_numpy(dtype=np.float64) * self.signs_
        n = np.maximum(np.isfinite(x).sum(axis=1, keepdims=True), 1)
        return pd.DataFrame(np.nan_to_num(x) / n, columns=list(self.features), index=_frame(X).index)


@dataclass(frozen=True)
class CandidateSpec:
    """What the candidate set is made of (from the profile's ``models`` block)."""

    xret_target: str = "xret_5"
    label_target: str = "label"
    ridge_alpha: float = 10.0
    logistic_c: float = 0.1
    lgbm_params: Mapping[str, Any] = field(
        default_factory=lambda: {
            "n_estimators": 60,
            "learning_rate": 0.05,
            "num_leaves": 7,
            "min_child_samples": 200,
            "subsample": 0.7,
            "subsample_freq": 1,
            "colsample_bytree": 0.8,
            "reg_lambda": 10.0,
        }
    )
    #: Monotone direction of each family in LightGBM (+1 / -1); families not listed are free.
    monotone: Mapping[str, int] = field(default_factory=lambda: {"momentum": 1, "value": 1})
    ablation: bool = True
    lightgbm: bool = True
    seed: int = 0


def _baseline_columns(families: Mapping[str, list[str]], family: str) -> list[str]:
    cols = [c for c in families.get(family, []) if not c.endswith("_missing")]
    if family == "momentum":  # the classic 12-1 cross-sectional momentum when present
        pick = [c for c in cols if re.search(r"12_1|12m_1|xs", c)]
        cols = pick[:1] or cols[:1]
    return cols


def build_candidates(feature_cols: Sequence[str], spec: CandidateSpec | None = None) -> dict[str, BaseEstimator]:
    """The candidate set: baselines, ridge, logistic, LightGBM and family ablations of ridge.

    Baselines: ``baseline_momentum`` (cross-sectional 12-1 momentum rank), ``baseline_value``
    (equal-weight value ranks), ``baseline_blend`` (both, equal weight). ``ridge`` fits the
    excess-return target, ``logistic`` the triple-barrier label, ``lightgbm`` the excess-return
    target with monotone constraints by family. ``ridge_minus_<family>`` drops one family:
    the ablations measure what each family adds and are logged as trials (they count in the
    DSR's multiplicity), but they are near-copies of ``ridge`` and not contenders (see
    :func:`is_ablation` and :func:`~quant_assets.models.selection.select_model`).
    """
    from lightgbm import LGBMRegressor
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    spec = spec or CandidateSpec()
    cols = list(feature_cols)
    fams = feature_families(cols)
    out: dict[str, BaseEstimator] = {}
    mom, val = _baseline_columns(fams, "momentum"), _baseline_columns(fams, "value")
    if mom:
        out["baseline_momentum"] = RankScore(mom)
    if val:
        out["baseline_value"] = RankScore(val)
    if mom and val:
        out["baseline_blend"] = RankScore([*mom, *val])

    def ridge(features: list[str]) -> FeatureModel:
        return FeatureModel(
            make_pipeline(StandardScaler(), Ridge(alpha=spec.ridge_alpha)), features, target=spec.xret_target
        )

    out["ridge"] = ridge(cols)
    out["logistic"] = FeatureModel(
        make_pipeline(StandardScaler(), LogisticRegression(C=spec.logistic_c, max_iter=200)),
        cols,
        target=spec.label_target,
        kind="classify",
    )
    if spec.lightgbm:
        family_of = {c: f for f, cs in fams.items() for c in cs}
        constraints = [int(spec.monotone.get(family_of[c], 0)) if not c.endswith("_missing") else 0 for c in cols]
        out["lightgbm"] = FeatureModel(
            LGBMRegressor(
                **{
                    **dict(spec.lgbm_params),
                    "monotone_constraints": constraints,
                    "random_state": spec.seed,
                    "n_jobs": 1,
                    "deterministic": True,
                    "force_col_wise": True,
                    "verbose": -1,
                }
            ),
            cols,
            target=spec.xret_target,
            impute=False,
        )
    if spec.ablation and len(fams) > 1:
        for fam, fcols in fams.items():
            keep = [c for c in cols if c not in fcols]
            out[f"{ABLATION_PREFIX}{fam}"] = ridge(keep)
    return out
