"""Daily operation: the runbook as schedules, the data-freshness verification, drift metrics and the
sensor that asks for a challenger retrain (blueprint §11–§12).

:func:`build_operations` returns what :func:`quant_assets.defs.build.build_definitions` wires:
``(assets, jobs, schedules, sensors)``; runbook steps select only the assets the graph defines.
"""

from __future__ import annotations

from collections.abc import Collection

import dagster as dg

from quant_assets.config import Profile
from quant_assets.defs.operations.drift_assets import build_drift_asset
from quant_assets.defs.operations.freshness import FEED_GROUPS, build_freshness_asset
from quant_assets.defs.operations.runbook import build_runbook
from quant_assets.defs.operations.sensors import RETRAIN_JOB, build_drift_sensor

__all__ = ["build_operations"]


def build_operations(
    profile: Profile,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    graph_assets: Collection[dg.AssetsDefinition],
    job_names: Collection[str] = (),
) -> tuple[list[dg.AssetsDefinition], list, list[dg.ScheduleDefinition], list[dg.SensorDefinition]]:
    """``(assets, jobs, schedules, sensors)`` of daily operation over ``graph_assets``.

    ``job_names``: jobs defined elsewhere; the drift sensor is added when ``challenger_retrain_job``
    is among them.
    """
    specs = [spec for a in graph_assets for spec in a.specs]
    available = {spec.key.to_user_string() for spec in specs}
    feeds = {s.key.to_user_string(): str(s.metadata["layer"]) for s in specs if s.group_name in FEED_GROUPS}
    feeds.pop("sessions")
    assets = [build_freshness_asset(profile, partitions_def, feeds)]
    if "equity_features" in available:
        assets.append(build_drift_asset(profile, partitions_def, available))
    available |= {a.key.to_user_string() for a in assets}
    jobs, schedules = build_runbook(partitions_def, available)
    sensors = [build_drift_sensor()] if RETRAIN_JOB in job_names else []
    return assets, jobs, schedules, sensors
