"""Resources of the model assets: their Parquet IO manager and research tracking (MLflow, trials).

``ModelFrameIOManager`` stores the unpartitioned model artifacts (``model_selection``,
``trials_log``, ``champion_model``) as one Parquet file each under ``data/<profile>/models``,
written atomically (a temporary file in the same directory, fsync, ``os.replace``): a crash
leaves the previous file or the new one, never a torn one. The session-partitioned
``equity_scores`` go through the point-in-time store like every other session asset.

``ResearchTracking`` is the interface to the two external records of research: MLflow (runs,
plots, the model registry; local SQLite store under ``data/<profile>/mlflow`` unless a
``tracking_uri`` points at a server) and the append-only multiplicity log
(``data/<profile>/models/trials.jsonl``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import dagster as dg
import pandas as pd

from quant_assets.config import Profile, data_root
from quant_assets.market.store_files import atomic_write

MODEL_IO_MANAGER = "model_io_manager"
RESEARCH_TRACKING = "research_tracking"

__all__ = ["MODEL_IO_MANAGER", "RESEARCH_TRACKING", "ModelFrameIOManager", "ResearchTracking", "build_model_resources"]


def models_dir(profile_name: str) -> Path:
    """Where a profile's model artifacts live: ``$QUANT_ASSETS_DATA/<profile>/models``."""
    return data_root() / profile_name / "models"


def write_parquet_atomic(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` to ``path`` so that readers see the old file or the new one, never a partial one."""
    atomic_write(path, df.to_parquet(index=False), tmp_dir=path.parent, durable=True)


class ModelFrameIOManager(dg.ConfigurableIOManager):
    """Unpartitioned frames as ``<models dir>/<asset>.parquet``, replaced atomically on each run."""

    profile: str

    def path(self, asset_name: str) -> Path:
        return models_dir(self.profile) / f"{asset_name}.parquet"

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        if context.has_asset_partitions:
            raise dg.DagsterInvariantViolationError(
                f"{context.asset_key.to_user_string()}: ModelFrameIOManager stores unpartitioned frames only"
            )
        path = self.path(context.asset_key.path[-1])
        write_parquet_atomic(obj, path)
        context.add_output_metadata({"path": dg.MetadataValue.path(str(path)), "row_count": int(len(obj))})

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        path = self.path(context.asset_key.path[-1])
        if not path.is_file():
            raise dg.DagsterInvariantViolationError(
                f"{context.asset_key.to_user_string()} has not been materialized: {path} does not exist"
            )
        return pd.read_parquet(path)


@lru_cache(maxsize=8)
def _load_model(tracking_uri: str, model_uri: str):
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    return mlflow.sklearn.load_model(model_uri)


class ResearchTracking(dg.ConfigurableResource):
    """MLflow tracking and registry plus the multiplicity log of a profile.

    ``tracking_uri`` empty: a local SQLite store and artifact directory under
    ``data/<profile>/mlflow`` (what ``make mlflow-ui`` serves).
    """

    profile: str
    tracking_uri: str = ""
    experiment: str = "equities_selection"
    model_name: str = "equities_scorer"

    def tracker(self):
        """The :class:`~quant_assets.models.tracking.MlflowTracker` (imports MLflow)."""
        from quant_assets.models.tracking import MlflowTracker, local_uris

        if self.tracking_uri:
            return MlflowTracker(self.tracking_uri, None, self.experiment, self.model_name)
        uri, artifacts = local_uris(data_root() / self.profile / "mlflow")
        return MlflowTracker(uri, artifacts, self.experiment, self.model_name)

    def trials_log(self):
        """The append-only multiplicity log (:class:`~quant_assets.models.TrialsLog`)."""
        from quant_assets.models import TrialsLog

        return TrialsLog(models_dir(self.profile) / "trials.jsonl")

    def load_model(self, model_uri: str):
        """A registered scorer by URI (``models:/<name>/<version>``), cached per process."""
        return _load_model(self.tracker().tracking_uri, model_uri)


def build_model_resources(profile: Profile) -> dict:
    """The model assets' resources for ``profile`` (its ``models.tracking`` block)."""
    tracking = dict(profile.models.get("tracking") or {})
    return {
        MODEL_IO_MANAGER: ModelFrameIOManager(profile=profile.name),
        RESEARCH_TRACKING: ResearchTracking(
            profile=profile.name,
            tracking_uri=str(tracking.get("tracking_uri") or ""),
            experiment=str(tracking.get("experiment") or "equities_selection"),
            model_name=str(tracking.get("model_name") or "equities_scorer"),
        ),
    }
