"""MLflow round trip: the registered scorer has a signature and loads back with identical scores."""

from __future__ import annotations

import numpy as np
import pytest

from quant_assets.models import GateConfig, SelectionConfig, select_model
from quant_assets_tests.models.panels import synthetic_panels


@pytest.mark.filterwarnings("ignore")
def test_registered_model_round_trip_and_aliases(tmp_path):
    from quant_assets.models.tracking import CHALLENGER, CHAMPION, MlflowTracker, local_uris

    f, lab = synthetic_panels(n_names=20, n_sessions=80, edge=0.01)
    cfg = SelectionConfig(
        embargo_days=2,
        n_folds=4,
        pbo_blocks=4,
        book_size=1e4,
        gate=GateConfig(min_sharpe=-100, max_drawdown=10, max_pbo=1.0, dsr_confidence=1e-9),
    )
    res = select_model(f, lab, cfg, walk_forward=False)
    uri, art = local_uris(tmp_path / "mlflow")
    tracker = MlflowTracker(uri, art)
    example = f[f["asof"] == f["asof"].max()].reset_index(drop=True)
    example = example[["asof", "symbol", *[c for c in f.columns if c.startswith("feature_")]]]
    # The gate here only needs the selected Sharpe above the trials' expected max: the seeded panel
    # with a planted edge passes it, so both aliases are exercised (a skip would hide the round trip).
    assert res.gate.passed, res.gate.reasons
    info = tracker.log_selection(res, {"models": {"horizon": 5}}, example)
    assert set(info["aliases"]) == {CHALLENGER, CHAMPION}
    loaded = tracker.load(CHAMPION)
    np.testing.assert_array_equal(loaded.predict(example), res.scorer.predict(example))
    import mlflow

    model_info = mlflow.models.get_model_info(f"models:/{tracker.model_name}@{CHAMPION}")
    assert model_info.signature is not None
    assert {i.name for i in model_info.signature.inputs.inputs} >= {"asof", "symbol"}
