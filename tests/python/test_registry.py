"""registry.run_task with a real MLflow (sqlite in tmp_path) and real DuckDB:
first champion, training only when triggered (not on changed data alone),
champion kept unless beaten, realized metrics logged to the champion's run."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from test_ml import FEATURES, rfm_frame

from clv_warehouse import ml, registry, tracking

pytestmark = pytest.mark.slow

TASK = {
    "name": "churn",
    "training_relation": "features",
    "target": "churned",
    "problem_type": "binary",
    "features": list(FEATURES),
    "candidates": ["logistic_regression"],
    "sql_function": "predict_churn",
}


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("CLV_MLFLOW_DIR", str(tmp_path / "mlflow"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield con
    con.close()


def features(seed=0, **kwargs):
    frame = rfm_frame(seed=seed, **kwargs)
    frame["is_label_matured"] = True
    return frame


def test_first_build_trains_a_champion_and_installs_its_macros(state):
    run = registry.run_task(state, features(), TASK, previous=None)
    assert run.trained
    assert run.decision == "new champion: no champion yet"
    assert list(run.versions.columns) == registry.VERSION_COLUMNS
    assert run.versions["is_champion"].tolist() == [True]
    scores = state.execute("select predict_churn(10, 2, 100.0, 300)").fetchall()
    assert 0 <= scores[0][0] <= 1


def test_unchanged_data_keeps_the_champion_without_training(state):
    first = registry.run_task(state, features(), TASK, previous=None)
    second = registry.run_task(state, features(), TASK, previous=first.versions)
    assert not second.trained
    assert second.decision == "kept champion: no retrain trigger"
    assert len(second.versions) == 1


RETRAIN = {
    "decision": "retrain",
    "reasons": "drift: PSI of spend_last_90 0.31 > 0.2",
    "build_id": "build-2",
}


def test_changed_data_alone_does_not_retrain_a_trigger_does(state):
    first = registry.run_task(state, features(), TASK, previous=None)
    changed = features(seed=1)
    keep = {"decision": "keep", "reasons": "no trigger: champion v1 is 30 days old"}
    kept = registry.run_task(
        state, changed, TASK, previous=first.versions, triggers=keep
    )
    assert not kept.trained
    assert kept.decision == ("kept champion: no trigger: champion v1 is 30 days old")
    retrained = registry.run_task(
        state, changed, TASK, previous=first.versions, triggers=RETRAIN
    )
    assert retrained.trained
    new = retrained.versions.iloc[-1]
    assert new["retrain_reasons"] == RETRAIN["reasons"]
    assert new["build_id"] == "build-2"
    assert str(new["trained_cutoff"]) == str(changed["cutoff_date"].max().date())


def test_a_changed_recipe_retrains_and_the_new_version_must_beat_the_champion(state):
    first = registry.run_task(state, features(), TASK, previous=None)
    assert first.versions.iloc[0]["recipe_fingerprint"] == registry.recipe_fingerprint(
        registry.task_spec(TASK)
    )
    keep = {"decision": "keep", "reasons": "no trigger"}
    same = registry.run_task(
        state, features(), TASK, previous=first.versions, triggers=keep
    )
    assert not same.trained
    boosted = {**TASK, "candidates": ["logistic_regression", "gradient_boosting"]}
    changed = registry.run_task(
        state, features(), boosted, previous=first.versions, triggers=keep
    )
    assert changed.trained
    new = changed.versions.iloc[-1]
    assert "recipe changed" in new["retrain_reasons"]
    # compared with the champion on the same rows, not crowned by default
    assert new["decision"].startswith(
        ("new champion: roc_auc", "kept champion: roc_auc")
    )
    # rows from before the column existed: unknown recipe, no retrain
    older = first.versions.drop(columns="recipe_fingerprint")
    kept = registry.run_task(state, features(), boosted, previous=older, triggers=keep)
    assert not kept.trained


def test_realized_metric_is_logged_on_the_champion_run(state):
    first = registry.run_task(state, features(), TASK, previous=None)
    realized = {
        "decision": "keep",
        "reasons": "no trigger",
        "realized_metric_value": 0.71,
        "realized_cutoff_date": "2011-03-01",
        "champion_trained_cutoff": "2011-01-01",
    }
    registry.run_task(
        state, features(), TASK, previous=first.versions, triggers=realized
    )
    client = tracking._mlflow().tracking.MlflowClient()
    run_id = first.versions.iloc[0]["mlflow_run_id"]
    history = client.get_metric_history(run_id, "realized.roc_auc")
    assert [(m.value, m.step) for m in history] == [(0.71, 59)]


def test_a_new_version_must_beat_the_champion_on_the_same_rows(state):
    first = registry.run_task(state, features(), TASK, previous=None)
    forced = registry.run_task(
        state, features(), TASK, previous=first.versions, force=True
    )
    assert forced.trained
    assert forced.versions["is_champion"].tolist() == [True, False]
    assert "does not beat" in forced.decision
    # a version trained on shuffled labels is worse on the same validation rows
    spoiled = spoiled_features()
    kept = registry.run_task(
        state, spoiled, TASK, previous=forced.versions, triggers=RETRAIN
    )
    assert kept.trained
    assert kept.versions["is_champion"].tolist() == [True, False, False]


def spoiled_features():
    """Training cutoffs with shuffled labels; the last (validation) cutoff intact."""
    frame = features()
    earlier = frame["cutoff_date"] < frame["cutoff_date"].max()
    rng = np.random.default_rng(3)
    frame.loc[earlier, "churned"] = rng.permutation(
        frame.loc[earlier, "churned"].to_numpy()
    )
    return frame


def test_a_better_version_replaces_the_champion(state):
    weak = registry.run_task(state, spoiled_features(), TASK, previous=None)
    better = registry.run_task(
        state, features(), TASK, previous=weak.versions, triggers=RETRAIN
    )
    assert better.trained
    assert better.decision.startswith("new champion: roc_auc")
    assert better.versions["is_champion"].tolist() == [False, True]


def test_changed_features_make_the_new_version_champion(state):
    first = registry.run_task(state, features(), TASK, previous=None)
    fewer = dict(TASK, features=["recency_days", "frequency"])
    second = registry.run_task(state, features(), fewer, previous=first.versions)
    assert second.decision == "new champion: the task's features changed"
    assert second.versions["is_champion"].tolist() == [False, True]
    assert state.execute("select predict_churn(10, 2)").fetchall()[0][0] >= 0


def test_a_sql_keep_serves_the_installed_macros_without_loading_the_model(
    state, monkeypatch
):
    first = registry.run_task(state, features(), TASK, previous=None)
    keep = {"decision": "keep", "reasons": "no trigger", "realized_metric_value": 0.7}

    def no_load(run_id, **kwargs):
        raise AssertionError("a SQL keep must not load the champion")

    with monkeypatch.context() as patched:
        patched.setattr(tracking, "load_model", no_load)
        kept = registry.run_task(
            state, features(seed=1), TASK, previous=first.versions, triggers=keep
        )
    assert not kept.trained
    assert kept.versions["is_champion"].tolist() == [True]


def test_a_champion_missing_from_mlflow_is_retrained_even_on_keep(state):
    # the MLflow state folder was removed: the warehouse still names the run
    first = registry.run_task(state, features(), TASK, previous=None)
    gone = first.versions.assign(mlflow_run_id="run-that-does-not-exist")
    keep = {"decision": "keep", "reasons": "no trigger"}
    for triggers in (keep, None):
        retrained = registry.run_task(
            state, features(seed=1), TASK, previous=gone, triggers=triggers
        )
        assert retrained.trained
        assert retrained.decision.startswith("new champion: no champion yet")


def test_versions_renumbered_by_a_reset_mlflow_replace_the_lost_rows(
    state, tmp_path, monkeypatch
):
    first = registry.run_task(state, features(), TASK, previous=None)
    # the state folder is removed: MLflow starts again at version 1
    monkeypatch.setenv("CLV_MLFLOW_DIR", str(tmp_path / "mlflow-new"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # mlflow sets it
    again = registry.run_task(state, features(seed=1), TASK, previous=first.versions)
    assert again.trained
    assert again.versions["version"].tolist() == [1]
    assert (
        again.versions["mlflow_run_id"].tolist()
        != first.versions["mlflow_run_id"].tolist()
    )
    assert "MLflow state was reset" in again.decision


def test_features_are_loaded_only_when_the_task_trains(state):
    loads = []

    def load(seed=0):
        loads.append(seed)
        return features(seed=seed)

    first = registry.run_task(state, load, TASK, previous=None)
    assert first.trained and loads == [0]
    keep = {"decision": "keep", "reasons": "no trigger"}
    kept = registry.run_task(
        state, lambda: load(1), TASK, previous=first.versions, triggers=keep
    )
    assert not kept.trained and loads == [0]
    retrained = registry.run_task(
        state, lambda: load(2), TASK, previous=first.versions, triggers=RETRAIN
    )
    assert retrained.trained and loads == [0, 2]


def test_training_reads_the_keys_target_and_features_only():
    columns = registry.training_columns(
        {**TASK, "features": ["recency_days", "frequency"]}
    )
    assert columns == [
        "customer_id",
        "cutoff_date",
        "is_label_matured",
        "churned",
        "recency_days",
        "frequency",
    ]


def test_build_model_versions_reads_a_relation_narrowly_and_only_to_train(state):
    frame = features().assign(unused_text="not read")
    # the scoring cutoff's rows (label not matured, target unknown) are not read
    scoring = frame[frame["cutoff_date"] == frame["cutoff_date"].max()].assign(
        cutoff_date=frame["cutoff_date"].max() + pd.Timedelta(days=30),
        is_label_matured=False,
        churned=None,
    )
    state.register("frame_view", pd.concat([frame, scoring], ignore_index=True))
    state.execute("create table feature_rows as select * from frame_view")
    projections = []

    class Relation:  # the real DuckDB relation, with its reads recorded
        def __init__(self, relation=None):
            self.relation = relation or state.table("feature_rows")

        def filter(self, condition):
            projections.append(f"filter {condition}")
            return Relation(self.relation.filter(condition))

        def project(self, columns):
            projections.append(columns)
            return self.relation.project(columns)

        def __getattr__(self, name):  # aggregate, order, ...: the relation's own
            return getattr(self.relation, name)

    state.execute("create schema if not exists ml")
    first = registry.build_model_versions(
        state, features=Relation(), task=TASK, this="ml.versions"
    )
    assert first["is_champion"].tolist() == [True]
    assert projections[0] == "filter is_label_matured"
    read = {
        column.strip()
        for p in projections
        if not p.startswith("filter ")
        for column in p.split(",")
    }
    assert read <= set(registry.training_columns(TASK))
    assert first["trained_cutoff"].tolist() == [scoring["cutoff_date"].max().date()]
    assert first["training_rows"].sum() + first["validation_rows"].sum() == len(frame)
    calls = len(projections)
    state.register("first_versions", first)
    state.execute("create table ml.versions as select * from first_versions")
    triggers = pd.DataFrame([{"task": "churn", "decision": "keep", "reasons": "none"}])
    kept = registry.build_model_versions(
        state, features=Relation(), task=TASK, this="ml.versions", triggers=triggers
    )
    assert len(kept) == 1 and len(projections) == calls


def _feature_table(con, frame: pd.DataFrame, name: str):
    con.register(f"{name}_view", frame)
    con.execute(f"create or replace table {name} as select * from {name}_view")
    return con.table(name)


def test_load_training_rows_samples_in_sql_and_fingerprints_every_matured_row():
    con = duckdb.connect()
    frame = features(n_customers=300, n_cutoffs=4)  # 300 rows per cutoff
    frame.loc[
        frame["cutoff_date"] == frame["cutoff_date"].max(), "is_label_matured"
    ] = False  # the scoring cutoff: not read
    task = {**TASK, "max_training_rows": 250, "validation_cutoffs": 1}
    spec = registry.task_spec(task)
    rows = registry.load_training_rows(_feature_table(con, frame, "a"), spec, seed=3)
    cutoffs = sorted(frame["cutoff_date"].unique())
    loaded = rows.frame
    assert set(loaded.columns) == set(registry.training_columns(task)) - {
        "is_label_matured"
    }
    assert (loaded["cutoff_date"] == cutoffs[2]).sum() == 300  # validation: whole
    assert (loaded["cutoff_date"] < cutoffs[2]).sum() == 250  # training: sampled
    assert rows.training_rows == 600
    assert rows.training_window == (
        cutoffs[0].strftime("%Y-%m-%d"),
        cutoffs[1].strftime("%Y-%m-%d"),
    )
    # the same rows in another order: the same sample and fingerprint
    shuffled = frame.sample(frac=1, random_state=1)
    again = registry.load_training_rows(
        _feature_table(con, shuffled, "b"), spec, seed=3
    )
    assert again.fingerprint == rows.fingerprint
    key = ["cutoff_date", "customer_id"]
    pd.testing.assert_frame_equal(
        again.frame.sort_values(key).reset_index(drop=True)[loaded.columns],
        loaded.sort_values(key).reset_index(drop=True),
    )
    # another seed draws another sample; one changed matured value, another print
    other = registry.load_training_rows(_feature_table(con, frame, "c"), spec, seed=4)
    assert (
        not other.frame.sort_values(key)["customer_id"]
        .reset_index(drop=True)
        .equals(loaded.sort_values(key)["customer_id"].reset_index(drop=True))
    )
    changed = frame.copy()
    changed.loc[changed.index[0], "recency_days"] += 1
    moved = registry.load_training_rows(_feature_table(con, changed, "d"), spec, seed=3)
    assert moved.fingerprint != rows.fingerprint
    scoring_only = frame.copy()
    last = scoring_only["cutoff_date"] == cutoffs[3]
    scoring_only.loc[last, "recency_days"] += 1  # not matured: not in the print
    same = registry.load_training_rows(
        _feature_table(con, scoring_only, "e"), spec, seed=3
    )
    assert same.fingerprint == rows.fingerprint
    result = ml.train(rows, spec, seed=3)
    assert result.training_rows == 600 and result.validation_rows == 300
    assert result.data_fingerprint == rows.fingerprint


def test_a_frame_and_a_relation_of_the_same_rows_train_the_same_model():
    """One sampling rule: ml.train on a DataFrame draws the rows that
    load_training_rows draws in SQL, so both fit the same model."""
    con = duckdb.connect()
    frame = features(n_customers=300, n_cutoffs=4)
    task = {
        **TASK,
        "candidates": ["logistic_regression", "gradient_boosting"],
        "max_training_rows": 250,
        "validation_cutoffs": 1,
    }
    spec = registry.task_spec(task)
    loaded = registry.load_training_rows(_feature_table(con, frame, "f"), spec, seed=5)
    assert len(loaded.frame) == 250 + 300  # sampled: the rule is exercised
    through_sql = ml.train(loaded, spec, seed=5)
    through_frame = ml.train(frame.sample(frac=1, random_state=2), spec, seed=5)
    assert through_frame.extra["fitted_rows"] == through_sql.extra["fitted_rows"]
    assert through_frame.candidate_metrics == through_sql.candidate_metrics
    assert through_frame.algorithm == through_sql.algorithm
    # and the seed matters on both paths
    other = ml.train(frame, spec, seed=6)
    assert other.candidate_metrics != through_frame.candidate_metrics
