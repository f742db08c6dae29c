"""Gate verdicts, the sealed dark hold-out and the append-only multiplicity log."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from quant_assets.models import (
    DarkHoldout,
    DarkHoldoutError,
    GateConfig,
    TrialsLog,
    decile_weights,
    evaluate_gate,
    max_drawdown,
    seal,
)

GOOD = dict(sharpe=1.5, max_drawdown=0.1, pbo=0.01, sharpe_obs=0.2, expected_max_sharpe_obs=0.1, dsr=0.99)


def test_gate_passes_only_when_every_check_passes():
    assert evaluate_gate(**GOOD).passed
    for key, bad in [
        ("sharpe", 0.9),
        ("max_drawdown", 0.25),
        ("pbo", 0.06),
        ("dsr", 0.94),
        ("expected_max_sharpe_obs", 0.2),
    ]:
        verdict = evaluate_gate(**{**GOOD, key: bad})
        assert not verdict.passed and len(verdict.reasons) == 1, key


def test_gate_nan_fails_with_reason_and_thresholds_come_from_config():
    verdict = evaluate_gate(**{**GOOD, "pbo": float("nan")})
    assert not verdict.passed and "undefined" in verdict.reasons[0]
    assert evaluate_gate(**{**GOOD, "sharpe": 0.6}, config=GateConfig(min_sharpe=0.5)).passed
    with pytest.raises(ValueError, match="dsr_confidence"):
        GateConfig(dsr_confidence=1.0)


def test_dark_holdout_is_sealed_until_sign_off():
    df = pd.DataFrame({"asof": pd.bdate_range("2024-01-01", periods=10), "x": range(10)})
    visible, sealed = seal(df, DarkHoldout(pd.Timestamp("2024-01-10")), date_cols=("asof",))
    assert visible["asof"].max() < pd.Timestamp("2024-01-10") and len(sealed) == 3
    with pytest.raises(DarkHoldoutError):
        sealed["x"]
    with pytest.raises(DarkHoldoutError):
        sealed.head()
    with pytest.raises(DarkHoldoutError):
        sealed.unseal("")
    assert sealed.unseal("risk committee")["x"].tolist() == [7, 8, 9]


def test_trials_log_appends_and_never_rewrites(tmp_path):
    log = TrialsLog(tmp_path / "trials.jsonl")
    log.append([{"candidate": "a", "sharpe_obs": 0.1}, {"candidate": "b", "sharpe_obs": 0.3}])
    first = (tmp_path / "trials.jsonl").read_text()
    log.append([{"candidate": "c", "sharpe_obs": float("nan")}])
    text = (tmp_path / "trials.jsonl").read_text()
    assert text.startswith(first)
    assert [json.loads(x)["trial_id"] for x in text.splitlines()] == [0, 1, 2]
    n, var = log.sharpe_stats([0.2])
    assert n == 4 and var == pytest.approx(np.var([0.1, 0.3, 0.2], ddof=1))
    with pytest.raises(ValueError, match="unknown trial fields"):
        log.append([{"nonsense": 1}])


def test_trials_log_records_one_trial_per_candidate_of_a_run():
    """Metrics come from the candidate table, names and params from ``describe``, in its order."""
    table = pd.DataFrame(
        {
            "n_features": [3, 2],
            "sharpe_obs": [0.1, 0.2],
            "sharpe_ann": [1.0, 2.0],
            "max_drawdown": [0.1, 0.05],
            "rank_ic": [0.01, float("nan")],
            "selected": [False, True],
        },
        index=pd.Index(["a", "b"], name="candidate"),
    )
    describe = {n: {"candidate": f"x:{n}", "feature_set": "vol", "params": {"k": 1}} for n in ("b", "a")}
    recs = TrialsLog().append_candidates(table, describe, run_id="r", data_hash="h")
    assert [r["candidate"] for r in recs] == ["x:b", "x:a"] and [r["trial_id"] for r in recs] == [0, 1]
    assert recs[0]["selected"] is True and recs[0]["rank_ic"] is None and recs[1]["n_features"] == 3
    assert {r["run_id"] for r in recs} == {"r"} and recs[1]["sharpe_ann"] == 1.0


@given(st.lists(st.floats(-0.5, 0.5), min_size=1, max_size=50))
def test_max_drawdown_is_a_fraction(returns):
    dd = max_drawdown(np.array(returns))
    assert 0.0 <= dd <= 1.0


@given(st.integers(2, 60), st.integers(0, 10_000))
def test_decile_weights_are_dollar_neutral_with_unit_gross(m, seed):
    score = np.random.default_rng(seed).normal(size=m)
    w = decile_weights(score, np.zeros(m, dtype=np.intp))
    assert abs(w.sum()) < 1e-12 and abs(np.abs(w).sum() - 1.0) < 1e-12
    assert w[np.argmax(score)] > 0 and w[np.argmin(score)] < 0
