"""Small synthetic research panels of the feature/label contract, with a planted edge or none."""

from __future__ import annotations

import numpy as np
import pandas as pd

from quant_assets.calendars import sessions_in_range


def synthetic_panels(
    n_names: int = 40, n_sessions: int = 160, edge: float = 0.02, seed: int = 0, horizon: int = 5
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(features, labels)``: ``feature_mom_12_1`` predicts ``xret_5`` with strength ``edge``."""
    rng = np.random.default_rng(seed)
    sessions = sessions_in_range("2022-01-03", "2024-12-31")[: n_sessions + horizon + 1]
    syms = np.array([f"S{i:03d}" for i in range(n_names)])
    T = n_sessions
    mom = rng.normal(size=(T, n_names))
    val = rng.normal(size=(T, n_names))
    vol = rng.normal(size=(T, n_names))
    ret = edge * mom + 0.02 * rng.normal(size=(T, n_names))
    features = {"feature_mom_12_1": mom, "feature_value_bp": val, "feature_vol_20": vol}
    return panels_from_arrays(sessions, syms, features, ret, horizon)


def panels_from_arrays(
    sessions: pd.DatetimeIndex, syms, features: dict[str, np.ndarray], ret: np.ndarray, horizon: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(features, labels)`` frames from ``(T, n_names)`` arrays: feature values and ``horizon``-session returns.

    Row ``t`` is known at ``sessions[t]`` and its label exits at ``sessions[t + horizon]``; the label is
    the sign of the cross-sectionally demeaned return ``xret_5``.
    """
    T, n_names = ret.shape
    xret = ret - ret.mean(axis=1, keepdims=True)
    t_i, n_i = (a.ravel() for a in np.meshgrid(np.arange(T), np.arange(n_names), indexing="ij"))
    dates, names = sessions[t_i], np.asarray(syms)[n_i]
    feats = pd.DataFrame({"asof": dates, "symbol": names, **{k: v.ravel() for k, v in features.items()}})
    exit5 = sessions[t_i + horizon]
    labels = pd.DataFrame(
        {
            "entry_date": dates,
            "symbol": names,
            "exit_date": exit5,
            "label": np.sign(xret.ravel()).astype(int),
            "outcome": "vertical",
            "ret_fwd_5": ret.ravel(),
            "ret_fwd_20": np.nan,
            "xret_5": xret.ravel(),
            "xret_20": np.nan,
            "exit_date_5": exit5,
            "exit_date_20": pd.NaT,
        }
    )
    return feats, labels
