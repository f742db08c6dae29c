"""Tripwires: de-risk bands, the kill switch on disk, and a planted crash through the backtester."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from quant_assets.monitoring.guarded import run_guarded_backtest
from quant_assets.monitoring.tripwires import (
    KILL_FILE,
    TripwireConfig,
    clear_kill,
    derisk_scale,
    evaluate_tripwires,
    guard_targets,
    kill_history,
    kill_state,
    trip_kill,
)

FRICTIONLESS = {
    "initial_capital": 1e6,
    "spread_bps": 0.0,
    "impact_y": 0.0,
    "default_borrow_bps": 0.0,
    "vectorized_fills": True,
}
TW = TripwireConfig(bands=((0.05, 0.75), (0.10, 0.5)), kill_drawdown=0.15)
CRASH_START, CRASH_DAYS = 20, 12


def crash_market(n_names: int = 8, n_sessions: int = 60) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Prices drifting up 0.2% a day, then falling 5% a day for CRASH_DAYS sessions, then drifting up again."""
    sessions = pd.bdate_range("2024-01-02", periods=n_sessions)
    step = np.full(n_sessions, 0.002)
    step[CRASH_START : CRASH_START + CRASH_DAYS] = -0.05
    path = 100.0 * np.cumprod(1.0 + step)
    rows = []
    for k in range(n_names):
        close = path * (1.0 + 0.01 * k)
        opens = np.concatenate(([close[0]], close[:-1]))  # open at the previous close: no gaps
        rows.append(
            pd.DataFrame(
                {
                    "date": sessions,
                    "symbol": f"S{k}",
                    "open": opens,
                    "close": close,
                    "volume": 1e9,
                    "split_ratio": 1.0,
                    "dividend": 0.0,
                    "is_delisting": False,
                    "delisting_return": np.nan,
                }
            )
        )
    prices = pd.concat(rows, ignore_index=True)
    targets = pd.DataFrame(
        [(d, f"S{k}", 1.0 / n_names) for d in sessions for k in range(n_names)], columns=["date", "symbol", "target_w"]
    )
    return prices, targets


@given(st.floats(0, 1), st.floats(0, 1))
def test_derisk_scale_never_rises_with_drawdown(a, b):
    lo, hi = sorted((a, b))
    assert derisk_scale(hi, TW) <= derisk_scale(lo, TW) <= 1.0


def test_slippage_rule_needs_y_consecutive_breaching_sessions():
    dates = pd.bdate_range("2024-01-02", periods=6)
    cfg = TripwireConfig(slippage_excess=0.5, slippage_days=3)
    curve = pd.DataFrame({"date": dates, "nav": 1e6, "impact": 1.0})
    # Two breaches, a normal day, then three in a row: the kill fires on the sixth session only.
    curve["impact_realized"] = [1.6, 1.6, 1.2, 1.6, 1.6, 1.6]
    out = evaluate_tripwires(curve, cfg)
    assert out["kill"].tolist() == [False] * 5 + [True]
    assert "slippage" in out["reason"].iloc[-1]
    # Sessions without trading (no modeled impact) neither break nor extend the run.
    curve["impact"] = [1.0, 1.0, 0.0, 1.0, 0.0, 0.0]
    curve["impact_realized"] = [1.6, 1.6, 0.0, 1.6, 0.0, 0.0]
    assert evaluate_tripwires(curve, cfg)["kill"].tolist() == [False, False, False, True, True, True]


def test_kill_switch_is_sticky_atomic_and_cleared_only_by_a_named_person(tmp_path):
    assert not kill_state(tmp_path).killed
    first = trip_kill(tmp_path, "2024-02-01", "drawdown 16% > cap 15%")
    again = trip_kill(tmp_path, "2024-02-05", "another reason")
    assert again.killed and again.session == first.session == "2024-02-01" and again.reason == first.reason
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left
    with pytest.raises(ValueError, match="--by"):
        clear_kill(tmp_path, "", "looked at it")
    assert kill_state(tmp_path).killed
    state = clear_kill(tmp_path, "alice", "crash understood, book reviewed")
    assert not state.killed and kill_state(tmp_path).cleared_by == "alice"
    hist = kill_history(tmp_path)
    assert hist["event"].tolist() == ["trip", "clear"] and hist["by"].iloc[-1] == "alice"
    (tmp_path / KILL_FILE).write_text("{trunc")
    with pytest.raises(ValueError, match="kill-switch"):
        kill_state(tmp_path)


def test_guard_targets_sends_nothing_while_killed(tmp_path):
    t = pd.DataFrame({"date": pd.Timestamp("2024-01-02"), "symbol": ["A", "B"], "target_w": [0.5, -0.5]})
    assert guard_targets(t, kill_state(tmp_path), 0.5)["target_w"].tolist() == [0.25, -0.25]
    assert guard_targets(t, trip_kill(tmp_path, "2024-01-02", "x")).empty


@pytest.fixture(scope="module")
def crash():
    return crash_market()


def _gross(result) -> pd.Series:
    eq = result.equity.set_index("date")
    return (eq["long_value"] - eq["short_value"]) / eq["nav"]


def test_planted_crash_kills_at_the_first_session_beyond_the_cap_and_nothing_trades_after(crash, tmp_path):
    prices, targets = crash
    run = run_guarded_backtest(targets, prices, None, FRICTIONLESS, TW, root=tmp_path)
    nav = pd.concat([pd.Series([1e6]), run.result.equity["nav"]], ignore_index=True)
    dd = (1.0 - nav / nav.cummax()).iloc[1:].to_numpy()
    sessions = pd.DatetimeIndex(run.result.equity["date"])
    expected = sessions[np.flatnonzero(dd > TW.kill_drawdown)[0]]
    assert run.kill_sessions == [expected]
    assert CRASH_START < sessions.get_loc(expected) < CRASH_START + CRASH_DAYS
    # Nothing is traded after the kill (the book is frozen; orders stop), though the crash goes on.
    orders = run.result.orders
    assert len(orders[orders["date"] <= expected]) > 0
    assert orders[orders["date"] > expected].empty
    # The bands scaled the gross down before the kill: 1 -> 0.75 -> 0.5 as the drawdown crossed 5% and 10%.
    gross = _gross(run.result)
    band = run.tripwires.set_index("date")["gross_scale"]
    before = sessions[sessions < expected]
    first_half = before[band.loc[before] == 0.5][0]
    nxt = sessions[sessions.get_loc(first_half) + 1]
    assert gross.loc[nxt] == pytest.approx(0.5, rel=0.05)
    assert gross.loc[sessions[5]] == pytest.approx(1.0, rel=0.01)
    state = kill_state(tmp_path)
    assert state.killed and state.session == str(expected.date()) and "drawdown" in state.reason


def test_unguarded_book_would_have_traded_and_lost_more(crash):
    prices, targets = crash
    guarded = run_guarded_backtest(targets, prices, None, FRICTIONLESS, TW)
    loose = run_guarded_backtest(
        targets, prices, None, FRICTIONLESS, TripwireConfig(bands=((0.99, 1.0),), kill_drawdown=0.99)
    )
    assert loose.kill_sessions == [] and loose.n_runs == 1
    assert guarded.result.equity["nav"].min() > loose.result.equity["nav"].min()


def test_clearing_the_kill_resumes_trading(crash, tmp_path):
    prices, targets = crash
    sessions = pd.DatetimeIndex(sorted(prices["date"].unique()))
    clear_at = sessions[CRASH_START + CRASH_DAYS + 3]
    run = run_guarded_backtest(
        targets, prices, None, FRICTIONLESS, TW, root=tmp_path, clearances={clear_at: ("bob", "reviewed the crash")}
    )
    kill = run.kill_sessions[0]
    orders = run.result.orders
    between = orders[(orders["date"] > kill) & (orders["date"] <= clear_at)]
    assert between.empty
    after = orders[orders["date"] > clear_at]
    assert after["date"].min() == sessions[sessions.get_loc(clear_at) + 1]
    assert not kill_state(tmp_path).killed
    hist = kill_history(tmp_path)
    assert hist["event"].tolist() == ["trip", "clear"] and hist["by"].tolist()[-1] == "bob"


def test_a_switch_tripped_before_the_run_keeps_the_book_flat_until_cleared(crash, tmp_path):
    prices, targets = crash
    sessions = pd.DatetimeIndex(sorted(prices["date"].unique()))
    trip_kill(tmp_path, sessions[0], "tripped by hand", source="person")
    run = run_guarded_backtest(targets.head(8 * 10), prices, None, FRICTIONLESS, TW, root=tmp_path)
    assert run.result.orders.empty
    doc = json.loads((tmp_path / KILL_FILE).read_text())
    assert doc["killed"] and doc["source"] == "person"


def test_kill_command_clears_with_name_and_reason(tmp_path, monkeypatch, capsys):
    from quant_assets.monitoring import kill

    monkeypatch.setenv("QUANT_ASSETS_DATA", str(tmp_path))
    root = tmp_path / "tiny"
    trip_kill(root, "2024-02-01", "drawdown 16% > cap 15%")
    with pytest.raises(SystemExit):
        kill.main(["clear", "--profile", "tiny", "--by", "carol"])
    assert kill_state(root).killed
    assert kill.main(["clear", "--profile", "tiny", "--by", "carol", "--reason", "reviewed"]) == 0
    assert not kill_state(root).killed and "clear" in capsys.readouterr().out
    assert kill.main(["trip", "--profile", "tiny", "--by", "dan", "--reason", "broker outage"]) == 0
    state = kill_state(root)
    assert state.killed and state.source == "person" and "dan" in state.reason


def test_a_tripped_switch_heads_the_blotter(tmp_path):
    from quant_assets.reporting.blotter import BLOTTER_COLUMNS, emit_daily

    positions = pd.DataFrame({c: pd.Series(dtype=float) for c in BLOTTER_COLUMNS}).assign(
        symbol=pd.Series(dtype=object), horizon_days=pd.Series(dtype="int64")
    )
    state = trip_kill(tmp_path, "2024-02-01", "drawdown 16.0% > cap 15.0%")
    md, payload = emit_daily("2024-02-02", positions, [], {"kill_switch": state.line()})
    assert md.splitlines()[2] == f"> **{state.line()}**" and "KILL SWITCH TRIPPED on 2024-02-01" in md
    assert "kill_switch" not in payload  # the §10.1 document is unchanged
    md, _ = emit_daily("2024-02-02", positions, [], {})
    assert "KILL" not in md


def test_halt_targets_drops_every_decision_after_the_kill_session(tmp_path):
    from quant_assets.monitoring.tripwires import halt_targets

    t = pd.DataFrame({"date": pd.bdate_range("2024-01-02", periods=5), "symbol": "A", "target_w": 0.1})
    assert len(halt_targets(t, kill_state(tmp_path))) == 5
    state = trip_kill(tmp_path, "2024-01-04", "x")
    assert halt_targets(t, state)["date"].max() == pd.Timestamp("2024-01-04")
    assert len(halt_targets(t, clear_kill(tmp_path, "amy", "reviewed"))) == 5
