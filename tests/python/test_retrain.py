"""End to end: three scheduled builds at three cutoffs on a small generated input.
The first trains (no champion), the second keeps the champion although the
training data grew (no trigger), the third retrains on an accuracy drop measured
on the predictions logged by the first build, and logs it all in gold."""

from __future__ import annotations

import duckdb
import pytest
from conftest import run_dbt

from clv_warehouse import generate, tracking

pytestmark = pytest.mark.slow

SELECT = [
    "--select",
    "+ml_retrain_decisions",
    "+ml_prediction_log",
    "--indirect-selection",
    "cautious",
]
# 28-day label windows: predictions logged at a month start mature by the next
WINDOWS = {"churn_window_days": 28, "value_horizon_days": 28}
NO_ACCURACY_OR_DRIFT = {
    "retrain_min_realized_metric": 0,
    "retrain_metric_tolerance": 1,
    "drift_psi_threshold": 100,
}


def decisions(db_path):
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(
            """
            select
                scoring_cutoff_date::varchar, task, decision, triggers,
                champion_version_before, trained_version, champion_version_after,
                realized_metric_value, realized_cutoff_date::varchar, max_psi
            from gold.ml_retrain_decisions
            order by scoring_cutoff_date, task
            """
        ).fetchall()
    finally:
        con.close()


def test_keep_without_trigger_then_retrain_on_accuracy_drop(tmp_path, monkeypatch):
    source = tmp_path / "lines.csv"
    generate.write_csv(
        source, generate.GeneratorConfig(n_customers=700, end="2011-02-28")
    )
    db_path = tmp_path / "warehouse.duckdb"

    def build(as_of, **vars_):
        result = run_dbt(
            ["build", *SELECT],
            db_path,
            input_path=str(source),
            as_of_date=as_of,
            **WINDOWS,
            **vars_,
        )
        assert result.returncode == 0, result.stdout[-3000:]

    build("2011-01-01", **NO_ACCURACY_OR_DRIFT)
    build("2011-02-01", **NO_ACCURACY_OR_DRIFT)
    build("2011-03-01", retrain_min_realized_metric=0.99, drift_psi_threshold=100)

    rows = decisions(db_path)
    assert [row[:4] for row in rows] == [
        ("2011-01-01", "churn", "retrain", "no_champion"),
        ("2011-01-01", "value_tier", "retrain", "no_champion"),
        ("2011-02-01", "churn", "keep", "none"),
        ("2011-02-01", "value_tier", "keep", "none"),
        ("2011-03-01", "churn", "retrain", "accuracy_drop"),
        ("2011-03-01", "value_tier", "retrain", "accuracy_drop"),
    ]
    first, kept, retrained = rows[0], rows[2], rows[4]
    assert first[4:7] == (None, 1, 1)
    assert kept[4:7] == (1, None, 1)
    assert retrained[4] == 1 and retrained[5] == 2
    # realized AUC of the 2011-01-01 predictions, known from 2011-02-01 on
    assert kept[8] == "2011-01-01" and 0.5 < kept[7] < 0.99
    assert retrained[8] == "2011-02-01" and retrained[7] < 0.99
    assert kept[9] is not None and kept[9] >= 0

    con = duckdb.connect(str(db_path), read_only=True)
    try:
        logged = con.execute(
            "select task, cutoff_date::varchar, count(distinct customer_id) "
            "from gold.ml_prediction_log group by all order by all"
        ).fetchall()
        run_id = con.execute(
            "select mlflow_run_id from ml.ml_churn_model_versions where version = 1"
        ).fetchall()[0][0]
    finally:
        con.close()
    assert [row[:2] for row in logged] == [
        ("churn", "2011-01-01"),
        ("churn", "2011-02-01"),
        ("churn", "2011-03-01"),
        ("value_tier", "2011-01-01"),
        ("value_tier", "2011-02-01"),
        ("value_tier", "2011-03-01"),
    ]
    # the realized metric also went to the champion's MLflow run
    monkeypatch.setenv("CLV_MLFLOW_DIR", str(tmp_path / "mlflow"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    client = tracking._mlflow().tracking.MlflowClient()
    history = client.get_metric_history(run_id, "realized.roc_auc")
    assert [m.step for m in history] == [0, 31]
