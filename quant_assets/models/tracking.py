"""MLflow tracking and registry for model selection (imported only where used: MLflow is slow to import).

Local by default: a SQLite backend and an artifact directory under ``data/<profile>/mlflow``;
a ``tracking_uri`` in the profile's ``models.tracking`` block points at a server instead. Every
trial is a nested run with its parameters, metrics, the data snapshot hash and the config; the
selection run carries the plots and the verdict. The selected model is registered with alias
``challenger``, and gets ``champion`` only when the gate passed.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["CHALLENGER", "CHAMPION", "MlflowTracker", "local_uris"]

CHAMPION, CHALLENGER = "champion", "challenger"


def local_uris(root: str | Path) -> tuple[str, str]:
    """``(tracking_uri, artifact_location)`` of a local SQLite-backed store under ``root``."""
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / 'mlflow.db'}", (root / "artifacts").as_uri()


@dataclass
class MlflowTracker:
    """Logs selections to MLflow and manages the registered model's aliases."""

    tracking_uri: str
    artifact_location: str | None = None
    experiment: str = "equities_selection"
    model_name: str = "equities_scorer"

    def _client(self):
        import mlflow

        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        if mlflow.get_experiment_by_name(self.experiment) is None:
            mlflow.create_experiment(self.experiment, artifact_location=self.artifact_location)
        mlflow.set_experiment(self.experiment)
        return mlflow, mlflow.MlflowClient(self.tracking_uri, self.tracking_uri)

    def log_selection(
        self,
        result,
        config: dict[str, Any],
        example: pd.DataFrame,
        plots: dict[str, Path] | None = None,
        *,
        champion_on_gate: bool = True,
    ) -> dict[str, Any]:
        """Log a :class:`~quant_assets.models.selection.SelectionResult`; register the selected model.

        The new version gets ``challenger``; with ``champion_on_gate`` it also gets ``champion``
        when the gate passed (a challenger that must first shadow-trade passes False and is
        promoted by :meth:`promote`). Returns ``run_id``, ``model_uri``, ``version`` and the aliases set.
        """
        mlflow, client = self._client()
        from mlflow.models import infer_signature

        head = result.headline()
        with mlflow.start_run(run_name=f"selection-{result.data_hash[:8]}") as run:
            mlflow.set_tags(
                {"data_hash": result.data_hash, "selected": result.selected, "gate_passed": str(result.gate.passed)}
            )
            mlflow.log_params(
                {
                    "selected": result.selected,
                    "n_rows": result.n_rows,
                    "n_sessions": result.n_sessions,
                    "n_trials": head["n_trials"],
                }
            )
            mlflow.log_metrics(
                {
                    k: float(v)
                    for k, v in head.items()
                    if isinstance(v, (int, float)) and not isinstance(v, bool) and pd.notna(v)
                }
            )
            mlflow.log_dict(config, "config.json")
            mlflow.log_dict(result.gate.as_dict(), "gate_verdict.json")
            for path in (plots or {}).values():
                mlflow.log_artifact(str(path), "plots")
            for trial in result.trials:
                with mlflow.start_run(run_name=trial["candidate"], nested=True):
                    mlflow.set_tag("data_hash", trial["data_hash"])
                    mlflow.log_params(
                        {
                            "candidate": trial["candidate"],
                            "feature_set": trial["feature_set"],
                            **{k: str(v)[:250] for k, v in (trial["params"] or {}).items()},
                        }
                    )
                    mlflow.log_metrics(
                        {
                            k: float(trial[k])
                            for k in ("sharpe_obs", "sharpe_ann", "max_drawdown", "rank_ic")
                            if trial[k] is not None
                        }
                    )
                    mlflow.log_dict(config, "config.json")
            signature = infer_signature(example, result.scorer.predict(example))
            info = mlflow.sklearn.log_model(
                result.scorer,
                name="scorer",
                signature=signature,
                input_example=example.head(5),
                registered_model_name=self.model_name,
                # The scorer wraps project classes (and LightGBM boosters)
                # that skops does not know; the registry is trusted.
                serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
            )
        version = str(info.registered_model_version)
        aliases = [CHALLENGER]
        client.set_registered_model_alias(self.model_name, CHALLENGER, version)
        if result.gate.passed and champion_on_gate:
            client.set_registered_model_alias(self.model_name, CHAMPION, version)
            aliases.append(CHAMPION)
        return {
            "run_id": run.info.run_id,
            "model_uri": f"models:/{self.model_name}/{version}",
            "version": version,
            "aliases": aliases,
        }

    def alias_version(self, alias: str) -> str | None:
        """The version under ``alias`` (``MlflowClient.get_model_version_by_alias``), or None if unset."""
        mlflow, client = self._client()
        try:
            return str(client.get_model_version_by_alias(self.model_name, alias).version)
        except mlflow.exceptions.MlflowException:
            return None

    def record_promotion(self, version: str, decision: dict[str, Any]) -> None:
        """Tag ``version`` (and its run) with the promotion decision; move ``champion`` to it when promoted.

        Tags: ``promotion`` (``promoted`` / ``blocked``), ``promotion_reasons``, ``promotion_period``.
        """
        _, client = self._client()
        status = "promoted" if decision["promoted"] else "blocked"
        reasons = "; ".join(decision.get("reasons", [])) or "all checks passed"
        tags = {"promotion": status, "promotion_reasons": reasons[:5000], "promotion_period": str(decision["period"])}
        for k, v in tags.items():
            client.set_model_version_tag(self.model_name, version, k, v)
        run_id = client.get_model_version(self.model_name, version).run_id
        if run_id:
            for k, v in tags.items():
                client.set_tag(run_id, k, v)
        if decision["promoted"]:
            client.set_registered_model_alias(self.model_name, CHAMPION, version)

    def load(self, alias: str = CHAMPION):
        """The registered scorer under ``alias`` (scikit-learn flavour), or None if unset."""
        mlflow, client = self._client()
        try:
            client.get_model_version_by_alias(self.model_name, alias)
        except mlflow.exceptions.MlflowException:
            return None
        return mlflow.sklearn.load_model(f"models:/{self.model_name}@{alias}")

    def log_json(self, obj: Any, name: str) -> None:
        """Attach a JSON document to a fresh run (used for standalone reports)."""
        mlflow, _ = self._client()
        with mlflow.start_run(run_name=name), tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{name}.json"
            path.write_text(json.dumps(obj, default=str))
            mlflow.log_artifact(str(path))
