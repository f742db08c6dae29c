"""Governance of the daily system: tripwires and the kill switch, Go/No-Go scorecard, champion-challenger.

:func:`build_governance` returns the group's assets and jobs for a profile; the profile's optional
``governance`` block configures them (``tripwires``: :class:`~quant_assets.monitoring.tripwires.TripwireConfig`,
``challenger``: :class:`~quant_assets.models.challenger.ChallengerConfig`, ``search``:
:class:`~quant_assets.models.hpsearch.SearchConfig`). Jobs: ``challenger_retrain_job`` (the
period's challenger search; the drift sensor launches it by name) and ``clear_kill_job`` (a
person clears the kill switch from the UI, with run config ``ops: {clear_kill_switch: {config:
{by: ..., reason: ...}}}``).
"""

from collections.abc import Collection

import dagster as dg

from quant_assets.config import Profile
from quant_assets.defs.governance.challenger_assets import build_challenger_assets
from quant_assets.defs.governance.scorecard_assets import build_scorecard_assets
from quant_assets.defs.governance.tripwire_assets import build_tripwire_assets, clear_kill_job_for

__all__ = ["CHALLENGER_RETRAIN_JOB", "CLEAR_KILL_JOB", "build_governance"]

CHALLENGER_RETRAIN_JOB = "challenger_retrain_job"
CLEAR_KILL_JOB = "clear_kill_job"


def build_governance(
    profile: Profile, partitions_def: dg.PartitionsDefinition, upstream: Collection[str] = ()
) -> tuple[list[dg.AssetsDefinition], list]:
    """``(assets, jobs)`` of the governance group.

    ``upstream``: asset keys (or their names) the rest of the graph defines. With ``pnl`` (the daily paper book) the
    tripwires watch it instead of ``backtest_equities``; with ``options_backtest`` the Go/No-Go
    judges the options sleeves on its figures (otherwise they are reported as not evaluated).
    """
    keys = {k.to_user_string() if isinstance(k, dg.AssetKey) else str(k) for k in upstream}
    book = "pnl" if "pnl" in keys else "backtest_equities"
    assets = [
        *build_tripwire_assets(profile, partitions_def, book=book),
        *build_scorecard_assets(profile, partitions_def, options="options_backtest" in keys),
        *build_challenger_assets(profile, partitions_def),
    ]
    retrain = dg.define_asset_job(
        CHALLENGER_RETRAIN_JOB,
        selection=dg.AssetSelection.assets("challenger_selection"),
        description="Train the period's challenger (fixed trial budget, CPCV, PBO, DSR); shadow trading follows.",
    )
    return assets, [retrain, clear_kill_job_for(profile)]
