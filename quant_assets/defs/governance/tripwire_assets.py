"""The ``tripwires`` asset, its ``kill_switch_clear`` check and the ``clear_kill_job`` (a person's UI action).

``tripwires`` is partitioned by session (layer ``governance``, by ``date``). For each session of
the run it evaluates :func:`quant_assets.monitoring.tripwires.evaluate_tripwires` on the monitored
book's curve through that close (``date, nav, impact, impact_realized``: the ``pnl`` of the daily
paper book when the graph has it, else ``backtest_equities``), with the peak restarted at every
clearance in the switch's history; a kill demanded at a close trips the switch on disk
(``data/<profile>/kill_switch.json``) with that session and reason. The check
``kill_switch_clear`` (ERROR) fails while the switch is tripped, so the kill shows on the asset
in the UI; the metadata carries the switch's one-line state and its history.

``clear_kill_job`` clears the switch from the UI: launch it with run config
``ops: {clear_kill_switch: {config: {by: <name>, reason: <why>}}}``; the command line does
the same (``python -m quant_assets.monitoring.kill clear --profile P --by NAME --reason ...``).
"""

import dagster as dg
import pandas as pd

from quant_assets import schemas
from quant_assets.config import Profile
from quant_assets.defs.lib.frame_checks import FrameCheck
from quant_assets.defs.lib.runtime import stamp_rows, window_sessions
from quant_assets.defs.lib.session_asset import session_asset
from quant_assets.monitoring.tripwires import TripwireConfig, clear_kill, evaluate_tripwires, kill_history, kill_state
from quant_assets.monitoring.tripwires import trip_kill as trip

GROUP = "governance"
CHECK_KILL = "kill_switch_clear"

__all__ = ["CHECK_KILL", "GROUP", "build_tripwire_assets", "clear_kill_job_for", "governance_block"]


def governance_block(profile: Profile) -> dict:
    """The profile's optional ``governance`` block."""
    return dict(profile.raw.get("governance") or {})


def _clearances(root) -> list[pd.Timestamp]:
    hist = kill_history(root)
    clears = hist[hist["event"] == "clear"]
    return [pd.Timestamp(pd.Timestamp(t).tz_convert("America/New_York").date()) for t in clears["at"]]


def _kill_check(profile: Profile) -> FrameCheck:
    def evaluate(df: pd.DataFrame, inputs) -> dg.AssetCheckResult:
        state = kill_state(profile.data_dir)
        return dg.AssetCheckResult(
            passed=not state.killed,
            severity=dg.AssetCheckSeverity.ERROR,
            description=state.line() if state.killed else None,
            metadata={"kill_switch": state.line(), **{k: str(v) for k, v in state.as_dict().items()}},
        )

    return FrameCheck(CHECK_KILL, "The kill switch is not tripped (no new orders go out while it is)", evaluate)


def build_tripwire_assets(
    profile: Profile, partitions_def: dg.PartitionsDefinition, book: str = "backtest_equities"
) -> list[dg.AssetsDefinition]:
    """``tripwires`` over the curve of the asset ``book`` (``pnl`` or ``backtest_equities``)."""
    cfg = TripwireConfig.from_dict(governance_block(profile).get("tripwires"))
    fingerprint = profile.fingerprint()
    ins = {"book": dg.AssetIn(key=book)}
    if book != "backtest_equities":  # a session-partitioned book: every stored session
        from quant_assets.defs.models.assets import ALLOW_MISSING

        ins = {"book": dg.AssetIn(key=book, partition_mapping=dg.AllPartitionMapping(), metadata={ALLOW_MISSING: True})}

    @session_asset(
        schema=schemas.Tripwires,
        layer=GROUP,
        group=GROUP,
        partitions_def=partitions_def,
        checks=[_kill_check(profile)],
        ins=ins,
    )
    def tripwires(context: dg.AssetExecutionContext, book: pd.DataFrame):
        """Drawdown de-risk bands and the hard kill (drawdown cap, slippage above the model) at each close."""
        root = profile.data_dir
        sessions = window_sessions(context)
        curve = book[pd.to_datetime(book["date"]) <= sessions[-1]] if len(book) else book
        cols = ["date", "nav", "impact", "impact_realized"]
        if curve.empty:
            table = evaluate_tripwires(pd.DataFrame(columns=cols).astype({"nav": float}), cfg)
        else:
            capital = float(curve["nav"].iloc[0] - curve["net_pnl"].iloc[0]) if "net_pnl" in curve else None
            table = evaluate_tripwires(curve.loc[:, [c for c in cols if c in curve]], cfg, capital, _clearances(root))
        table = table[table["date"].isin(sessions)].reset_index(drop=True)
        fired = table[table["kill"] & (table["reason"] != "")]
        clears = _clearances(root)
        if clears:  # a re-run of a session before the last clearance does not trip the switch again
            fired = fired[fired["date"] > max(clears)]
        for row in fired.itertuples(index=False):
            trip(root, row.date, row.reason, source="tripwires")
            context.log.error(f"kill switch tripped at {row.date.date()}: {row.reason}")
        state = kill_state(root)
        out = table.assign(
            killed=[state.killed and pd.Timestamp(state.session) <= d for d in table["date"]],
            slippage_breach_days=table["slippage_breach_days"].astype("int64"),
            kill=table["kill"].astype(bool),
        )
        meta = {
            "kill_switch": state.line(),
            "killed": state.killed,
            "tripwires": dg.MetadataValue.json(
                {
                    "bands": [list(b) for b in cfg.bands],
                    "kill_drawdown": cfg.kill_drawdown,
                    "slippage_excess": cfg.slippage_excess,
                    "slippage_days": cfg.slippage_days,
                }
            ),
        }
        if len(out):
            last = out.iloc[-1]
            meta.update(drawdown=float(last["drawdown"]), gross_scale=float(last["gross_scale"]))
        hist = kill_history(root)
        if len(hist):
            meta["kill_history"] = dg.MetadataValue.md(hist.tail(20).to_markdown(index=False))
        return stamp_rows(out, GROUP, "tripwires", "date", fingerprint), meta

    return [tripwires]


class ClearKillConfig(dg.Config):
    """Who clears the kill switch and why (both required)."""

    by: str
    reason: str


def clear_kill_job_for(profile: Profile) -> dg.JobDefinition:
    """``clear_kill_job``: a person clears the kill switch from the UI (name and reason recorded)."""

    @dg.op(name="clear_kill_switch")
    def clear_kill_switch(context: dg.OpExecutionContext, config: ClearKillConfig) -> None:
        before = kill_state(profile.data_dir)
        state = clear_kill(profile.data_dir, config.by, config.reason)
        context.log.info(f"{'cleared' if before.killed else 'was not tripped; recorded'}: {state.line()}")

    @dg.job(name="clear_kill_job", description="Clear the kill switch (config: by, reason). Trading resumes.")
    def clear_kill_job():
        clear_kill_switch()

    return clear_kill_job
