"""Champion-challenger through the graph: retrain as of a session, shadow-trade the sessions after, decide.

A profile over 210 sessions of 2022 with stand-in ``equity_features``, ``equity_labels`` (the
planted market of the challenger tests: persistent momentum and a planted feature) and empty
``adjusted_prices`` (default cost inputs). As in daily operation: the inputs are stored up to
the retrain session, ``challenger_retrain_job``'s asset trains as of it, the rest of the
sessions arrive, the shadow books run over them, and ``promotion_decisions`` decides.
"""

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import yaml

from quant_assets import schemas
from quant_assets.calendars import sessions_in_range
from quant_assets.config import PROFILE_DIR, load_profile
from quant_assets.defs.governance import build_governance
from quant_assets.defs.lib.partitions import session_partitions
from quant_assets.defs.lib.runtime import window_sessions
from quant_assets.defs.models.assets import _empty
from quant_assets.defs.resources import build_resources
from quant_assets.market.ingest import stamp_lineage
from quant_assets.models.challenger import ChallengerConfig
from quant_assets_tests.models.test_challenger import market

RANGE = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
SESSIONS = sessions_in_range("2022-01-03", "2022-12-30")[:210]


def _profile(root: Path):
    raw = yaml.safe_load((PROFILE_DIR / "tiny.yaml").read_text())
    raw.update(
        name="governance_test",
        calendar={"start": str(SESSIONS[0].date()), "end": str(SESSIONS[-1].date())},
        research={**raw["research"], "labels": {**raw["research"]["labels"], "horizons": [5, 20]}},
    )
    raw["market"].pop("start", None)
    raw["market"].pop("end", None)
    raw["models"] = {
        **raw["models"],
        "n_folds": 5,
        "embargo_days": 2,
        "pbo_blocks": 8,
        "book_size": 100000,
        "holdout": None,
    }
    raw["governance"] = {"challenger": {"shadow_weeks": 4}, "search": {"budget": 6, "seed": 3}}
    path = root / "governance_test.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _frames():
    feats, labels, as_of = market()
    feats = feats.assign(**{c: feats[c].clip(-3.9, 3.9) for c in feats if c.startswith("feature_")})
    pos = {d: i for i, d in enumerate(SESSIONS)}
    entry = labels["entry_date"].map(pos).to_numpy()
    labels = labels.assign(
        outcome="vertical",
        ret_fwd_5=labels["xret_5"].clip(lower=-0.99),
        ret_fwd_20=0.0,
        xret_20=0.0,
        exit_date_20=SESSIONS[entry + 19],
        known_date=SESSIONS[entry + 19],
    )
    return feats, labels, as_of


def _stand_ins(partitions, feats, labels):
    def stand_in(name, layer, date_col, frame_for):
        @dg.asset(
            name=name,
            partitions_def=partitions,
            metadata={"layer": layer, "partition_expr": date_col},
            backfill_policy=dg.BackfillPolicy.single_run(),
            group_name="stand_in",
        )
        def asset(context: dg.AssetExecutionContext) -> pd.DataFrame:
            df = frame_for(window_sessions(context))
            return stamp_lineage(df, known_at=date_col, source_uri="test://stand-in", transform_id="t")

        return asset

    lineage = schemas.Lineage.to_schema().columns
    prices = _empty(schemas.AdjustedPrices)[[c for c in schemas.AdjustedPrices.to_schema().columns if c not in lineage]]
    return [
        stand_in("equity_features", "features", "asof", lambda s: feats[feats["asof"].isin(s)]),
        stand_in("equity_labels", "labels", "known_date", lambda s: labels[labels["known_date"].isin(s)]),
        stand_in("adjusted_prices", "curated", "date", lambda s: prices),
    ]


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    root = tmp_path_factory.mktemp("champion_challenger")
    mp = pytest.MonkeyPatch()
    mp.setenv("QUANT_ASSETS_DATA", str(root / "data"))
    # The IO managers load their profile by name: serve this one from the test's directory.
    mp.setattr("quant_assets.config.PROFILE_DIR", _profile(root).parent)
    try:
        profile = load_profile("governance_test")
        partitions = session_partitions(profile)
        keys = partitions.get_partition_keys()
        feats, labels, as_of = _frames()
        assets, jobs = build_governance(profile, partitions)
        names = ("challenger_selection", "shadow_positions", "shadow_pnl", "promotion_decisions")
        mine = [a for a in assets if a.key.to_user_string() in names]
        graph = [*_stand_ins(partitions, feats, labels), *mine]
        resources = build_resources(profile)

        def run(selection, first, last):
            result = dg.materialize(
                graph, selection=selection, resources=resources, tags={RANGE[0]: keys[first], RANGE[1]: keys[last]}
            )
            assert result.success
            return result

        train_at = keys.index(str(as_of.date()))
        run(["equity_features", "equity_labels", "adjusted_prices"], 0, train_at)
        retrain = dg.materialize(graph, selection=["challenger_selection"], resources=resources)
        run(["equity_features", "equity_labels", "adjusted_prices"], train_at + 1, len(keys) - 1)
        run(["shadow_positions", "shadow_pnl"], train_at, len(keys) - 1)
        decided = dg.materialize(graph, selection=["promotion_decisions"], resources=resources)
        yield {
            "profile": profile,
            "retrain": retrain,
            "decided": decided,
            "as_of": as_of,
            "keys": keys,
            "jobs": {j.name: j for j in jobs},
        }
    finally:
        mp.undo()


def test_retrain_registers_a_challenger_only_and_logs_every_trial(cycle):
    meta = {
        k: v.value
        for k, v in cycle["retrain"].asset_materializations_for_node("challenger_selection")[-1].metadata.items()
    }
    assert meta["as_of"] == str(cycle["as_of"].date()) and meta["n_trials"] >= 5
    data = cycle["profile"].data_dir
    assert len((data / "models" / "trials.jsonl").read_text().splitlines()) == 6
    assert len((data / "governance" / "hpsearch_archive.jsonl").read_text().splitlines()) == 5


def test_shadow_books_trade_after_the_training_date_and_the_decision_is_recorded(cycle):
    from quant_assets.defs.models.resources import RESEARCH_TRACKING

    data = cycle["profile"].data_dir
    decisions = pd.read_parquet(data / "models" / "promotion_decisions.parquet")
    assert len(decisions) == 1
    d = decisions.iloc[0]
    assert d["shadow_sessions"] >= ChallengerConfig(shadow_weeks=4).shadow_sessions
    tracker = build_resources(cycle["profile"])[RESEARCH_TRACKING].tracker()
    _, client = tracker._client()
    tags = client.get_model_version(tracker.model_name, d["challenger_version"]).tags
    assert tags["promotion"] == ("promoted" if d["promoted"] else "blocked")
    assert (tracker.alias_version("champion") == d["challenger_version"]) == bool(d["promoted"])
    # The planted feature makes the challenger better than flat, net of costs, and the bars hold.
    assert d["promoted"], d["reasons"]
    assert d["challenger_net"] > 0
