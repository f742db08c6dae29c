"""Model assets: a selection with a verdict, daily scores through MLflow, checks that can fail.

The ``tiny`` profile's quarter is shorter than the CPCV layout needs (20-session labels, a
10-session embargo, folds): the graph then records why no selection ran. The sleeve is
exercised on ``tiny_models``, the tiny market (30 names) over nine months with a cheap
candidate set, written as a profile into a temporary directory.
"""

import json
import shutil
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pandera.errors as pe
import pytest
import yaml

import quant_assets.config as qconfig
from quant_assets import schemas
from quant_assets.calendars import sessions_in_range
from quant_assets.defs import build_definitions
from quant_assets.defs.lib.partitions import session_partitions
from quant_assets.defs.market import EQUITY_MARKET_ASSETS
from quant_assets.defs.models import checks
from quant_assets.defs.models.assets import readiness, training_as_of
from quant_assets.defs.models.resources import ModelFrameIOManager, models_dir
from quant_assets.defs.resources import PITParquetIOManager, build_resources
from quant_assets.market.store import MissingPartitionsError, ParquetStore
from quant_assets.models import GateConfig, SelectionConfig, cost_inputs_from_wide, score_frame, select_model
from quant_assets.research import MarketFrames
from quant_assets_tests.models.panels import synthetic_panels

RANGE = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
PROFILE = "tiny_models"
SLEEVE = [
    *EQUITY_MARKET_ASSETS,
    "universe",
    "equity_features",
    "equity_labels",
    "model_selection",
    "trials_log",
    "champion_model",
    "equity_scores",
]
MODELS = ["model_selection", "trials_log", "champion_model"]
CHEAP_MODELS = {
    "walk_forward_steps": 2,
    "pbo_blocks": 8,
    "candidates": {"ablation": False, "lgbm_params": {"n_estimators": 20, "num_leaves": 4, "min_child_samples": 50}},
}


def _write_profile(directory):
    for other in qconfig.PROFILE_DIR.glob("*.yaml"):  # the shipped profiles stay loadable
        shutil.copy(other, directory / other.name)
    raw = yaml.safe_load((qconfig.PROFILE_DIR / "tiny.yaml").read_text())
    raw["name"] = PROFILE
    raw["calendar"]["start"] = "2023-07-03"
    raw["market"]["n_option_underliers"] = 0
    raw["models"].update(CHEAP_MODELS)
    (directory / f"{PROFILE}.yaml").write_text(yaml.safe_dump(raw))


def _materialize(defs, names, keys):
    return dg.materialize(
        [a for a in defs.assets if a.key.to_user_string() in SLEEVE],
        selection=names,
        resources=build_resources(PROFILE),
        tags={RANGE[0]: keys[0], RANGE[1]: keys[-1]},
    )


@pytest.fixture(scope="module")
def sleeve(tmp_path_factory):
    root = tmp_path_factory.mktemp("sleeve")
    _write_profile(root)
    mp = pytest.MonkeyPatch()
    mp.setenv("QUANT_ASSETS_DATA", str(root / "data"))
    mp.setattr(qconfig, "PROFILE_DIR", root)
    try:
        defs = build_definitions(PROFILE)
        profile = qconfig.load_profile(PROFILE)
        keys = session_partitions(profile).get_partition_keys()
        result = _materialize(defs, SLEEVE, keys)
        assert result.success
        failed = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
        assert failed == []
        yield {
            "defs": defs,
            "profile": profile,
            "keys": keys,
            "result": result,
            "store": ParquetStore(profile.data_dir / "store", sessions=sessions_in_range),
        }
    finally:
        mp.undo()


def _meta(result, node):
    return {k: v.value for k, v in result.asset_materializations_for_node(node)[-1].metadata.items()}


def _stored(name):
    return pd.read_parquet(models_dir(PROFILE) / f"{name}.parquet")


def test_model_selection_records_a_verdict_plots_and_the_registered_model(sleeve):
    meta = _meta(sleeve["result"], "model_selection")
    sel = _stored("model_selection")
    assert sel["selected"].sum() == 1 and len(sel) == meta["rows"] > 1
    assert isinstance(meta["gate_passed"], bool)
    assert meta["verdict"] == "PASSED" if meta["gate_passed"] else meta["verdict"].startswith("refused: ")
    profile = sleeve["profile"]
    as_of = training_as_of(profile, session_partitions(profile), SelectionConfig.from_dict(profile.models))
    assert (sel["as_of"] == as_of).all() and str(as_of.date()) == "2024-03-15"  # the hold-out's first session
    for key in ("cpcv_folds_png", "pbo_logits_png", "path_returns"):
        assert Path(meta[key]).is_file(), key
    assert meta["pbo_logits_plot"].startswith("![pbo_logits](data:image/png;base64,")
    champion = _stored("champion_model").iloc[0]
    assert champion["alias"] == ("champion" if meta["gate_passed"] else "challenger")
    assert champion["model_version"] == meta["model_version"] and champion["as_of"] == as_of


def test_scores_exist_for_each_universe_name_and_only_from_the_training_date(sleeve):
    store, keys = sleeve["store"], sleeve["keys"]
    scores = store.read_window("scores", "equity_scores", keys[0], keys[-1])
    universe = store.read_window("features", "universe", keys[-1], keys[-1])
    last = scores[scores["asof"] == pd.Timestamp(keys[-1])]
    assert sorted(last["symbol"]) == sorted(universe["symbol"])
    assert scores["asof"].min() == scores["model_as_of"].min() == pd.Timestamp("2024-03-15")
    assert scores["confidence"].between(0, 1).all() and np.isfinite(scores["expected_excess_return"]).all()
    rationale = json.loads(last["rationale"].iloc[0])
    assert len(rationale) == 3 and {"feature", "contribution"} <= set(rationale[0])


def test_scores_loaded_back_through_mlflow_equal_the_in_process_scores(sleeve):
    store, keys, profile = sleeve["store"], sleeve["keys"], sleeve["profile"]
    cfg = SelectionConfig.from_dict(profile.models)
    features = store.read_window("features", "equity_features", keys[0], keys[-1])
    labels = store.read_window("labels", "equity_labels", keys[0], keys[-1], allow_missing=True)
    prices = store.read_window("curated", "adjusted_prices", keys[0], keys[-1])
    symbols = store.read_window("reference", "symbols", keys[0], keys[-1])
    market = MarketFrames(prices, pd.DataFrame(), pd.DataFrame(), symbols, pd.DataFrame())
    costs = cost_inputs_from_wide(market.wide, cfg.spread_bps)
    as_of = training_as_of(profile, session_partitions(profile), cfg)
    in_process = select_model(features, labels, cfg, costs=costs, as_of=as_of, walk_forward=False)
    stored = store.read_window("scores", "equity_scores", keys[0], keys[-1])
    assert in_process.selected == stored["model"].iloc[0]
    expected = score_frame(in_process.scorer, features[features["asof"] >= as_of])
    got = stored[expected.columns].sort_values(["asof", "symbol"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        got, expected.sort_values(["asof", "symbol"]).reset_index(drop=True), check_dtype=False
    )


def test_a_second_selection_appends_to_the_trials_log_and_deflates_by_every_trial(sleeve):
    first = _stored("trials_log")
    result = _materialize(sleeve["defs"], MODELS, sleeve["keys"])
    assert result.success
    trials = _stored("trials_log")
    assert len(trials) == 2 * len(first) and trials["trial_id"].tolist() == list(range(len(trials)))
    pd.testing.assert_frame_equal(trials.iloc[: len(first)], first)
    assert (_stored("model_selection")["n_trials"] == len(trials)).all()
    assert all(e.passed for e in result.get_asset_check_evaluations())


def test_the_tiny_quarter_records_why_no_selection_ran():
    f, lab = synthetic_panels(n_names=10, n_sessions=30)
    cfg = SelectionConfig(n_folds=4, embargo_days=10)
    assert "folds of 7 sessions" in readiness(f, lab, cfg, as_of="2024-12-31")
    assert readiness(f.iloc[:0], lab, cfg, as_of="2024-12-31") == "no stored features or labels"
    assert readiness(f, lab, SelectionConfig(n_folds=2, embargo_days=2), as_of="2024-12-31") == ""


# --- the IO managers ---------------------------------------------------------------------------


def test_an_unpartitioned_asset_reads_every_stored_partition_of_a_partitioned_upstream(tmp_path, monkeypatch):
    monkeypatch.setenv("QUANT_ASSETS_DATA", str(tmp_path))
    partitions = session_partitions(qconfig.load_profile("tiny"))
    keys = partitions.get_partition_keys()

    @dg.asset(
        partitions_def=partitions,
        metadata={"layer": "features", "partition_expr": "date"},
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def daily(context: dg.AssetExecutionContext) -> pd.DataFrame:
        dates = pd.to_datetime(context.partition_keys)
        return pd.DataFrame({"date": dates, "x": np.arange(len(dates), dtype=float)})

    def reader(allow_missing: bool) -> dg.AssetsDefinition:
        @dg.asset(
            name=f"history_{allow_missing}",
            io_manager_key="frames",
            ins={
                "daily": dg.AssetIn(
                    partition_mapping=dg.AllPartitionMapping(), metadata={"allow_missing_partitions": allow_missing}
                )
            },
        )
        def history(daily: pd.DataFrame) -> pd.DataFrame:
            return daily

        return history

    resources = {"io_manager": PITParquetIOManager(profile="tiny"), "frames": ModelFrameIOManager(profile="tiny")}
    tags = {RANGE[0]: keys[0], RANGE[1]: keys[9]}
    assert dg.materialize([daily], resources=resources, tags=tags).success
    assert dg.materialize([daily, reader(True)], selection=["history_True"], resources=resources).success
    got = pd.read_parquet(models_dir("tiny") / "history_True.parquet")
    assert got["date"].dt.strftime("%Y-%m-%d").tolist() == keys[:10]
    assert not list(models_dir("tiny").glob(".*.tmp"))  # the atomic write left no temporary file
    with pytest.raises(MissingPartitionsError):  # without the flag, gaps are an error
        dg.materialize([daily, reader(False)], selection=["history_False"], resources=resources)
    assert dg.materialize([daily], resources=resources, tags={RANGE[0]: keys[0], RANGE[1]: keys[-1]}).success
    assert dg.materialize([daily, reader(False)], selection=["history_False"], resources=resources).success
    assert len(pd.read_parquet(models_dir("tiny") / "history_False.parquet")) == len(keys)


# --- the checks and schemas fail on bad input ----------------------------------------------------


def _selection(**overrides):
    row = {
        "as_of": pd.Timestamp("2024-03-15"),
        "mlflow_run_id": "r",
        "candidate": "ridge",
        "selected": True,
        "sharpe_ann": 1.5,
        "max_drawdown": 0.1,
        "pbo": 0.01,
        "sharpe_obs": 0.2,
        "expected_max_sharpe_obs": 0.1,
        "dsr": 0.99,
        "gate_passed": True,
        "data_hash": "h",
    }
    return pd.DataFrame([{**row, **overrides}])


def test_selection_checks_fail_without_one_selection_or_with_a_verdict_that_does_not_reproduce():
    two = pd.concat([_selection(), _selection(candidate="lightgbm")], ignore_index=True)
    assert len(checks.selection_count_mismatch(two)) == 1
    assert checks.selection_count_mismatch(_selection()).empty
    assert checks.gate_mismatch(_selection(), GateConfig()).empty
    assert checks.gate_mismatch(_selection(pbo=0.5), GateConfig())["recomputed"].tolist() == [False]


def test_trials_checks_fail_on_a_lost_line_or_an_unlogged_candidate():
    trials = pd.DataFrame({"trial_id": [0, 1, 3], "run_id": "r", "candidate": ["a", "b", "c"], "data_hash": "h"})
    assert checks.trial_id_gaps(trials)["trial_id"].tolist() == [3]
    sel = pd.concat([_selection(candidate="a"), _selection(candidate="z")], ignore_index=True)
    assert checks.unlogged_candidates(trials, sel)["candidate"].tolist() == ["z"]


def test_score_check_fails_on_a_missing_name_or_a_non_finite_score():
    asof = pd.Timestamp("2024-03-15")
    feats = pd.DataFrame({"asof": [asof] * 3, "symbol": ["A", "B", "C"]})
    scores = pd.DataFrame({"asof": [asof] * 2, "symbol": ["A", "B"], "expected_excess_return": [0.01, np.nan]})
    assert sorted(checks.uncovered_scores(scores, feats)["symbol"]) == ["B", "C"]
    full = pd.DataFrame({"asof": [asof] * 3, "symbol": ["A", "B", "C"], "expected_excess_return": 0.0})
    assert checks.uncovered_scores(full, feats).empty


def test_schemas_refuse_a_champion_without_the_gate_and_a_score_before_its_model():
    lineage = {"ingested_at": pd.Timestamp("2024-03-15 21:00", tz="UTC"), "source_uri": "s", "transform_id": "t"}
    champion = pd.DataFrame(
        [
            {
                **lineage,
                "as_of": pd.Timestamp("2024-03-15"),
                "model_name": "m",
                "model_version": "1",
                "alias": "champion",
                "model_uri": "models:/m/1",
                "mlflow_run_id": "r",
                "candidate": "ridge",
                "gate_passed": False,
                "gate_reasons": "PBO",
            }
        ]
    )
    with pytest.raises(pe.SchemaError, match="champion_only_through_the_gate"):
        schemas.ChampionModel.validate(champion)
    schemas.ChampionModel.validate(champion.assign(alias="challenger"))
    score = pd.DataFrame(
        [
            {
                **lineage,
                "asof": pd.Timestamp("2024-03-14"),
                "symbol": "A",
                "expected_excess_return": 0.01,
                "horizon_sessions": 5,
                "confidence": 0.5,
                "rationale": "[]",
                "model": "ridge",
                "model_version": "1",
                "model_alias": "challenger",
                "model_as_of": pd.Timestamp("2024-03-15"),
            }
        ]
    )
    with pytest.raises(pe.SchemaError, match="model_trained_before_scoring"):
        schemas.EquityScores.validate(score)
    schemas.EquityScores.validate(score.assign(asof=pd.Timestamp("2024-03-15")))
