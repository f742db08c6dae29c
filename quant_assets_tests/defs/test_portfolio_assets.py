"""Portfolio assets on the tiny profile: targets, the backtest of the stored targets, the daily blotter.

The tiny quarter is too short for a model selection (no scores): ``equity_scores`` is replaced
by a stand-in asset of the same key and schema that scores every universe member from a seeded
draw, so the portfolio chain runs on real market data, in two runs (the turnover cap's previous
weights cross the runs).
"""

import json

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from quant_assets import schemas
from quant_assets.calendars import sessions_in_range
from quant_assets.config import load_profile
from quant_assets.defs import build_definitions
from quant_assets.defs.lib.partitions import session_partitions
from quant_assets.defs.lib.runtime import window_sessions
from quant_assets.defs.lib.session_asset import session_asset
from quant_assets.defs.market import EQUITY_MARKET_ASSETS
from quant_assets.defs.models.resources import models_dir
from quant_assets.defs.portfolio import checks
from quant_assets.defs.portfolio.assets import COV_WINDOW, portfolio_configs
from quant_assets.defs.portfolio.book_assets import CHECK_PNL, CHECK_POSITIONS
from quant_assets.defs.resources import build_resources
from quant_assets.market.ingest import stamp_lineage
from quant_assets.market.store import ParquetStore
from quant_assets.portfolio import RiskConfig
from quant_assets.portfolio.book import CASH, pnl_breaks, position_breaks
from quant_assets.portfolio.targets import build_targets, decision_dated
from quant_assets.reporting import validate_blotter

PROFILE = "tiny"
RANGE = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
CHAIN = [
    *EQUITY_MARKET_ASSETS,
    "universe",
    "equity_features",
    "equity_labels",
    "model_selection",
    "trials_log",
    "equity_scores",
    "target_portfolio",
    "backtest_equities",
    "daily_blotter",
    "orders",
    "fills",
    "positions",
    "pnl",
]
BOOK = ["orders", "fills", "positions", "pnl"]
FIRST_SCORED = 5  # sessions before it hold no scores


def _stand_in_scores(partitions):
    @session_asset(
        schema=schemas.EquityScores,
        layer="scores",
        group="models",
        partitions_def=partitions,
        date_col="asof",
        ins={"universe": dg.AssetIn()},
    )
    def equity_scores(context: dg.AssetExecutionContext, universe: pd.DataFrame):
        sessions = window_sessions(context)
        u = universe[universe["date"].isin(sessions[sessions >= pd.Timestamp(KEYS[FIRST_SCORED])])]
        rng = np.random.default_rng([int(d.strftime("%Y%m%d")) for d in u["date"].drop_duplicates()] or [0])
        mu = rng.normal(0.0, 0.01, len(u))
        out = pd.DataFrame(
            {
                "asof": u["date"].to_numpy(),
                "symbol": u["symbol"].to_numpy(),
                "expected_excess_return": mu,
                "horizon_sessions": np.int64(5),
                "confidence": rng.uniform(0.2, 1.0, len(u)),
                "rationale": "[]",
                "model": "stand-in",
                "model_version": "0",
                "model_alias": "challenger",
                "model_as_of": pd.Timestamp(KEYS[0]),
            }
        )
        return stamp_lineage(out, known_at="asof", source_uri="test://scores", transform_id="t"), {}

    return equity_scores


DEFS = build_definitions(PROFILE)
KEYS = session_partitions(load_profile(PROFILE)).get_partition_keys()


def _assets():
    partitions = session_partitions(load_profile(PROFILE))
    stand_in = _stand_in_scores(partitions)
    # The options sleeve is not materialized here: the blotter reads its missing partitions as no strategies.
    real = DEFS.resolve_assets_def("options_strategies")
    options = dg.SourceAsset(
        "options_strategies",
        partitions_def=partitions,
        io_manager_key="io_manager",
        metadata=real.metadata_by_key[real.key],
    )
    return [
        stand_in if a.key.to_user_string() == "equity_scores" else a
        for a in DEFS.assets
        if a.key.to_user_string() in CHAIN
    ] + [options]


def _run(first, last):
    return dg.materialize(
        _assets(),
        selection=CHAIN,
        resources=build_resources(PROFILE),
        tags={RANGE[0]: KEYS[first], RANGE[1]: KEYS[last]},
    )


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    root = tmp_path_factory.mktemp("portfolio")
    mp = pytest.MonkeyPatch()
    mp.setenv("QUANT_ASSETS_DATA", str(root))
    try:
        results = [_run(0, 30), _run(31, len(KEYS) - 1)]
        assert all(r.success for r in results)
        profile = load_profile(PROFILE)
        yield {
            "results": results,
            "profile": profile,
            "store": ParquetStore(profile.data_dir / "store", sessions=sessions_in_range),
        }
    finally:
        mp.undo()


def _meta(result, node):
    return {k: v.value for k, v in result.asset_materializations_for_node(node)[-1].metadata.items()}


def test_the_chain_materializes_with_every_check_passing(chain):
    for result in chain["results"]:
        evaluations = [
            e
            for e in result.get_asset_check_evaluations()
            if e.asset_key.path[-1] in ("target_portfolio", "backtest_equities", "daily_blotter")
        ]
        assert {e.check_name for e in evaluations} == {checks.CHECK_CAPS, checks.CHECK_NAV, checks.CHECK_BLOTTER}
        book = [e for e in result.get_asset_check_evaluations() if e.asset_key.path[-1] in BOOK]
        assert {e.check_name for e in book} == {CHECK_POSITIONS, CHECK_PNL} and all(e.passed for e in book)
        assert all(e.passed for e in evaluations), [e.check_name for e in evaluations if not e.passed]


def test_targets_stay_within_caps_and_equal_one_pass_over_the_quarter(chain):
    store, profile = chain["store"], chain["profile"]
    risk, _ = portfolio_configs(profile)
    stored = store.read_window("portfolio", "target_portfolio", KEYS[0], KEYS[-1])
    assert stored["date"].min() == pd.Timestamp(KEYS[FIRST_SCORED]) and stored["date"].max() == pd.Timestamp(KEYS[-1])
    assert checks.cap_breaches(stored, risk).empty
    assert (stored.groupby("date")["target_w"].apply(lambda w: w.abs().sum()) > 0).all()
    # The second run started from the stored targets of the first: one pass gives the same book.
    scores = store.read_window("scores", "equity_scores", KEYS[0], KEYS[-1])
    symbols = store.read_window("reference", "symbols", KEYS[0], KEYS[-1])
    prices = store.read_window("curated", "adjusted_prices", KEYS[0], KEYS[-1])
    one_pass, _ = build_targets(
        scores, symbols, prices, pd.DatetimeIndex(KEYS), pd.Series(dtype=float), risk, COV_WINDOW
    )
    got = stored[one_pass.columns].sort_values(["date", "symbol"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        got, one_pass.sort_values(["date", "symbol"]).reset_index(drop=True), check_dtype=False, atol=1e-12
    )
    assert (stored["prev_w"] != 0).any()  # the turnover cap saw yesterday's book


def test_backtest_trades_the_stored_targets_and_reports_go_no_go(chain):
    meta = _meta(chain["results"][-1], "backtest_equities")
    curve = pd.read_parquet(models_dir(PROFILE) / "backtest_equities.parquet")
    schemas.BacktestEquities.validate(curve)
    assert curve["date"].min() == pd.Timestamp(KEYS[FIRST_SCORED - 1])  # decided at the close before
    assert curve["traded_notional"].sum() > 0 and curve["fee"].sum() > 0 and curve["impact"].sum() > 0
    for key in ("net_sharpe", "max_drawdown", "turnover_ann", "capacity", "dsr", "run_id"):
        assert key in meta, key
    assert meta["verdict"].startswith(("GO", "NO-GO"))
    assert "| PBO | n/a |" in meta["go_no_go"]  # no selection ran on the tiny quarter
    assert set(meta["costs"]) == {"fee", "spread", "impact", "borrow"}


def test_every_blotter_written_validates_and_the_last_has_plots(chain):
    profile = chain["profile"]
    reports = profile.data_dir / "reports"
    files = sorted(reports.glob("*/blotter.json"))
    assert [p.parent.name for p in files] == KEYS
    for path in files:
        validate_blotter(json.loads(path.read_text()))
    last = json.loads(files[-1].read_text())
    stored = chain["store"].read_window("portfolio", "target_portfolio", KEYS[-1], KEYS[-1])
    assert {p["symbol"] for p in last["positions"]} == set(stored.loc[stored["target_w"] != 0, "symbol"])
    assert last["strategies"] == [] and last["risk"]["sector_caps"]
    md = (reports / KEYS[-1] / "blotter.md").read_text()
    assert "## Top 20 longs" in md and "## Scorecard" in md and "![equity_drawdown.png]" in md
    assert (reports / KEYS[-1] / "equity_drawdown.png").is_file()
    assert (reports / KEYS[-1] / "costs_psr.png").is_file()
    exposures = md.split("## Factor exposures")[1].split("## Scorecard")[0]
    for factor in ("market_beta", "momentum", "value", "size"):
        assert f"| {factor} |" in exposures
    beta = float(exposures.split("| market_beta |")[1].split("|")[0])  # 60 sessions of returns by the last day
    assert np.isfinite(beta)
    assert "| DSR | n/a |" not in md
    assert not (reports / KEYS[-2] / "equity_drawdown.png").exists()
    meta = _meta(chain["results"][-1], "daily_blotter")
    assert meta["asof"] == KEYS[-1] and meta["blotter_md"] == str(reports / KEYS[-1] / "blotter.md")


def test_the_paper_book_feeds_positions_back_session_by_session(chain):
    """Three consecutive one-session runs: positions at t = positions at t-1 + fills + corporate actions."""
    store = chain["store"]
    days = KEYS[40:43]
    stored = {n: store.read_window("portfolio", n, KEYS[0], KEYS[-1]) for n in BOOK}
    assert _meta(chain["results"][0], "positions")["started_flat"]
    assert not _meta(chain["results"][1], "positions")["started_flat"]
    assert stored["fills"]["date"].min() == pd.Timestamp(KEYS[FIRST_SCORED])  # flat until the first targets
    for day in days:
        result = dg.materialize(_assets(), selection=BOOK, resources=build_resources(PROFILE), partition_key=day)
        assert result.success and all(e.passed for e in result.get_asset_check_evaluations())
        assert not _meta(result, "positions")["started_flat"]
    again = {n: store.read_window("portfolio", n, days[0], days[-1]) for n in BOOK}
    for n in BOOK:  # the re-runs fed from the stored book reproduce the two-run chain
        keep = stored[n][stored[n]["date"].isin(pd.DatetimeIndex(days))].reset_index(drop=True)
        cols = [c for c in keep.columns if c not in schemas.Lineage.to_schema().columns]
        pd.testing.assert_frame_equal(again[n].loc[:, cols], keep.loc[:, cols])
    before = stored["positions"][stored["positions"]["date"] == pd.Timestamp(KEYS[39])]
    prices = store.read_window("curated", "adjusted_prices", KEYS[0], KEYS[-1])
    assert position_breaks(before, again["positions"], again["fills"], prices).empty
    assert pnl_breaks(again["positions"], again["pnl"]).empty
    assert len(again["fills"]) > 0 and (again["positions"]["symbol"] != CASH).any()
    pnl = stored["pnl"]
    assert pnl_breaks(stored["positions"], pnl).empty
    capital = portfolio_configs(chain["profile"])[1].initial_capital
    assert pnl["nav"].iloc[-1] == pytest.approx(capital + pnl["net_pnl"].sum())


# --- the checks fail on bad input ------------------------------------------------------------------


def test_cap_check_fails_on_a_name_gross_net_or_sector_breach():
    risk = RiskConfig(name_cap=0.05, gross_cap=0.15, net_cap=0.02, sector_cap=0.06)
    day = pd.Timestamp("2024-03-01")
    ok = pd.DataFrame(
        {"date": day, "symbol": ["A", "B", "C"], "target_w": [0.05, -0.04, 0.0], "sector": ["Tech", "Tech", None]}
    )
    assert checks.cap_breaches(ok, risk).empty
    bad = ok.assign(target_w=[0.06, 0.05, 0.05], sector=["Tech", "Tech", "Energy"])
    assert sorted(checks.cap_breaches(bad, risk)["what"]) == ["gross", "name A", "net", "sector Tech"]


def test_nav_check_fails_when_nav_does_not_add_up():
    eq = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-03-01", "2024-03-04"]),
            "nav": [100.0, 101.0],
            "cash": [50.0, 50.0],
            "long_value": [80.0, 80.0],
            "short_value": [-30.0, -30.0],
        }
    )
    assert checks.nav_mismatch(eq)["date"].tolist() == [pd.Timestamp("2024-03-04")]


def test_blotter_check_fails_on_a_missing_invalid_or_different_file(tmp_path):
    day = pd.Timestamp("2024-03-01")
    rows = pd.DataFrame({"asof": [day], "symbol": ["A"], "target_w": [0.01]})
    payload = {
        "asof": "2024-03-01",
        "universe": ["A"],
        "strategies": [],
        "positions": [
            {
                "symbol": "A",
                "target_w": 0.01,
                "horizon_days": 5,
                "expected_alpha_bps": 10.0,
                "conf": 0.5,
                "tp_bps": 100.0,
                "sl_bps": -50.0,
            }
        ],
        "risk": {"target_vol_ann": 0.1, "gross_cap": 1.5, "sector_caps": {}},
    }
    assert checks.invalid_blotters(rows, tmp_path, [day])["problem"].str.endswith("missing").all()
    (tmp_path / "2024-03-01").mkdir()
    path = tmp_path / "2024-03-01" / "blotter.json"
    path.write_text(json.dumps(payload))
    assert checks.invalid_blotters(rows, tmp_path, [day]).empty
    path.write_text(json.dumps({**payload, "risk": {"gross_cap": 1.5}}))
    assert checks.invalid_blotters(rows, tmp_path, [day])["problem"].str.startswith("invalid").all()
    path.write_text(json.dumps(payload))
    assert len(checks.invalid_blotters(rows.assign(target_w=0.02), tmp_path, [day])) == 1


def test_targets_for_a_session_are_decided_at_the_close_before():
    sessions = pd.DatetimeIndex(["2024-03-01", "2024-03-04", "2024-03-05"])
    t = pd.DataFrame({"date": sessions, "symbol": "A", "target_w": [0.1, 0.2, 0.3]})
    got = decision_dated(t, sessions)
    assert got["date"].tolist() == list(sessions[:2]) and got["target_w"].tolist() == [0.2, 0.3]
