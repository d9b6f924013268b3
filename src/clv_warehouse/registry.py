"""One build's training step for one task, Redshift ML style.

``run_task`` is what the thin dbt Python model ``ml_<task>_model_versions``
calls: train on the matured rows when the training data changed (or there is
no champion), log the run to MLflow, compare the new version with the champion
on the same validation rows, and (re)install the champion's SQL macros in the
warehouse. It returns every version of the task, one row each, which the dbt
model stores; the previous build's rows come back in as ``previous``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import pandas as pd

from clv_warehouse import ml, sql_export, tracking

log = logging.getLogger(__name__)

VERSION_COLUMNS = [
    "task",
    "version",
    "algorithm",
    "primary_metric",
    "primary_metric_value",
    "baseline_primary_metric_value",
    "metrics_json",
    "baseline_metrics_json",
    "feature_importances_json",
    "training_window_start",
    "training_window_end",
    "validation_window_start",
    "validation_window_end",
    "training_rows",
    "validation_rows",
    "data_fingerprint",
    "sql_function",
    "mlflow_run_id",
    "is_champion",
    "decision",
    "trained_at",
]


@dataclass(frozen=True)
class TaskRun:
    """The outcome of one build for one task."""

    versions: pd.DataFrame
    champion_model: Any
    trained: bool
    decision: str


def task_spec(task: dict) -> ml.TaskSpec:
    """The TaskSpec of a task declaration (training_relation is for dbt only)."""
    fields = {k: v for k, v in task.items() if k not in ("training_relation",)}
    return ml.TaskSpec.from_dict(fields)


def _version_row(result: ml.TrainResult, run_id: str, version: str) -> dict:
    spec = result.spec
    return {
        "task": spec.name,
        "version": int(version) if version is not None else None,
        "algorithm": result.algorithm,
        "primary_metric": spec.primary_metric,
        "primary_metric_value": float(result.metrics[spec.primary_metric]),
        "baseline_primary_metric_value": best_baseline(result),
        "metrics_json": json.dumps(result.metrics, sort_keys=True),
        "baseline_metrics_json": json.dumps(result.baseline_metrics, sort_keys=True),
        "feature_importances_json": json.dumps(
            result.feature_importances, sort_keys=True
        ),
        "training_window_start": result.training_window[0],
        "training_window_end": result.training_window[1],
        "validation_window_start": result.validation_window[0],
        "validation_window_end": result.validation_window[1],
        "training_rows": int(result.training_rows),
        "validation_rows": int(result.validation_rows),
        "data_fingerprint": result.data_fingerprint,
        "sql_function": spec.sql_function,
        "mlflow_run_id": run_id,
        "is_champion": False,
        "decision": "",
        # wall-clock metadata of the training run (everything else is deterministic)
        "trained_at": pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s"),
    }


def best_baseline(result: ml.TrainResult) -> float:
    """The best simple baseline's value of the task's primary metric."""
    spec = result.spec
    values = [
        metrics[spec.primary_metric]
        for metrics in result.baseline_metrics.values()
        if spec.primary_metric in metrics
        and metrics[spec.primary_metric] == metrics[spec.primary_metric]
    ]
    if not values:
        return float("nan")
    return max(values) if spec.higher_is_better else min(values)


def _macros_installed(con, spec: ml.TaskSpec, schema: str) -> bool:
    found = con.execute(
        "select count(*) from duckdb_functions() "
        "where schema_name = ? and function_name = ?",
        [schema, f"{spec.sql_function}_table"],
    ).fetchall()
    return found[0][0] > 0


def run_task(
    con,
    features: pd.DataFrame,
    task: dict,
    *,
    previous: pd.DataFrame | None,
    seed: int = 42,
    force: bool = False,
    macro_schema: str = "main",
) -> TaskRun:
    """Train (when needed), register and serve one task; see the module doc."""
    spec = task_spec(task)
    matured = features[features["is_label_matured"].astype(bool)].copy()
    versions = (
        previous[previous["task"] == spec.name].reindex(columns=VERSION_COLUMNS)
        if previous is not None and len(previous)
        else pd.DataFrame(columns=VERSION_COLUMNS)
    )
    fingerprint = ml.data_fingerprint(matured, spec)
    champion_rows = versions[versions["is_champion"].astype(bool)]
    champion_model = None
    if len(champion_rows):
        champion = champion_rows.iloc[-1]
        try:
            champion_model = tracking.load_model(champion["mlflow_run_id"])
        except Exception as exc:  # the MLflow state was removed or moved
            log.warning(
                "task %s: champion run %s not found in MLflow (%s); retraining",
                spec.name,
                champion["mlflow_run_id"],
                str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
            )
            versions["is_champion"] = False
            champion_rows = versions.iloc[0:0]
    same_data = (
        len(champion_rows) and champion_rows.iloc[-1]["data_fingerprint"] == fingerprint
    )
    if same_data and not force:
        decision = "kept champion: training data unchanged"
        trained = False
    else:
        result = ml.train(matured, spec, seed=seed)
        run_id, version = tracking.log_training(
            result,
            experiment=f"clv_{spec.name}",
            registered_model_name=f"clv_{spec.name}",
        )
        row = _version_row(result, run_id, version)
        champion_features = tuple(getattr(champion_model, "feature_names_in_", ()))
        if champion_model is None:
            row["is_champion"] = True
            decision = "new champion: no champion yet"
        elif champion_features != tuple(spec.features):
            row["is_champion"] = True
            versions["is_champion"] = False
            decision = "new champion: the task's features changed"
        else:
            champion_metrics = ml.evaluate(champion_model, matured, spec)
            if ml.beats(result.metrics, champion_metrics, spec):
                row["is_champion"] = True
                versions["is_champion"] = False
                decision = (
                    f"new champion: {spec.primary_metric} "
                    f"{result.metrics[spec.primary_metric]:.4f} beats "
                    f"{champion_metrics[spec.primary_metric]:.4f}"
                )
            else:
                decision = (
                    f"kept champion: {spec.primary_metric} "
                    f"{result.metrics[spec.primary_metric]:.4f} does not beat "
                    f"{champion_metrics[spec.primary_metric]:.4f} on the same rows"
                )
        row["decision"] = decision
        if row["is_champion"]:
            champion_model = result.model
        versions = pd.concat(
            [versions, pd.DataFrame([row], columns=VERSION_COLUMNS)], ignore_index=True
        )
        trained = True
    if trained or not _macros_installed(con, spec, macro_schema):
        sql_export.install_macros(con, champion_model, spec, schema=macro_schema)
    versions = versions[VERSION_COLUMNS].reset_index(drop=True)
    versions["is_champion"] = versions["is_champion"].astype(bool)
    return TaskRun(versions, champion_model, trained, decision)


def previous_rows(con, relation: str) -> pd.DataFrame | None:
    """The rows a model stored in ``relation`` last build (None on the first):
    how a table-materialized Python model keeps state from build to build."""
    schema, _, name = relation.rpartition(".")
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = ? and table_name = ?",
        [schema or "main", name],
    ).fetchall()[0][0]
    if not exists:
        return None
    return con.execute(f"select * from {relation}").df()


def build_model_versions(
    session,
    *,
    features: pd.DataFrame,
    task: dict,
    this: str,
    seed: Any = 42,
    force_retrain: Any = False,
) -> pd.DataFrame:
    """The body of every ``ml_<task>_model_versions`` dbt Python model.

    ``task`` is the declaration from the model's config (training_relation,
    target, problem_type, features, candidates, primary_metric, sql_function,
    ...); ``this`` the model's own table, whose rows are last build's versions.
    dbt passes only config keys the model file names in ``dbt.config.get``, so
    the model file reads them and hands them over.
    """
    if not task:
        raise ValueError("the model's config has no `task` declaration")
    run = run_task(
        session,
        features,
        task,
        previous=previous_rows(session, this),
        seed=int(seed),
        force=str(force_retrain).lower() == "true",
    )
    log.info("task %s: %s", task["name"], run.decision)
    return run.versions
