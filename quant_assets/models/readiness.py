"""Whether a model selection can run on the stored features and labels, and why not."""

from __future__ import annotations

import numpy as np
import pandas as pd

from quant_assets.models.holdout import seal
from quant_assets.models.selection import SelectionConfig, research_panel

__all__ = ["readiness"]


def readiness(features: pd.DataFrame, labels: pd.DataFrame, cfg: SelectionConfig, as_of) -> str:
    """Why a selection cannot run on these inputs as of ``as_of`` ('' when it can).

    Every CPCV fold must hold more sessions than the embargo plus the longest label span
    (sessions from entry to ``label_end``); otherwise purging leaves a split without training rows.
    """
    if features.empty or labels.empty:
        return "no stored features or labels"
    panel = research_panel(features, labels, as_of=as_of, horizon=cfg.horizon)
    panel, _ = seal(panel, cfg.holdout, date_cols=("asof", "label_end"))
    sessions = np.unique(panel["asof"].to_numpy())
    if sessions.size == 0:
        return f"no label is known before {pd.Timestamp(as_of).date()} outside the dark hold-out"
    span = int(
        np.max(
            np.busday_count(
                panel["asof"].to_numpy().astype("datetime64[D]"), panel["label_end"].to_numpy().astype("datetime64[D]")
            )
        )
    )
    fold = sessions.size // cfg.n_folds
    need = cfg.embargo_days + span + 1
    if fold < need:
        return (
            f"{sessions.size} labelled sessions before {pd.Timestamp(as_of).date()}: folds of {fold} sessions, "
            f"{need} needed for {cfg.n_folds} folds (embargo {cfg.embargo_days} + label span {span})"
        )
    return ""
