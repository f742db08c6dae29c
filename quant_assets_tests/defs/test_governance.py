"""Governance assets on the tiny profile: tripwires and the kill switch, the clear job, the Go/No-Go scorecard.

The monitored curve is a stand-in ``backtest_equities`` with a planted crash (the real chain is
exercised by the portfolio tests); the selection and trials are empty stand-ins, as on the tiny
quarter where no selection runs.
"""

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from quant_assets import schemas
from quant_assets.config import load_profile
from quant_assets.defs.governance import CLEAR_KILL_JOB, build_governance
from quant_assets.defs.governance.tripwire_assets import CHECK_KILL
from quant_assets.defs.lib.partitions import session_partitions
from quant_assets.defs.models.resources import MODEL_IO_MANAGER
from quant_assets.defs.resources import build_resources
from quant_assets.market.lineage import add_lineage
from quant_assets.monitoring.tripwires import TripwireConfig, kill_history, kill_state

PROFILE = "tiny"
PARTITIONS = session_partitions(load_profile(PROFILE))
KEYS = PARTITIONS.get_partition_keys()
CRASH = 20  # sessions of 4% losses from here: the default 15% cap breaks on the fourth
RANGE = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


def _curve() -> pd.DataFrame:
    dates = pd.DatetimeIndex(KEYS)
    r = np.full(len(dates), 0.001)
    r[CRASH : CRASH + 6] = -0.04
    nav = 1e6 * np.cumprod(1 + r)
    prev = np.r_[1e6, nav[:-1]]
    zeros = np.zeros(len(dates))
    df = pd.DataFrame(
        {
            "date": dates,
            "nav": nav,
            "cash": nav,
            "long_value": zeros,
            "short_value": zeros,
            "net_pnl": nav - prev,
            **{c: zeros for c in ("fee", "spread", "impact", "impact_realized", "borrow", "dividends")},
            **{c: zeros for c in ("traded_notional", "requested_notional", "filled_notional", "modeled_impact")},
            "drawdown": nav / np.maximum.accumulate(nav) - 1.0,
            "run_id": "planted",
        }
    )
    return add_lineage(df, pd.Timestamp("2024-04-01", tz="UTC"), "test://curve", "t")


def _stand_in(name: str, schema: type, frame):
    @dg.asset(name=name, io_manager_key=MODEL_IO_MANAGER, group_name="stand_in")
    def stand_in() -> pd.DataFrame:
        df = frame()
        schema.validate(df)
        return df

    return stand_in


def _empty(schema: type) -> pd.DataFrame:
    from quant_assets.defs.models.assets import _empty as empty

    return empty(schema)


@pytest.fixture(scope="module")
def governed(tmp_path_factory):
    root = tmp_path_factory.mktemp("governance")
    mp = pytest.MonkeyPatch()
    mp.setenv("QUANT_ASSETS_DATA", str(root))
    try:
        profile = load_profile(PROFILE)
        assets, jobs = build_governance(profile, PARTITIONS)
        stand_ins = [
            _stand_in("backtest_equities", schemas.BacktestEquities, _curve),
            _stand_in("model_selection", schemas.ModelSelection, lambda: _empty(schemas.ModelSelection)),
            _stand_in("trials_log", schemas.TrialsLog, lambda: _empty(schemas.TrialsLog)),
        ]
        mine = [a for a in assets if a.key.to_user_string() in ("tripwires", "go_no_go", "go_no_go_scorecard")]
        result = dg.materialize(
            [*stand_ins, *mine], resources=build_resources(PROFILE), tags={RANGE[0]: KEYS[0], RANGE[1]: KEYS[-1]}
        )
        yield {"profile": profile, "result": result, "jobs": {j.name: j for j in jobs}, "assets": assets}
    finally:
        mp.undo()


def test_the_kill_fires_on_the_crash_session_and_fails_the_check(governed):
    result, profile = governed["result"], governed["profile"]
    assert result.success
    nav = _curve()["nav"].to_numpy()
    dd = 1.0 - nav / np.maximum.accumulate(np.maximum(nav, 1e6))
    expected = KEYS[int(np.flatnonzero(dd > TripwireConfig().kill_drawdown)[0])]
    assert KEYS.index(expected) == CRASH + 3
    state = kill_state(profile.data_dir)
    assert state.killed and state.session == expected and "drawdown" in state.reason
    check = [e for e in result.get_asset_check_evaluations() if e.check_name == CHECK_KILL]
    assert len(check) == 1 and not check[0].passed and "KILL SWITCH" in check[0].description
    meta = result.asset_materializations_for_node("tripwires")[-1].metadata
    assert "TRIPPED" in meta["kill_switch"].value


def test_go_no_go_reports_every_sleeve_honestly(governed):
    meta = {k: v.value for k, v in governed["result"].asset_materializations_for_node("go_no_go")[-1].metadata.items()}
    assert meta["equities_verdict"] == "NO-GO" and meta["options_vol_verdict"] == "NO-GO"
    assert "not evaluated" in meta["go_no_go"] and "| equities |" in meta["go_no_go"]
    history = pd.read_parquet(governed["profile"].data_dir / "models" / "go_no_go_scorecard.parquet")
    assert len(history) == 3 * len(KEYS) and set(history["sleeve"]) == {"equities", "options_vol", "options_spread"}
    last = history[(history["asof"] == history["asof"].max()) & (history["sleeve"] == "equities")].iloc[0]
    assert last["sharpe"] < 0 and last["max_drawdown"] > 0.15 and "PBO" in last["reasons"]
    assert (governed["profile"].data_dir / "reports" / "go_no_go.md").exists()


def test_clear_kill_job_clears_with_name_and_reason_and_a_rerun_does_not_trip_again(governed):
    profile = governed["profile"]
    job = governed["jobs"][CLEAR_KILL_JOB]
    config = {"ops": {"clear_kill_switch": {"config": {"by": "erin", "reason": "crash reviewed"}}}}
    assert job.execute_in_process(run_config=config).success
    assert not kill_state(profile.data_dir).killed
    assert kill_history(profile.data_dir)["by"].iloc[-1] == "erin"
    with pytest.raises(dg.DagsterInvalidConfigError):
        job.execute_in_process(run_config={"ops": {"clear_kill_switch": {"config": {"by": "erin"}}}})
