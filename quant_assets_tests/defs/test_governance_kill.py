"""The kill switch stops the daily paper book: no order after the kill's session until a person clears it.

Runs the portfolio chain of the portfolio tests (tiny profile, stand-in scores) in three windows:
before the kill, while it is tripped, after it is cleared.
"""

import pandas as pd

from quant_assets.calendars import sessions_in_range
from quant_assets.config import load_profile
from quant_assets.market.store import ParquetStore
from quant_assets.monitoring.tripwires import clear_kill, trip_kill
from quant_assets_tests.defs.test_portfolio_assets import FIRST_SCORED, KEYS, _run

KILL = 30  # the portfolio tests' own split of the quarter into two runs


def test_no_order_goes_out_after_the_kill_until_it_is_cleared(tmp_path, monkeypatch):
    monkeypatch.setenv("QUANT_ASSETS_DATA", str(tmp_path))
    profile = load_profile("tiny")
    store = ParquetStore(profile.data_dir / "store", sessions=sessions_in_range)

    def orders(first, last):
        return store.read_window("portfolio", "orders", KEYS[first], KEYS[last])

    assert _run(0, KILL).success
    assert len(orders(FIRST_SCORED, KILL)) > 0  # the book trades before the kill
    trip_kill(profile.data_dir, KEYS[KILL], "drawdown 16.0% > cap 15.0%")
    assert _run(KILL + 1, KILL + 4).success
    assert orders(KILL + 1, KILL + 4).empty
    held = store.read_window("portfolio", "positions", KEYS[KILL], KEYS[KILL + 4])
    by_day = held[held["symbol"] != "$CASH"].groupby("date")
    assert by_day["shares"].apply(lambda s: tuple(s.round(9))).nunique() == 1  # the book is held as it was
    md = (profile.data_dir / "reports" / KEYS[KILL + 4] / "blotter.md").read_text()
    assert f"KILL SWITCH TRIPPED on {KEYS[KILL]}" in md
    clear_kill(profile.data_dir, "frank", "drawdown reviewed")
    assert _run(KILL + 5, KILL + 8).success
    resumed = orders(KILL + 5, KILL + 8)
    assert len(resumed) > 0 and pd.Timestamp(resumed["date"].min()) == pd.Timestamp(KEYS[KILL + 5])
    assert "KILL" not in (profile.data_dir / "reports" / KEYS[KILL + 8] / "blotter.md").read_text()
