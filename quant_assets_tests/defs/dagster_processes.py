"""Run Dagster's own command-line tools against the code location, as a user would.

End-to-end tests start ``dagster`` / ``dagster-webserver`` in subprocesses serving the
``tiny`` profile, with a throwaway instance (``DAGSTER_HOME`` holding the repository's
``dagster.yaml``) and data root, both under the test's own temporary directory, so parallel
test workers never share state.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import NamedTuple

import quant_assets
from quant_assets import schemas

REPO_ROOT = Path(quant_assets.__file__).resolve().parents[1]
CODE_LOCATION_MODULE = "quant_assets.definitions"
PROFILE = "tiny"


def dagster_command(script: str, module: str) -> list[str]:
    """The console script installed beside this interpreter, else ``python -m <module>``.

    ``sys.executable`` is not resolved: in a venv its directory is the venv's ``bin``.
    """
    candidate = Path(sys.executable).parent / script
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return [str(candidate)]
    return [sys.executable, "-m", module]


def isolated_env(root: Path) -> dict[str, str]:
    """Environment for a subprocess whose instance and data live under ``root``.

    Creates ``root/dagster_home`` (with the repository's ``dagster.yaml``) and ``root/data``.
    """
    home = root / "dagster_home"
    data = root / "data"
    home.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = dict(os.environ)
    env.update(
        QUANT_ASSETS_PROFILE=PROFILE,
        QUANT_ASSETS_DATA=str(data),
        DAGSTER_HOME=str(home),
        PYTHONUNBUFFERED="1",
    )
    return env


def tail(text: str | bytes | None, lines: int = 40) -> str:
    """The last ``lines`` lines of a subprocess's output, for failure messages."""
    if text is None:
        return "<no output captured>"
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return "\n".join(text.rstrip().splitlines()[-lines:])


class ExpectedAsset(NamedTuple):
    """What the README promises about one asset of the graph."""

    group: str
    layer: str
    schema: type
    partitioned: bool = True
    """False for the model artifacts: one decision over the whole history, not per session."""


EXPECTED_ASSETS: dict[str, ExpectedAsset] = {
    "sessions": ExpectedAsset("reference", "reference", schemas.Sessions),
    "symbols": ExpectedAsset("reference", "reference", schemas.Symbols),
    "rates": ExpectedAsset("reference", "reference", schemas.Rates),
    "raw_bars": ExpectedAsset("raw", "raw", schemas.RawBars),
    "raw_corporate_actions": ExpectedAsset("raw", "raw", schemas.CorporateActions),
    "raw_delistings": ExpectedAsset("raw", "raw", schemas.Delistings),
    "raw_fundamentals": ExpectedAsset("raw", "raw", schemas.Fundamentals),
    "raw_earnings_calendar": ExpectedAsset("raw", "raw", schemas.EarningsCalendar),
    "raw_option_quotes": ExpectedAsset("raw", "raw", schemas.RawOptionQuotes),
    "adjusted_prices": ExpectedAsset("curated", "curated", schemas.AdjustedPrices),
    "option_quotes": ExpectedAsset("curated", "curated", schemas.OptionQuotes),
    "oracle_expected_returns": ExpectedAsset("oracle", "oracle", schemas.OracleExpectedReturns),
    "oracle_option_surface": ExpectedAsset("oracle", "oracle", schemas.OracleOptionSurface),
    "universe": ExpectedAsset("research", "features", schemas.Universe),
    "equity_features": ExpectedAsset("research", "features", schemas.EquityFeatures),
    "equity_labels": ExpectedAsset("research", "labels", schemas.EquityLabels),
    "vol_surface_quotes": ExpectedAsset("options", "features", schemas.VolSurfaceQuotes),
    "vol_surfaces": ExpectedAsset("options", "features", schemas.VolSurfaces),
    "vol_features": ExpectedAsset("options", "features", schemas.VolFeatures),
    "vol_labels": ExpectedAsset("options", "labels", schemas.VolLabels),
    "vol_model": ExpectedAsset("options", "models", schemas.VolModel, partitioned=False),
    "vol_forecasts": ExpectedAsset("options", "scores", schemas.VolForecasts),
    "options_strategies": ExpectedAsset("options", "reports", schemas.OptionsStrategies),
    "options_backtest": ExpectedAsset("options", "models", schemas.OptionsBacktest, partitioned=False),
    "model_selection": ExpectedAsset("models", "models", schemas.ModelSelection, partitioned=False),
    "trials_log": ExpectedAsset("models", "models", schemas.TrialsLog, partitioned=False),
    "champion_model": ExpectedAsset("models", "models", schemas.ChampionModel, partitioned=False),
    "equity_scores": ExpectedAsset("models", "scores", schemas.EquityScores),
    "target_portfolio": ExpectedAsset("portfolio", "portfolio", schemas.TargetPortfolio),
    "backtest_equities": ExpectedAsset("portfolio", "models", schemas.BacktestEquities, partitioned=False),
    "daily_blotter": ExpectedAsset("portfolio", "reports", schemas.DailyBlotter),
    "orders": ExpectedAsset("portfolio", "portfolio", schemas.Orders),
    "fills": ExpectedAsset("portfolio", "portfolio", schemas.Fills),
    "positions": ExpectedAsset("portfolio", "portfolio", schemas.Positions),
    "pnl": ExpectedAsset("portfolio", "portfolio", schemas.Pnl),
    "tripwires": ExpectedAsset("governance", "governance", schemas.Tripwires),
    "go_no_go": ExpectedAsset("governance", "governance", schemas.GoNoGo),
    "go_no_go_scorecard": ExpectedAsset("governance", "models", schemas.GoNoGo, partitioned=False),
    "challenger_selection": ExpectedAsset("governance", "models", schemas.ModelSelection, partitioned=False),
    "shadow_positions": ExpectedAsset("governance", "governance", schemas.ShadowPositions),
    "shadow_pnl": ExpectedAsset("governance", "governance", schemas.ShadowPnl),
    "promotion_decisions": ExpectedAsset("governance", "models", schemas.PromotionDecisions, partitioned=False),
    "data_freshness": ExpectedAsset("operations", "monitoring", schemas.DataFreshness),
    "drift_metrics": ExpectedAsset("operations", "monitoring", schemas.DriftMetrics),
}
