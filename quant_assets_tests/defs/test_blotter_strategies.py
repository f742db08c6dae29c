"""The blotter of session t lists the options strategies formed at the close of t-1, none on the first session."""

from __future__ import annotations

import pandas as pd

from quant_assets.defs.portfolio.assets import _prior_strategies
from quant_assets.options.strategies import StrategyPolicy, build_strategies
from quant_assets_tests.options_sleeve.test_strategies import flat_surfaces, forecasts, scores

SESSIONS = pd.DatetimeIndex(["2024-01-31", "2024-02-01", "2024-02-02"])


def _rows(day: pd.Timestamp, names: list[str], pol: StrategyPolicy) -> pd.DataFrame:
    surfaces = flat_surfaces(dict.fromkeys(names, 0.3), dict.fromkeys(names, 100.0), date=day)
    return build_strategies(day, forecasts(dict.fromkeys(names, -600.0), date=day), scores({}, date=day), surfaces, pol)


def test_strategies_come_from_the_previous_close():
    pol = StrategyPolicy(vega_cap=1.0)
    rows = pd.concat([_rows(SESSIONS[0], ["AAA"], pol), _rows(SESSIONS[1], ["BBB", "CCC"], pol)], ignore_index=True)
    assert _prior_strategies(rows, SESSIONS[0], SESSIONS, pol) == []
    assert {s["underlier"] for s in _prior_strategies(rows, SESSIONS[1], SESSIONS, pol)} == {"AAA"}
    assert {s["underlier"] for s in _prior_strategies(rows, SESSIONS[2], SESSIONS, pol)} == {"BBB", "CCC"}
