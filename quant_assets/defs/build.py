"""Build the graph for a profile: the one function assembling assets, checks, jobs, schedules, sensors, resources."""

from __future__ import annotations

import warnings

import dagster as dg

from quant_assets.config import Profile, load_profile
from quant_assets.defs.governance import build_governance
from quant_assets.defs.lib.partitions import session_partitions
from quant_assets.defs.market.assets import build_market_assets
from quant_assets.defs.market.checks import build_market_checks
from quant_assets.defs.models.assets import build_model_assets
from quant_assets.defs.operations import build_operations
from quant_assets.defs.operations.runbook import with_runbook_freshness
from quant_assets.defs.options.assets import build_options_assets
from quant_assets.defs.portfolio.assets import build_portfolio_assets
from quant_assets.defs.reference.assets import build_reference_assets
from quant_assets.defs.research.assets import build_research_assets
from quant_assets.defs.resources import build_resources


def build_definitions(profile: Profile | str) -> dg.Definitions:
    """The graph serving ``profile``: partitions are exactly its XNYS sessions.

    ``profile`` is a :class:`~quant_assets.config.Profile` or a profile name / YAML path (never
    read from the environment here). The graph deliberately uses Dagster APIs marked beta or
    preview (single-run backfill policies, partitioned asset checks, ``dagster-pandera`` types,
    partition mappings that tolerate the first session); their warnings are silenced while
    it is built, without touching the process's warning filters.

    Examples
    --------
    >>> defs = build_definitions("tiny")
    >>> defs.resolve_job_def("market_data_job").partitions_def.get_partition_keys()[:2]
    ['2024-01-02', '2024-01-03']
    """
    if not isinstance(profile, Profile):
        profile = load_profile(profile)
    with warnings.catch_warnings():
        for category in (dg.BetaWarning, dg.PreviewWarning):
            warnings.filterwarnings("ignore", category=category)
        partitions = session_partitions(profile)
        assets = [*build_reference_assets(partitions), *build_market_assets(profile, partitions)]
        assets += build_research_assets(profile, partitions)
        assets += build_model_assets(profile, partitions)
        assets += build_options_assets(profile, partitions)
        assets += build_portfolio_assets(profile, partitions)
        governance, jobs = build_governance(profile, partitions, upstream=[k for a in assets for k in a.keys])
        assets += governance
        operations, runbook_jobs, schedules, sensors = build_operations(
            profile, partitions, assets, job_names=[job.name for job in jobs]
        )
        defs = dg.Definitions(
            assets=[*assets, *operations],
            asset_checks=build_market_checks(partitions),
            jobs=[*runbook_jobs, *jobs],
            schedules=schedules,
            sensors=sensors,
            resources=build_resources(profile),
        )
        return with_runbook_freshness(defs)
