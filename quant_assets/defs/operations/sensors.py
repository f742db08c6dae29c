"""``drift_retrain_sensor``: ask for a challenger retrain when drift crosses its threshold, once per episode.

The sensor reads the ``drift_metrics`` materializations stored since its cursor, in storage order,
and walks their sessions through :func:`quant_assets.monitoring.episodes.step`: the first session in
breach opens an episode and launches ``challenger_retrain_job`` with the session and the reasons in
the run's tags; the following sessions in breach launch nothing; a session back within the
thresholds closes the episode. Only an episode still open when the sensor ticks is acted on (a first
tick over stored history does not retrain for episodes long closed). The cursor (JSON) keeps the
last storage id read and the episode state, so a restart neither repeats nor loses a request.
"""

from __future__ import annotations

import json

import dagster as dg

from quant_assets.monitoring.episodes import step

__all__ = ["DRIFT_ASSET", "REASON_TAG", "RETRAIN_JOB", "SESSION_TAG", "build_drift_sensor"]

RETRAIN_JOB = "challenger_retrain_job"
DRIFT_ASSET = dg.AssetKey("drift_metrics")
REASON_TAG = "quant_assets/drift_reason"
SESSION_TAG = "quant_assets/drift_session"
MAX_TAG = 4000
"""Longest tag value kept (Dagster tags are short strings)."""


def build_drift_sensor(job_name: str = RETRAIN_JOB) -> dg.SensorDefinition:
    """The sensor launching ``job_name`` (an unpartitioned job) at the start of each drift episode."""

    @dg.sensor(
        name="drift_retrain_sensor",
        job_name=job_name,
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Launch a challenger retrain when drift_metrics crosses its threshold (once per episode).",
    )
    def drift_retrain_sensor(context: dg.SensorEvaluationContext):
        state = json.loads(context.cursor) if context.cursor else {}
        after = int(state.get("storage_id", 0))
        result = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=DRIFT_ASSET, after_storage_id=after or None), limit=1000, ascending=True
        )
        opened = []
        for record in result.records:
            event = record.asset_materialization
            meta = event.metadata.get("breaches")
            reasons = (meta.value if meta is not None else {}).get(event.partition, [])
            if event.partition is not None and step(state, event.partition, reasons)[0]:
                opened.append((event.partition, reasons))
            after = max(after, record.storage_id)
        state["storage_id"] = after
        cursor = json.dumps(state, sort_keys=True)
        # Only an episode still open is acted on: one that opened and closed within a backlog
        # (a first tick over stored history, a daemon that was down) is past.
        live = [(s, r) for s, r in opened if s == state.get("episode_since")]
        for session, _ in opened[: len(opened) - len(live)]:
            context.log.info(f"past drift episode from {session} (closed since): no retrain")
        if not live:
            return dg.SensorResult(skip_reason="no new drift episode", cursor=cursor)
        session, reasons = live[-1]
        context.log.info(f"drift episode opened on {session}: {'; '.join(reasons)}")
        request = dg.RunRequest(
            run_key=f"drift:{session}", tags={SESSION_TAG: session, REASON_TAG: "; ".join(reasons)[:MAX_TAG]}
        )
        return dg.SensorResult(run_requests=[request], cursor=cursor)

    return drift_retrain_sensor
