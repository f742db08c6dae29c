r"""Selection of the vol forecasters through the core CPCV, PBO and DSR path.

One selection per forecast (``straddle_pnl``: the delta-hedged straddle PnL of the forecast
horizon; ``iv_change``: the ATM IV change over it). The panel joins the features of ``asof = t``
(data through ``t-1``) with the labels entered at the close of ``t`` whose ``known_date`` is
before the as-of date; purging uses the horizon's exit (``exit_date_<h>``).

Every candidate is judged by the same money metric, :class:`StraddleBook`: at each entry
session hold ``sign(forecast)`` delta-hedged straddles per underlier (long when the forecast says
the straddle gains or IV rises, short otherwise), equal premium each, and earn the realized
straddle PnL minus the round-trip cost, per tranche, annualized with :math:`\sqrt{252/h}`.

Candidates: the VRP baseline (minus the implied-minus-realized variance, learns nothing), a ridge
and LightGBM regressions (missing features imputed by the training median for the ridge, native
for LightGBM). Assessment as in :mod:`quant_assets.models.selection`: PBO across candidates
(Bailey, Borwein, López de Prado & Zhu 2017) from :func:`~quant_assets.validation.run_cpcv`, DSR
(Bailey & López de Prado 2014) with the trial count and Sharpe dispersion of the append-only
:class:`~quant_assets.models.TrialsLog` plus this run, and the gate of :mod:`quant_assets.models.gate`.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, RegressorMixin, clone

from quant_assets.models.candidates import FeatureModel, RankScore
from quant_assets.models.gate import GateVerdict, evaluate_gate
from quant_assets.models.portfolio import SESSIONS_PER_YEAR, max_drawdown
from quant_assets.models.trials import TrialsLog
from quant_assets.options.forecast.config import VolForecastConfig
from quant_assets.validation import run_cpcv, selection_dsr

__all__ = [
    "StraddleBook",
    "VolForecaster",
    "VolSelectionResult",
    "readiness",
    "select_vol_model",
    "vol_candidates",
    "vol_panel",
]


def vol_panel(features: pd.DataFrame, labels: pd.DataFrame, cfg: VolForecastConfig, as_of=None) -> pd.DataFrame:
    """Features of ``asof = t`` joined with the labels entered at ``t``, known before ``as_of``.

    Keeps rows whose forecast targets and straddle PnL are finite; adds ``label_end``
    (``exit_date_<horizon>``, what purging uses).
    """
    h = cfg.horizon
    lab = labels.rename(columns={"entry_date": "asof"})
    panel = features.merge(lab, on=["asof", "underlier"], how="inner", validate="one_to_one")
    needed = [*cfg.targets.values()]
    panel = panel[np.isfinite(panel[needed].to_numpy(np.float64)).all(axis=1)]
    if as_of is not None:
        panel = panel[pd.to_datetime(panel["known_date"]) < pd.Timestamp(as_of)]
    panel = panel.assign(label_end=pd.to_datetime(panel[f"exit_date_{h}"]))
    return panel.sort_values(["asof", "underlier"], kind="mergesort").reset_index(drop=True)


def readiness(features: pd.DataFrame, labels: pd.DataFrame, cfg: VolForecastConfig, as_of) -> str:
    """Why a selection cannot run as of ``as_of`` ('' when it can): every fold must outlast purge + embargo."""
    if features.empty or labels.empty:
        return "no stored vol features or labels"
    panel = vol_panel(features, labels, cfg, as_of)
    n = int(panel["asof"].nunique())
    fold, need = n // cfg.n_folds, cfg.embargo_days + cfg.horizon + 1
    if fold < need:
        return (
            f"{n} labelled sessions before {pd.Timestamp(as_of).date()}: folds of {fold} sessions, "
            f"{need} needed for {cfg.n_folds} folds (embargo {cfg.embargo_days} + horizon {cfg.horizon})"
        )
    return ""


class StraddleBook:
    """``returns_fn`` of :func:`~quant_assets.validation.run_cpcv`: ``sign(forecast)`` straddles, net of costs.

    Bound to the panel's entry sessions and realized straddle PnL (bps of premium); a CPCV test set
    is every row of its test sessions in panel order. The return of a session's tranche is the
    mean over its underliers of ``sign(forecast) * pnl - |sign(forecast)| * cost``, a fraction of
    the premium held.
    """

    def __init__(self, times, pnl_bps, cost_bps: float) -> None:
        self.times = np.asarray(times)
        self.pnl = np.asarray(pnl_bps, dtype=np.float64) * 1e-4
        self.cost = float(cost_bps) * 1e-4

    def __call__(self, prediction, y, groups) -> pd.Series:
        groups = np.asarray(groups)
        idx = np.flatnonzero(np.isin(self.times, np.unique(groups)))
        if idx.size != groups.size or not np.array_equal(self.times[idx], groups):
            raise ValueError("the test rows are not all rows of their sessions in panel order")
        times, codes = np.unique(groups, return_inverse=True)
        w = np.sign(np.asarray(prediction, dtype=np.float64))
        n = np.bincount(codes, minlength=times.size)
        net = np.bincount(codes, weights=w * self.pnl[idx] - np.abs(w) * self.cost, minlength=times.size)
        return pd.Series(net / np.maximum(n, 1), index=times)


def vol_candidates(feature_cols, cfg: VolForecastConfig) -> dict[str, BaseEstimator]:
    """``vrp_baseline``, ``ridge`` and ``lightgbm`` on the vol features."""
    from lightgbm import LGBMRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    cols = list(feature_cols)
    ridge = make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(), Ridge(alpha=cfg.ridge_alpha)
    )
    lgbm = LGBMRegressor(
        **dict(cfg.lgbm_params),
        random_state=cfg.seed,
        n_jobs=1,
        deterministic=True,
        force_col_wise=True,
        verbose=-1,
    )
    return {
        "vrp_baseline": RankScore(features=["feature_vrp"], signs=[-1.0]),
        "ridge": FeatureModel(ridge, cols, impute=False),
        "lightgbm": FeatureModel(lgbm, cols, impute=False),
    }


class VolForecaster(BaseEstimator, RegressorMixin):
    """A selected candidate with a linear calibration to its target: ``forecast = a + b * score``.

    The calibration is fitted on the training rows; ``resid_sd_`` is the residual standard
    deviation there. :meth:`confidence` is :math:`2\\Phi(|f| / s) - 1`: how far the forecast is
    from zero in residual units (0 at 0, towards 1 for forecasts far beyond the noise).
    """

    def __init__(self, model: Any = None, features=(), horizon: int = 21, name: str = "", target: str = "") -> None:
        self.model = model
        self.features = features
        self.horizon = horizon
        self.name = name
        self.target = target

    def fit(self, X: pd.DataFrame, y) -> VolForecaster:
        s = np.asarray(self.model.predict(X), dtype=np.float64)
        yv = np.asarray(y, dtype=np.float64)
        ok = np.isfinite(s) & np.isfinite(yv)
        var = float(np.var(s[ok])) if ok.sum() > 1 else 0.0
        self.slope_ = float(np.cov(s[ok], yv[ok], ddof=0)[0, 1] / var) if var > 0 else 0.0
        self.intercept_ = float(np.mean(yv[ok]) - self.slope_ * np.mean(s[ok])) if ok.any() else 0.0
        resid = yv[ok] - (self.intercept_ + self.slope_ * s[ok])
        self.resid_sd_ = float(np.std(resid)) if resid.size > 1 else float("nan")
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.intercept_ + self.slope_ * np.asarray(self.model.predict(X), dtype=np.float64)

    def confidence(self, X: pd.DataFrame) -> np.ndarray:
        f = self.predict(X)
        if not np.isfinite(self.resid_sd_) or self.resid_sd_ <= 0:
            return np.zeros(len(f))
        return np.clip(2.0 * stats.norm.cdf(np.abs(f) / self.resid_sd_) - 1.0, 0.0, 1.0)


@dataclass
class VolSelectionResult:
    """A vol selection run (the shape :class:`~quant_assets.models.tracking.MlflowTracker` logs)."""

    forecast: str
    target: str
    selected: str
    candidates: pd.DataFrame
    path_returns: dict[str, pd.DataFrame]
    pbo: Any
    pbo_value: float
    dsr: dict[str, float]
    gate: GateVerdict
    scorer: VolForecaster
    trials: list[dict[str, Any]]
    cpcv: dict[str, Any]
    data_hash: str
    n_rows: int
    n_sessions: int
    as_of: pd.Timestamp | None = None
    walk_forward: dict[str, float] = field(default_factory=dict)

    def headline(self) -> dict[str, Any]:
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
            "gate_passed": self.gate.passed,
            "gate_reasons": "; ".join(self.gate.reasons) or "all checks passed",
            "n_rows": self.n_rows,
            "n_sessions": self.n_sessions,
            "data_hash": self.data_hash,
        }


def _data_hash(panel: pd.DataFrame) -> str:
    h = hashlib.sha256()
    h.update(",".join(panel.columns).encode())
    h.update(pd.util.hash_pandas_object(panel, index=False).to_numpy().tobytes())
    return h.hexdigest()


def select_vol_model(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    config: VolForecastConfig | None = None,
    *,
    forecast: str = "straddle_pnl",
    as_of=None,
    trials_log: TrialsLog | None = None,
    run_id: str = "",
) -> VolSelectionResult:
    """Evaluate the candidates for ``forecast`` under CPCV, select, assess (PBO, DSR, gate) and log the trials.

    Parameters
    ----------
    features : DataFrame
        ``asof, underlier, feature_*`` (:func:`~quant_assets.options.vol_features.build_vol_features`).
    labels : DataFrame
        :func:`~quant_assets.options.vol_labels.build_vol_labels` rows.
    forecast : {"straddle_pnl", "iv_change"}
    as_of : date-like, optional
        Training as of this session: labels with ``known_date < as_of`` only.
    trials_log : TrialsLog, optional
        The multiplicity log; this run's trials are appended (in memory if None).
    """
    cfg = config or VolForecastConfig()
    log = trials_log if trials_log is not None else TrialsLog()
    target = cfg.targets[forecast]
    panel = vol_panel(features, labels, cfg, as_of)
    if panel.empty:
        raise ValueError("no labelled rows are usable for the vol selection (check as_of)")
    feature_cols = [c for c in features.columns if c.startswith("feature_")]
    cands = vol_candidates(feature_cols, cfg)
    y = panel[target].to_numpy(np.float64)
    book = StraddleBook(panel["asof"].to_numpy(), panel[cfg.targets["straddle_pnl"]], cfg.straddle_cost_bps)
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
        n_trials=prior + len(cands),
        returns_fn=book,
        pbo_blocks=cfg.pbo_blocks,
    )
    ann = math.sqrt(SESSIONS_PER_YEAR / cfg.horizon)
    sharpe_obs = out["path_sharpe"].mean(axis=1)
    by_cand = out["metrics"].groupby("candidate")
    rows = []
    for n in cands:
        paths = out["path_returns"][n]
        rows.append(
            {
                "candidate": n,
                "sharpe_obs": float(sharpe_obs[n]),
                "sharpe_ann": float(sharpe_obs[n] * ann),
                "max_drawdown": float(np.median([max_drawdown(paths[c] / cfg.horizon) for c in paths.columns])),
                "mean_return": float(paths.mean().mean()),
                "rank_ic": float(by_cand.get_group(n)["rank_ic"].mean()),
                "ic": float(by_cand.get_group(n)["ic"].mean()),
                "n_features": len(getattr(cands[n], "features", ())),
            }
        )
    table = pd.DataFrame(rows).set_index("candidate")
    selected = out["selected"]
    table["selected"] = table.index == selected
    n_trials, var_trials = log.sharpe_stats(table["sharpe_obs"].tolist())
    n_sessions = int(panel["asof"].nunique())
    sr = float(table.loc[selected, "sharpe_obs"])
    dsr = selection_dsr(
        out["path_returns"][selected], sr, max(n_sessions / cfg.horizon, 2.0), n_trials, var_trials, ann
    )
    verdict = evaluate_gate(
        sharpe=float(table.loc[selected, "sharpe_ann"]),
        max_drawdown=float(table.loc[selected, "max_drawdown"]),
        pbo=out["pbo_value"],
        sharpe_obs=sr,
        expected_max_sharpe_obs=dsr["expected_max_sharpe_obs"],
        dsr=dsr["dsr"],
        config=cfg.gate,
    )
    final = clone(cands[selected]).fit(panel, y)
    scorer = VolForecaster(final, getattr(final, "features", ()), cfg.horizon, selected, target).fit(panel, y)
    data_hash = _data_hash(panel[["asof", "underlier", *feature_cols, target]])
    params = {"target": target, "horizon": cfg.horizon}
    describe = {n: {"candidate": f"{forecast}:{n}", "feature_set": "vol", "params": dict(params)} for n in cands}
    trials = log.append_candidates(table, describe, run_id=run_id, data_hash=data_hash)
    return VolSelectionResult(
        forecast=forecast,
        target=target,
        selected=selected,
        candidates=table,
        path_returns=out["path_returns"],
        pbo=out["pbo"],
        pbo_value=float(out["pbo_value"]),
        dsr=dsr,
        gate=verdict,
        scorer=scorer,
        trials=trials,
        cpcv=out,
        data_hash=data_hash,
        n_rows=len(panel),
        n_sessions=n_sessions,
        as_of=None if as_of is None else pd.Timestamp(as_of),
    )
