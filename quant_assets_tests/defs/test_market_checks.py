"""The market asset checks fail on the faults they exist for, and pass on clean data.

Each check's pure function is tested on small frames (one passing and one failing input per
fault); the Dagster wiring (severity, blocking) is tested by materializing the tiny profile
with a source or a curation step that injects the fault.
"""

from __future__ import annotations

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_assets.defs.market import checks
from quant_assets.market.adjustments import curate_prices
from quant_assets.market.ingest import ARRIVAL_DELAY, stamp_lineage

DATES = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"])
ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN


def _bars(symbols=("A", "B"), dates=DATES, close=None) -> pd.DataFrame:
    rows = [(d, s) for d in dates for s in symbols]
    df = pd.DataFrame(rows, columns=["date", "symbol"])
    df["close"] = close if close is not None else 100.0 + np.arange(len(df))
    for col in ("open", "high", "low", "vwap"):
        df[col] = df["close"]
    df["volume"] = 1000
    return df


def _events(*rows) -> pd.DataFrame:
    cols = ["symbol", "event_type", "announce_date", "ex_date", "ratio", "amount"]
    df = pd.DataFrame(list(rows), columns=cols)
    for col in ("announce_date", "ex_date"):
        df[col] = pd.to_datetime(df[col])
    return df


NO_DELISTINGS = pd.DataFrame(
    {"symbol": pd.Series(dtype=str), "delist_date": pd.DatetimeIndex([]), "delisting_return": pd.Series(dtype=float)}
)
NO_PREV = pd.DataFrame({"symbol": pd.Series(dtype=str), "close": pd.Series(dtype=float)})
SPLIT_AND_DIVIDEND = _events(
    ("A", "split", "2023-12-20", "2024-01-04", 2.0, 0.0),
    ("B", "dividend", "2023-12-20", "2024-01-03", 1.0, 0.5),
)


def _curated(bars, events=SPLIT_AND_DIVIDEND):
    return curate_prices(bars, NO_PREV, events, NO_DELISTINGS)


# --- ingested_at within the documented arrival ---------------------------------------------


@settings(deadline=None)  # the first example loads the exchange calendar
@given(st.sampled_from(list(DATES)), st.integers(0, int(ARRIVAL_DELAY.total_seconds())))
def test_arrival_between_close_and_documented_arrival_passes(day, seconds):
    df = stamp_lineage(pd.DataFrame({"date": [day]}), known_at="date", source_uri="s://x", transform_id="t")
    df["ingested_at"] = df["ingested_at"] - ARRIVAL_DELAY + pd.Timedelta(seconds=seconds)
    assert checks.arrival_violations(df, "date").empty


@pytest.mark.parametrize(
    "shift, problem",
    [
        (pd.Timedelta(seconds=1), "late"),  # one second after the documented arrival
        (pd.Timedelta(days=1), "late"),  # stamped at the next session's arrival
        (-ARRIVAL_DELAY - pd.Timedelta(seconds=1), "before_close"),  # known before the close
    ],
)
def test_arrival_outside_the_window_fails(shift, problem):
    df = stamp_lineage(
        pd.DataFrame({"date": DATES, "symbol": "A"}), known_at="date", source_uri="s://x", transform_id="t"
    )
    df.loc[2, "ingested_at"] += shift
    bad = checks.arrival_violations(df, "date")
    assert bad["date"].tolist() == [DATES[2]] and bad["problem"].tolist() == [problem]
    result = checks.arrival_check("date").result(df, {})
    assert (result.passed, result.severity, result.check_name) == (False, ERROR, checks.CHECK_ARRIVAL)
    assert (
        checks.arrival_check("date")
        .result(stamp_lineage(df[["date", "symbol"]], known_at="date", source_uri="s://x", transform_id="t"), {})
        .passed
    )


def test_arrival_is_measured_from_the_known_at_session_not_the_partition_date():
    # A corporate action stored on its ex-date arrives after its announcement's close.
    ca = stamp_lineage(SPLIT_AND_DIVIDEND, known_at="announce_date", source_uri="s://x", transform_id="t")
    assert checks.arrival_violations(ca, "announce_date").empty
    assert len(checks.arrival_violations(ca, "ex_date")) == len(ca)


# --- bar coverage against the symbol master -----------------------------------------------


def _master(n: int) -> pd.DataFrame:
    return pd.DataFrame([(d, f"S{i:02d}") for d in DATES for i in range(n)], columns=["date", "symbol"])


def test_coverage_passes_when_every_listed_name_has_a_bar():
    master = _master(20)
    result = checks.coverage_result(master.copy(), master)
    assert result.passed and result.metadata["failing_rows"].value == 0


def test_a_few_missing_names_warn_with_the_list():
    master = _master(20)
    bars = master.drop(index=[3, 45])  # one name on session 0, one on session 2: 5% each
    result = checks.coverage_result(bars, master)
    assert (result.passed, result.severity) == (False, WARN)
    gaps = checks.coverage_by_session(bars, master)
    assert gaps["symbols"].tolist() == ["S03", "S05"] and gaps["share"].tolist() == [0.05, 0.05]
    assert "S03" in result.metadata["sample"].value


def test_a_session_missing_more_than_the_threshold_is_an_error():
    master = _master(20)
    n_missing = int(20 * checks.COVERAGE_ERROR_SHARE) + 1
    bars = master.drop(index=range(20, 20 + n_missing))
    result = checks.coverage_result(bars, master)
    assert (result.passed, result.severity) == (False, ERROR)


def test_one_name_missing_in_a_small_universe_is_a_warning_not_an_outage():
    master = _master(5)
    bars = master.drop(index=[0])  # 20% of the names, but a single name
    result = checks.coverage_result(bars, master)
    assert (result.passed, result.severity) == (False, WARN)
    bars = master.drop(index=range(3))  # three of five names on one session: an outage
    assert checks.coverage_result(bars, master).severity == ERROR


def test_bars_of_names_off_the_master_are_not_coverage_gaps():
    master = _master(3)
    bars = pd.concat([master, pd.DataFrame({"date": DATES[:1], "symbol": ["ZZZ"]})])
    assert checks.missing_bars(bars, master).empty


# --- curated row count equals raw -----------------------------------------------------------


def test_row_counts_equal_pass_and_a_dropped_or_doubled_row_fails():
    bars = _bars()
    curated = _curated(bars)
    assert checks.row_count_mismatches(curated, bars, DATES).empty
    dropped = checks.row_count_mismatches(curated.drop(index=5), bars, DATES)
    assert dropped[["raw_rows", "curated_rows"]].values.tolist() == [[2, 1]]
    doubled = checks.row_count_mismatches(pd.concat([curated, curated.iloc[:1]]), bars, DATES)
    assert doubled["date"].tolist() == [DATES[0]]


def test_a_session_with_no_curated_rows_fails():
    bars = _bars()
    curated = _curated(bars)
    bad = checks.row_count_mismatches(curated[curated["date"] != DATES[3]], bars, DATES)
    assert bad["date"].tolist() == [DATES[3]] and bad["curated_rows"].tolist() == [0]


# --- corporate actions applied once --------------------------------------------------------


def _problems(curated, bars=None, events=SPLIT_AND_DIVIDEND) -> set[tuple[str, str, str]]:
    bad = checks.corporate_action_mismatches(curated, _bars() if bars is None else bars, events)
    return {(r.symbol, r.date.strftime("%Y-%m-%d"), r.problem) for r in bad.itertuples()}


def test_events_applied_once_pass():
    assert _problems(_curated(_bars())) == set()


def test_a_split_applied_twice_fails():
    curated = _curated(_bars())
    row = (curated["symbol"] == "A") & (curated["date"] == DATES[2])
    curated.loc[row, "split_ratio"] = 4.0
    curated.loc[row, "ret_price"] = 4.0 * curated.loc[row, "close"] / 102.0 - 1.0  # consistent with 4
    curated.loc[row, "ret_total"] = curated.loc[row, "ret_price"]
    assert _problems(curated) == {("A", "2024-01-04", "split_ratio")}


def test_an_event_on_the_wrong_date_fails_on_both_dates():
    moved = SPLIT_AND_DIVIDEND.assign(ex_date=pd.to_datetime(["2024-01-05", "2024-01-03"]))
    curated = _curated(_bars(), moved)  # curated with the split a session late
    assert _problems(curated) == {("A", "2024-01-04", "split_ratio"), ("A", "2024-01-05", "split_ratio")}


def test_an_event_recorded_but_not_applied_to_the_return_fails():
    curated = _curated(_bars())
    split = (curated["symbol"] == "A") & (curated["date"] == DATES[2])
    curated.loc[split, ["ret_price", "ret_total"]] = curated.loc[split, "close"] / 102.0 - 1.0  # ratio forgotten
    dividend = (curated["symbol"] == "B") & (curated["date"] == DATES[1])
    curated.loc[dividend, "ret_total"] = curated.loc[dividend, "ret_price"]  # dividend forgotten
    assert _problems(curated) == {("A", "2024-01-04", "ret_price"), ("B", "2024-01-03", "ret_total")}


def test_a_raw_event_without_its_curated_row_fails():
    curated = _curated(_bars())
    curated = curated[~((curated["symbol"] == "B") & (curated["date"] == DATES[1]))]
    assert ("B", "2024-01-03", "dividend") in _problems(curated)


def test_the_same_split_delivered_twice_with_a_moved_ex_date_fails():
    twice = pd.concat([SPLIT_AND_DIVIDEND, SPLIT_AND_DIVIDEND.iloc[:1].assign(ex_date=DATES[3])], ignore_index=True)
    curated = _curated(_bars(), twice)  # curation applies it on both dates
    found = _problems(curated, events=twice)
    assert {("A", "2024-01-04", "delivered_twice"), ("A", "2024-01-05", "delivered_twice")} <= found


def test_returns_use_the_previous_session_close_from_before_the_window():
    bars = _bars()
    window = bars[bars["date"] >= DATES[2]]
    prev = bars[bars["date"] == DATES[1]][["symbol", "close"]]
    events = SPLIT_AND_DIVIDEND.iloc[:1]
    curated = curate_prices(window, prev, events, NO_DELISTINGS)
    assert _problems(curated, bars=bars, events=events) == set()
    curated.loc[curated["symbol"] == "A", "ret_price"] += 0.01
    assert ("A", "2024-01-04", "ret_price") in _problems(curated, bars=bars, events=events)


# --- return outliers -----------------------------------------------------------------------


def test_outliers_flag_unexplained_jumps_only():
    close = np.array([100.0, 50.0, 100.0, 51.0, 100.0, 150.0, 101.0, 50.0])  # A, B alternating
    bars = _bars(close=close)
    events = _events(("A", "split", "2023-12-20", "2024-01-03", 2.0, 0.0))
    curated = curate_prices(bars, NO_PREV, events, NO_DELISTINGS)
    flagged = checks.return_outliers(curated)
    # A's split-adjusted return is +100% on its 2:1 split day (large but explained); B triples
    # on 2024-01-04 and drops by two thirds on 2024-01-05 with nothing to explain it (a bad print).
    assert list(zip(flagged["symbol"], flagged["date"].dt.strftime("%Y-%m-%d"))) == [
        ("B", "2024-01-04"),
        ("B", "2024-01-05"),
    ]
    assert checks.return_outliers(_curated(_bars())).empty


def test_a_delisting_return_is_not_an_outlier():
    bars = _bars()
    dl = pd.DataFrame({"symbol": ["A"], "delist_date": [DATES[3]], "delisting_return": [-0.9]})
    curated = curate_prices(bars, NO_PREV, SPLIT_AND_DIVIDEND, dl)
    assert curated["ret_total"].min() < -0.5 and checks.return_outliers(curated).empty


# --- realistic dirt from the synthetic feed: WARN checks see it, blocking checks pass --------

DIRT = {
    "fault_missing_bar_rate": 0.003,
    "fault_halt_rate": 1.0,
    "fault_zero_volume_rate": 0.003,
    "fault_bad_print_rate": 0.003,
    "fault_late_action_share": 0.5,
}


@pytest.fixture(scope="module")
def dirty_market():
    from quant_assets.calendars import sessions_in_range
    from quant_assets.config import load_profile
    from quant_assets.market.feeds import curate_window
    from quant_assets.market.synthetic import MarketConfig, SyntheticMarket

    cfg = MarketConfig.from_dict({**load_profile("tiny").market, **DIRT})
    sessions = sessions_in_range(cfg.start, cfg.end)
    mkt = SyntheticMarket(cfg, sessions)
    first, last = sessions[0], sessions[-1]
    frames = {name: getattr(mkt, name)(first, last) for name in ("bars", "symbols", "corporate_actions", "delistings")}
    frames["curated"] = curate_window(
        sessions, frames["bars"], frames["corporate_actions"], frames["delistings"], config_fingerprint="test"
    )
    return mkt.injected_faults(), sessions, frames


def _pairs(df: pd.DataFrame, date_col: str = "date") -> set[tuple[str, pd.Timestamp]]:
    return set(zip(df["symbol"], pd.to_datetime(df[date_col])))


def test_injected_dirt_warns_and_never_fails_a_blocking_check(dirty_market):
    faults, sessions, f = dirty_market
    assert {"missing_bar", "halt", "bad_print", "late_action"} <= set(faults["kind"])
    # Blocking checks pass on dirt.
    assert checks.row_count_mismatches(f["curated"], f["bars"], sessions).empty
    assert checks.corporate_action_mismatches(f["curated"], f["bars"], f["corporate_actions"]).empty
    assert checks.coverage_by_session(f["bars"], f["symbols"])["share"].max() <= checks.COVERAGE_ERROR_SHARE
    # Every bar not delivered is a coverage gap; every bad print a return outlier.
    gaps = _pairs(checks.missing_bars(f["bars"], f["symbols"]))
    assert _pairs(faults[faults["kind"] == "missing_bar"], "start_date") <= gaps
    outliers = _pairs(checks.return_outliers(f["curated"]))
    assert _pairs(faults[faults["kind"] == "bad_print"], "start_date") <= outliers
