"""One build's training step for one task, Redshift ML style.

``run_task`` is what the thin dbt Python model ``ml_<task>_model_versions``
calls: train on the matured rows when this build's retrain decision says so
(``triggers``, the task's row of ``ml.ml_retrain_triggers``: no champion,
calendar, accuracy drop, drift, forced), when the champion cannot be loaded or
its features differ from the task's, or when forced; log the run to MLflow,
compare the new version with the champion on the same validation rows, and
(re)install the champion's SQL macros in the warehouse. The champion's realized
metric, when the triggers carry one, is logged to its MLflow run. It returns
every version of the task, one row each, which the dbt model stores; the
previous build's rows come back in as ``previous``. The training data's
fingerprint is recorded but no longer triggers training by itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from clv_warehouse import fingerprints, ml, sql_export, tracking
from clv_warehouse.errors import first_line

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
    "recipe_fingerprint",
    "sql_function",
    "mlflow_run_id",
    "is_champion",
    "decision",
    "trained_at",
    "trained_cutoff",
    "build_id",
    "retrain_reasons",
]


@dataclass(frozen=True)
class TaskRun:
    """The outcome of one build for one task."""

    versions: pd.DataFrame
    champion_model: Any
    trained: bool
    decision: str


def training_columns(task: dict) -> list[str]:
    """The feature-table columns a task's training reads: keys, the matured
    flag, the target and the features. Loading only these (at 10M lines, each
    text column cost about 250 MB of peak memory in DuckDB's conversion to
    pandas, for 20 MB in the frame) keeps two trainings side by side small."""
    columns = _spec_columns(task_spec(task))
    return columns[:2] + ["is_label_matured"] + columns[2:]


def _spec_columns(spec: ml.TaskSpec) -> list[str]:
    """Keys, target and features: what :func:`ml.train` reads."""
    return list(
        dict.fromkeys(["customer_id", "cutoff_date", spec.target, *spec.features])
    )


def load_training_rows(
    relation, spec: ml.TaskSpec, *, seed: int = 42, where: str = "is_label_matured"
) -> ml.TrainingRows:
    """The rows a task trains on, chosen in SQL from the feature relation.

    The rows meeting ``where`` (default: matured labels); their latest
    ``validation_cutoffs`` cutoffs come whole, and the earlier (training)
    cutoffs' rows are sampled down to ``max_training_rows`` by a seeded hash of
    (customer_id, cutoff_date), the same rows whatever the scan order. Columns:
    the keys, the target and the features. The fingerprint is of every row
    meeting ``where``: sha256 of those columns' names, the row count and the
    sum of DuckDB's row hashes (order-free). At 10M lines a task loads 258,322
    rows instead of 1.1M; at 100M, 1,670,743 instead of 10,953,247. Too few
    cutoffs load every row, so :func:`ml.train` raises its usual error.
    """
    columns = _spec_columns(spec)
    rows = relation.filter(where)
    hashed = ", ".join(
        [
            "customer_id::varchar",
            "cutoff_date",
            *spec.features,
            f"{spec.target}::varchar",
        ]
    )
    # one scan: the cutoffs, their row counts and their sums of row hashes
    per_cutoff = (
        rows.aggregate(
            f"cutoff_date, count(*), sum(hash({hashed})::hugeint)", "cutoff_date"
        )
        .order("cutoff_date")
        .fetchall()
    )
    cutoffs = [cutoff for cutoff, _, _ in per_cutoff]
    count = sum(n for _, n, _ in per_cutoff)
    hash_sum = str(sum(int(h) for _, _, h in per_cutoff))
    fingerprint = hashlib.sha256(
        "|".join([spec.name, ",".join(columns), str(count), hash_sum]).encode()
    ).hexdigest()
    if len(cutoffs) < 2 or spec.validation_cutoffs >= len(cutoffs):
        frame = rows.project(", ".join(columns)).df()
        return ml.TrainingRows(frame, fingerprint, len(frame), ("", ""))
    first_valid = sql_date(cutoffs[-spec.validation_cutoffs])
    training = rows.filter(f"cutoff_date < {first_valid}")
    training_rows = sum(n for _, n, _ in per_cutoff[: -spec.validation_cutoffs])
    if training_rows > spec.max_training_rows:
        training = training.order(ml.sample_order_sql(seed)).limit(
            spec.max_training_rows
        )
    validation = rows.filter(f"cutoff_date >= {first_valid}")
    frame = (
        training.project(", ".join(columns))
        .union(validation.project(", ".join(columns)))
        .df()
    )
    window = (
        pd.Timestamp(cutoffs[0]).strftime("%Y-%m-%d"),
        pd.Timestamp(cutoffs[-spec.validation_cutoffs - 1]).strftime("%Y-%m-%d"),
    )
    return ml.TrainingRows(frame, fingerprint, int(training_rows), window)


def recipe_fingerprint(spec: ml.TaskSpec) -> str:
    """sha256 of :func:`ml.recipe`: a version trained by another recipe (other
    candidates or parameters, another spec, another scikit-learn) is retrained
    at the next build, and the new version must beat it to become champion."""
    return hashlib.sha256(ml.recipe(spec).encode()).hexdigest()


def sql_date(value: Any) -> str:
    """A date literal (a date, timestamp or text); compares with DATE and
    TIMESTAMP columns alike."""
    return f"date '{pd.Timestamp(value).date().isoformat()}'"


def task_spec(task: dict) -> ml.TaskSpec:
    """The TaskSpec of a task declaration (training_relation is for dbt only)."""
    fields = {k: v for k, v in task.items() if k not in ("training_relation",)}
    return ml.TaskSpec.from_dict(fields)


def _version_row(
    result: ml.TrainResult, run_id: str, version: str, recipe: str
) -> dict:
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
        "recipe_fingerprint": recipe,
        "sql_function": spec.sql_function,
        "mlflow_run_id": run_id,
        "is_champion": False,
        "decision": "",
        # wall-clock metadata of the training run (everything else is deterministic)
        "trained_at": pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s"),
        "trained_cutoff": None,
        "build_id": None,
        "retrain_reasons": None,
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
    features: pd.DataFrame | Callable[[], pd.DataFrame],
    task: dict,
    *,
    previous: pd.DataFrame | None,
    seed: int = 42,
    force: bool = False,
    macro_schema: str = "main",
    triggers: Mapping[str, Any] | None = None,
    scoring_cutoff: Callable[[], Any] | None = None,
) -> TaskRun:
    """Train (when triggered), register and serve one task; see the module doc.

    ``features``: the feature rows, or a function that loads them; it is
    called only when the task trains (at 10M lines loading them took 2-3 s).
    Only matured rows are trained on, so a loader may return those alone; the
    version's ``trained_cutoff`` is then ``scoring_cutoff()`` (default: the
    latest cutoff of the rows given).
    ``triggers``: this build's decision for the task (keys ``decision``
    retrain/keep, ``reasons``, ``build_id``, and, when known, the champion's
    ``realized_metric_value`` at ``realized_cutoff_date``). None means no
    trigger: only a missing champion, changed features or ``force`` train.
    """
    spec = task_spec(task)
    versions = (
        previous[previous["task"] == spec.name].reindex(columns=VERSION_COLUMNS)
        if previous is not None and len(previous)
        else pd.DataFrame(columns=VERSION_COLUMNS)
    )
    champion_rows = versions[versions["is_champion"].astype(bool)]
    champion_model = None
    recipe = recipe_fingerprint(spec)
    recipe_changed = len(champion_rows) > 0 and _text(
        champion_rows.iloc[-1]["recipe_fingerprint"]
    ) not in ("", recipe)  # unknown (older rows): unchanged
    sql_keeps = (
        triggers is not None
        and _text(triggers.get("decision")) == "keep"
        and not force
        and not recipe_changed  # the champion is loaded to compare with
        and _macros_installed(con, spec, macro_schema)
    )
    if (
        sql_keeps
        and len(champion_rows)
        and not tracking.run_exists(champion_rows.iloc[-1]["mlflow_run_id"])
    ):
        # the MLflow state was removed or moved: the champion cannot be
        # loaded (churn factors need it), so the load below decides
        sql_keeps = False
    triggers = dict(triggers or {})
    if len(champion_rows):
        _log_realized(champion_rows.iloc[-1], triggers, spec)
    if len(champion_rows) and sql_keeps:
        # The SQL decision already checked the champion's features; loading the
        # model from MLflow (seconds) is only needed to compare or reinstall.
        reasons: list[str] = []
    elif len(champion_rows):
        champion = champion_rows.iloc[-1]
        try:
            champion_model = tracking.load_model(champion["mlflow_run_id"])
        except Exception as exc:  # the MLflow state was removed or moved
            log.warning(
                "task %s: champion run %s not found in MLflow (%s); retraining",
                spec.name,
                champion["mlflow_run_id"],
                first_line(exc),
            )
            versions["is_champion"] = False
            champion_rows = versions.iloc[0:0]
        reasons = _retrain_reasons(champion_model, spec, triggers, force)
        if recipe_changed and champion_model is not None:
            reasons.append(
                "the task's recipe changed (candidates, their parameters, the "
                "spec or scikit-learn's version)"
            )
    else:
        reasons = _retrain_reasons(None, spec, triggers, force)
    if not reasons:
        decision = "kept champion: " + (
            _text(triggers.get("reasons")) or "no retrain trigger"
        )
        trained = False
    else:
        if callable(features):  # loaded only now: a build that keeps reads none
            features = features()
        if isinstance(features, ml.TrainingRows):
            training_input = features
            matured = features = features.frame
        else:
            is_matured = features["is_label_matured"].astype(bool).to_numpy()
            matured = features if is_matured.all() else features[is_matured]
            training_input = matured
        result = ml.train(training_input, spec, seed=seed)
        run_id, version = tracking.log_training(
            result,
            experiment=f"clv_{spec.name}",
            registered_model_name=f"clv_{spec.name}",
        )
        row = _version_row(result, run_id, version, recipe)
        row["trained_cutoff"] = (
            _date(scoring_cutoff()) if scoring_cutoff else _scoring_cutoff(features)
        )
        row["build_id"] = _text(triggers.get("build_id")) or None
        row["retrain_reasons"] = "; ".join(reasons)
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
        clashing = versions["version"].astype("Int64") == row["version"]
        if row["version"] is not None and clashing.any():
            # MLflow numbers versions again from 1 after its state folder was
            # removed: the rows it renumbers name runs that no longer exist
            gone = versions[clashing]
            log.warning(
                "task %s: MLflow registered version %s again (its state was "
                "reset); %d earlier registry row(s) naming lost run(s) %s are "
                "dropped",
                spec.name,
                row["version"],
                len(gone),
                ", ".join(map(str, gone["mlflow_run_id"])),
            )
            versions = versions[~clashing]
            decision += (
                f" (MLflow state was reset: earlier version {row['version']}, "
                "whose run is gone, was dropped from the registry)"
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


def _text(value: Any) -> str:
    """A string field of a triggers row ('' for missing / NA)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)


def _number(value: Any) -> float | None:
    if value is None or pd.isna(value):
        return None
    return float(value)


def _scoring_cutoff(features: pd.DataFrame):
    """The build's scoring cutoff: the latest cutoff in the feature rows."""
    if "cutoff_date" not in features.columns or features.empty:
        return None
    return _date(features["cutoff_date"].max())


def _date(value: Any):
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def _retrain_reasons(
    champion_model: Any, spec: ml.TaskSpec, triggers: dict, force: bool
) -> list[str]:
    """Why this build trains the task (empty: the champion keeps serving)."""
    reasons: list[str] = []
    if _text(triggers.get("decision")) == "retrain":
        reasons.append(_text(triggers.get("reasons")) or "retrain triggered")
    if champion_model is None:
        if not any("no champion" in reason for reason in reasons):
            reasons.append("no champion")
    elif tuple(getattr(champion_model, "feature_names_in_", ())) != tuple(
        spec.features
    ):
        reasons.append("the task's features changed")
    if force and not any("force" in reason for reason in reasons):
        reasons.append("forced by var force_retrain")
    return reasons


def _log_realized(champion: pd.Series, triggers: dict, spec: ml.TaskSpec) -> None:
    """The champion's realized primary metric onto its MLflow run; the step is
    the days from the cutoff it was trained at to the cutoff measured."""
    value = _number(triggers.get("realized_metric_value"))
    if value is None:
        return
    measured = _text(triggers.get("realized_cutoff_date"))
    trained = _text(triggers.get("champion_trained_cutoff"))
    step = 0
    if measured and trained:
        step = max((pd.Timestamp(measured) - pd.Timestamp(trained)).days, 0)
    try:
        tracking.log_realized_metrics(
            champion["mlflow_run_id"], {spec.primary_metric: value}, step=step
        )
    except Exception as exc:  # the MLflow state was removed or moved
        log.warning(
            "task %s: could not log the realized metric to run %s (%s)",
            spec.name,
            champion["mlflow_run_id"],
            first_line(exc),
        )


def _task_triggers(triggers: pd.DataFrame | None, task: str) -> dict | None:
    if triggers is None:
        return None
    rows = triggers[triggers["task"] == task]
    if len(rows) != 1:
        raise ValueError(f"expected one retrain decision for task {task!r}")
    return rows.iloc[0].to_dict()


def build_model_versions(
    session,
    *,
    features: Any,
    task: dict,
    this: str,
    seed: Any = 42,
    force_retrain: Any = False,
    triggers: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The body of every ``ml_<task>_model_versions`` dbt Python model.

    ``task`` is the declaration from the model's config (training_relation,
    target, problem_type, features, candidates, primary_metric, sql_function,
    ...); ``this`` the model's own table, whose rows are last build's versions.
    ``features``: the feature relation (``dbt.ref(...)``), read only if the task
    trains, and then through :func:`load_training_rows` (matured rows, the
    training ones sampled in SQL); a DataFrame also works.
    dbt passes only config keys the model file names in ``dbt.config.get``, so
    the model file reads them and hands them over.
    """
    if not task:
        raise ValueError("the model's config has no `task` declaration")
    scoring_cutoff = None
    if hasattr(features, "project"):  # a DuckDB relation: load lazily, narrowly
        relation = features

        def features() -> ml.TrainingRows:
            # matured rows only, the training ones sampled in SQL
            return load_training_rows(relation, task_spec(task), seed=int(seed))

        def scoring_cutoff():
            return relation.aggregate("max(cutoff_date)").fetchall()[0][0]

    run = run_task(
        session,
        features,
        task,
        scoring_cutoff=scoring_cutoff,
        previous=fingerprints.previous_rows(session, this),
        seed=int(seed),
        force=str(force_retrain).lower() == "true",
        triggers=_task_triggers(triggers, task["name"]),
    )
    log.info("task %s: %s", task["name"], run.decision)
    return run.versions
