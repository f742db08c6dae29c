"""The scoring model: a selected candidate plus its calibration to expected excess return.

:class:`ScoringModel` turns a candidate's raw score into an expected ``horizon``-session excess
return with a linear calibration fitted on the training rows (the score's cross-sectional
z-score regressed on the realized excess return), so baselines, regressions and classifiers
all speak in the same unit. :func:`score_frame` produces the daily ``equity_scores`` rows:
expected excess return, a confidence and the top feature contributions per name.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin

__all__ = ["ScoringModel", "cross_sectional_z", "score_frame"]


def cross_sectional_z(values: np.ndarray, dates: np.ndarray) -> np.ndarray:
    """Z-score of ``values`` within each date (0 where a date has no dispersion)."""
    s = pd.Series(np.asarray(values, dtype=np.float64))
    g = s.groupby(np.asarray(dates))
    mean, std = g.transform("mean"), g.transform("std", ddof=0)
    return np.where(std > 0, (s - mean) / std.where(std > 0, 1.0), 0.0)


class ScoringModel(BaseEstimator, RegressorMixin):
    """A fitted candidate with the calibration ``expected = intercept + slope * z(score)``.

    ``predict`` takes the candidate's feature columns plus ``asof`` (the cross-section each row
    belongs to) and returns the expected excess return over ``horizon`` sessions.
    """

    def __init__(self, model: Any = None, features: Sequence[str] = (), horizon: int = 5, name: str = "") -> None:
        self.model = model
        self.features = features
        self.horizon = horizon
        self.name = name

    def fit(self, X: pd.DataFrame, y: Any) -> ScoringModel:
        """Fit the calibration on rows already scored out of sample or in sample by ``model``."""
        z = cross_sectional_z(self.model.predict(X), X["asof"].to_numpy())
        yv = np.asarray(y, dtype=np.float64)
        ok = np.isfinite(yv)
        var = float(np.var(z[ok]))
        self.slope_ = float(np.cov(z[ok], yv[ok], ddof=0)[0, 1] / var) if var > 0 else 0.0
        self.intercept_ = 0.0  # excess returns are centred by construction
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        z = cross_sectional_z(self.model.predict(X), X["asof"].to_numpy())
        return self.intercept_ + self.slope_ * z


def score_frame(scorer: ScoringModel, features: pd.DataFrame, top_k: int = 3) -> pd.DataFrame:
    """Daily scores: ``asof``, ``symbol``, ``expected_excess_return``, ``confidence``, ``rationale``.

    ``confidence`` is ``|2u - 1|`` with ``u`` the name's cross-sectional percentile of the score
    (0 at the median, 1 at either extreme: how far into the tails the model puts the name);
    ``rationale`` is a JSON list of the ``top_k`` features by absolute contribution to the score
    (``[{"feature": ..., "contribution": ...}]``, in the model's score units).
    """
    X = features.reset_index(drop=True)
    expected = scorer.predict(X)
    u = pd.Series(expected).groupby(X["asof"].to_numpy()).rank(pct=True, method="average").to_numpy()
    n = X.groupby("asof")["symbol"].transform("size").to_numpy()
    conf = np.where(n > 1, np.abs(2.0 * (u - 0.5 / n) * n / np.maximum(n - 1, 1) - 1.0), 0.0)
    contrib = scorer.model.contributions(X)
    vals = contrib.to_numpy()
    order = np.argsort(-np.abs(np.nan_to_num(vals)), axis=1)[:, :top_k]
    names = np.asarray(contrib.columns)
    rationale = [
        json.dumps(
            [
                {"feature": str(names[j]).removeprefix("feature_"), "contribution": round(float(vals[i, j]), 6)}
                for j in order[i]
            ]
        )
        for i in range(len(X))
    ]
    return pd.DataFrame(
        {
            "asof": pd.to_datetime(X["asof"]).to_numpy(),
            "symbol": X["symbol"].astype(str).to_numpy(),
            "expected_excess_return": expected,
            "horizon_sessions": scorer.horizon,
            "confidence": np.clip(conf, 0.0, 1.0),
            "rationale": rationale,
            "model": scorer.name,
        }
    )
