"""Asset checks of the model artifacts: what the schemas cannot say about a selection and its scores.

=================================  ========  ========  ======================================
check (asset)                      severity  blocking  fails when
=================================  ========  ========  ======================================
``one_selected_candidate``         ERROR     yes       a selection run has not exactly one
(model_selection)                                      selected candidate
``gate_verdict_reproduces``        ERROR     yes       the gate re-applied to the stored
(model_selection)                                      numbers gives another verdict
``trial_ids_contiguous``           ERROR     yes       trial ids are not 0..n-1 (a line of
(trials_log)                                           the append-only log was lost or doubled)
``selection_trials_logged``        ERROR     yes       a candidate of the selection run is
(trials_log)                                           missing from the log
``scores_cover_features``          ERROR     yes       a scored session lacks a feature row's
(equity_scores)                                        name, or a score is not finite
=================================  ========  ========  ======================================

``champion_model`` needs no check here: its schema refuses a ``champion`` alias without a
passed gate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from quant_assets.defs.lib.frame_checks import FrameCheck, check_result
from quant_assets.models import GateConfig, evaluate_gate

CHECK_ONE_SELECTED = "one_selected_candidate"
CHECK_GATE_REPRODUCES = "gate_verdict_reproduces"
CHECK_TRIALS_CONTIGUOUS = "trial_ids_contiguous"
CHECK_TRIALS_LOGGED = "selection_trials_logged"
CHECK_SCORES_COVER = "scores_cover_features"


def selection_count_mismatch(selection: pd.DataFrame) -> pd.DataFrame:
    """Selection runs (``as_of``, ``mlflow_run_id``) without exactly one selected candidate."""
    if selection.empty:
        return selection
    g = selection.groupby(["as_of", "mlflow_run_id"])["selected"].sum().rename("n_selected").reset_index()
    return g[g["n_selected"] != 1]


def gate_mismatch(selection: pd.DataFrame, gate: GateConfig) -> pd.DataFrame:
    """Selected rows whose stored ``gate_passed`` differs from the gate re-applied to their numbers."""
    rows = selection[selection["selected"]]
    bad = []
    for r in rows.itertuples(index=False):
        verdict = evaluate_gate(
            sharpe=r.sharpe_ann,
            max_drawdown=r.max_drawdown,
            pbo=r.pbo,
            sharpe_obs=r.sharpe_obs,
            expected_max_sharpe_obs=r.expected_max_sharpe_obs,
            dsr=r.dsr,
            config=gate,
        )
        if verdict.passed != bool(r.gate_passed):
            bad.append({"candidate": r.candidate, "stored": bool(r.gate_passed), "recomputed": verdict.passed})
    return pd.DataFrame(bad, columns=["candidate", "stored", "recomputed"])


def trial_id_gaps(trials: pd.DataFrame) -> pd.DataFrame:
    """Rows whose ``trial_id`` is not its position in the log (0..n-1)."""
    ids = trials["trial_id"].to_numpy()
    bad = ids != np.arange(len(ids))
    return trials.loc[bad, ["trial_id", "run_id", "candidate"]]


def unlogged_candidates(trials: pd.DataFrame, selection: pd.DataFrame) -> pd.DataFrame:
    """Candidates of the selection whose trial (same data hash, candidate) is not in the log."""
    if selection.empty:
        return selection.loc[:, ["candidate"]]
    logged = trials[["candidate", "data_hash"]].drop_duplicates().assign(_logged=True)
    m = selection[["candidate", "data_hash"]].merge(logged, how="left", on=["candidate", "data_hash"])
    return m.loc[m["_logged"].isna(), ["candidate", "data_hash"]]


def uncovered_scores(scores: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """In each scored session: feature rows without a score, and scores that are not finite."""
    scored = scores["asof"].unique()
    want = features.loc[features["asof"].isin(scored), ["asof", "symbol"]]
    m = want.merge(
        scores[["asof", "symbol", "expected_excess_return"]], how="outer", on=["asof", "symbol"], indicator=True
    )
    finite = np.isfinite(m["expected_excess_return"].to_numpy(dtype=np.float64))
    return m.loc[(m["_merge"] != "both") | ~finite, ["asof", "symbol", "expected_excess_return"]]


def selection_checks(gate: GateConfig) -> list[FrameCheck]:
    return [
        FrameCheck(
            CHECK_ONE_SELECTED,
            "Exactly one selected candidate per selection run.",
            lambda df, _: check_result(selection_count_mismatch(df), description="runs without one selection"),
            blocking=True,
        ),
        FrameCheck(
            CHECK_GATE_REPRODUCES,
            "The gate re-applied to the stored numbers gives the stored verdict.",
            lambda df, _: check_result(gate_mismatch(df, gate), description="gate verdict does not reproduce"),
            blocking=True,
        ),
    ]


TRIALS_CHECKS = [
    FrameCheck(
        CHECK_TRIALS_CONTIGUOUS,
        "Trial ids are 0..n-1: no line of the append-only log lost or doubled.",
        lambda df, _: check_result(trial_id_gaps(df), description="trial ids out of sequence"),
        blocking=True,
    ),
    FrameCheck(
        CHECK_TRIALS_LOGGED,
        "Every candidate of the selection is in the log.",
        lambda df, i: check_result(
            unlogged_candidates(df, i["model_selection"]), description="candidates missing from the trials log"
        ),
        blocking=True,
    ),
]

SCORE_CHECKS = [
    FrameCheck(
        CHECK_SCORES_COVER,
        "Every universe name with features in a scored session has a finite score.",
        lambda df, i: check_result(
            uncovered_scores(df, i["equity_features"]), description="names without a finite score"
        ),
        blocking=True,
    ),
]
