"""MLflow tracking and registry for :mod:`clv_warehouse.ml` results.

The only module that imports mlflow, and only inside functions (``import mlflow``
costs 1.5-3.5 s; dbt parses every Python model, so keep it out of import time).

Where things go:

* ``MLFLOW_TRACKING_URI`` if set (a real server), else an embedded
  ``sqlite:///<state dir>/mlflow.db``; the state dir is ``CLV_MLFLOW_DIR`` or
  ``state/mlflow`` under the current working directory (git-ignored).
* Artifacts of experiments created here go to ``<state dir>/artifacts/<experiment>``
  (otherwise MLflow writes to ``./mlruns``).

Offline and quiet: telemetry off (``MLFLOW_DISABLE_TELEMETRY``, ``DO_NOT_TRACK``),
``pip_requirements`` given explicitly (skips the ~9 s requirement inference, which
also shells out to pip) and skops as the serialization format.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from .ml import TrainResult

DEFAULT_STATE_DIR = Path("state") / "mlflow"
_QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "GIT_PYTHON_REFRESH": "quiet",
}


def state_dir(state_dir: str | os.PathLike[str] | None = None) -> Path:
    """Absolute state folder: argument, else ``CLV_MLFLOW_DIR``, else ./state/mlflow."""
    chosen = state_dir or os.environ.get("CLV_MLFLOW_DIR") or DEFAULT_STATE_DIR
    return Path(chosen).expanduser().resolve()


def tracking_uri(state_dir_: str | os.PathLike[str] | None = None) -> str:
    """``MLFLOW_TRACKING_URI`` if set, else sqlite in the state folder."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    return f"sqlite:///{state_dir(state_dir_) / 'mlflow.db'}"


def _mlflow(state_dir_: str | os.PathLike[str] | None = None):
    """Import mlflow quietly and point it at the tracking URI."""
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)
    uri = tracking_uri(state_dir_)
    root = _local_root(uri)
    if root is not None:
        root.mkdir(parents=True, exist_ok=True)
    import mlflow

    mlflow.set_tracking_uri(uri)
    return mlflow


def _local_root(uri: str) -> Path | None:
    """Folder of a local sqlite tracking store (artifacts go next to it)."""
    prefix = "sqlite:///"
    if uri.startswith(prefix):
        return Path(uri[len(prefix) :]).parent
    return None


def _experiment_id(mlflow: Any, name: str) -> str:
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    # NB: mlflow.set_tracking_uri() exports MLFLOW_TRACKING_URI, so decide from the
    # URI itself: a local sqlite store keeps its artifacts beside the database.
    root = _local_root(mlflow.get_tracking_uri())
    location = None if root is None else (root / "artifacts" / name).as_uri()
    return mlflow.create_experiment(name, artifact_location=location)


def _pip_requirements() -> list[str]:
    wanted = ("scikit-learn", "numpy", "scipy", "skops")
    return [f"{name}=={metadata.version(name)}" for name in wanted]


def _flat_metrics(result: TrainResult) -> dict[str, float]:
    metrics: dict[str, float] = {}
    metrics.update(result.metrics)
    for algorithm, values in result.candidate_metrics.items():
        metrics.update({f"{algorithm}.{k}": v for k, v in values.items()})
    for baseline, values in result.baseline_metrics.items():
        metrics.update({f"baseline_{baseline}.{k}": v for k, v in values.items()})
    metrics["training_rows"] = result.training_rows
    metrics["validation_rows"] = result.validation_rows
    # MLflow rejects NaN on some backends; an undefined metric is simply not logged.
    return {k: float(v) for k, v in metrics.items() if not math.isnan(float(v))}


def trusted_types(model: Any) -> list[str]:
    """Types skops must be told to trust to load ``model`` (our own, just fitted)."""
    import skops.io

    return sorted(skops.io.get_untrusted_types(data=skops.io.dumps(model)))


def log_training(
    result: TrainResult,
    *,
    experiment: str,
    registered_model_name: str | None,
    tags: Mapping[str, str] | None = None,
    state_dir: str | os.PathLike[str] | None = None,
) -> tuple[str, str | None]:
    """Log one training to MLflow; return (run_id, registered model version).

    Params: hyper-parameters, task spec, features, windows. Metrics: the chosen
    model's validation metrics (plain names), every candidate's
    (``<algorithm>.<metric>``) and baselines' (``baseline_<name>.<metric>``).
    Tags: task, algorithm, data fingerprint, primary metric, + ``tags``.
    """
    mlflow = _mlflow(state_dir)
    spec = result.spec
    experiment_id = _experiment_id(mlflow, experiment)
    params: dict[str, Any] = {
        **result.params,
        "task": spec.name,
        "problem_type": spec.problem_type,
        "target": spec.target,
        "features": ",".join(spec.features),
        "classes": ",".join(spec.classes),
        "candidates": ",".join(spec.candidates),
        "primary_metric": spec.primary_metric,
        "training_window": "..".join(result.training_window),
        "validation_window": "..".join(result.validation_window),
    }
    all_tags = {
        "task": spec.name,
        "algorithm": result.algorithm,
        "data_fingerprint": result.data_fingerprint,
        "primary_metric": spec.primary_metric,
        "sql_function": spec.sql_function,
        **dict(tags or {}),
    }
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params({k: str(v)[:6000] for k, v in params.items()})
        mlflow.log_metrics(_flat_metrics(result))
        mlflow.set_tags(all_tags)
        mlflow.log_dict(
            {"feature_importances": result.feature_importances},
            "feature_importances.json",
        )
        info = mlflow.sklearn.log_model(
            result.model,
            name="model",
            serialization_format="skops",
            skops_trusted_types=trusted_types(result.model),
            pip_requirements=_pip_requirements(),
            registered_model_name=registered_model_name,
        )
        run_id = run.info.run_id
    version = getattr(info, "registered_model_version", None)
    return run_id, None if version is None else str(version)


def load_model(run_id: str, *, state_dir: str | os.PathLike[str] | None = None):
    """The fitted pipeline logged by :func:`log_training` in ``run_id``."""
    mlflow = _mlflow(state_dir)
    return mlflow.sklearn.load_model(f"runs:/{run_id}/model")


def run_exists(run_id: str, *, state_dir: str | os.PathLike[str] | None = None) -> bool:
    """Whether ``run_id`` is in the tracking store (a removed or moved MLflow
    state folder loses every run the warehouse's registry names)."""
    mlflow = _mlflow(state_dir)
    try:
        mlflow.tracking.MlflowClient().get_run(str(run_id))
    except mlflow.exceptions.MlflowException:
        return False
    return True


def load_registered_model(
    name: str, version: str | int, *, state_dir: str | os.PathLike[str] | None = None
):
    mlflow = _mlflow(state_dir)
    return mlflow.sklearn.load_model(f"models:/{name}/{version}")


def log_realized_metrics(
    run_id: str,
    metrics: Mapping[str, float],
    *,
    step: int | None = None,
    state_dir: str | os.PathLike[str] | None = None,
) -> None:
    """Attach realized (matured-label) metrics to the training run, prefixed
    ``realized.``; ``step`` e.g. days since training to keep a history."""
    mlflow = _mlflow(state_dir)
    client = mlflow.tracking.MlflowClient()
    for key, value in metrics.items():
        if value is not None and not math.isnan(float(value)):
            client.log_metric(run_id, f"realized.{key}", float(value), step=step or 0)
