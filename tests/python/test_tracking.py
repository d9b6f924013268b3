"""clv_warehouse.tracking: MLflow on an embedded sqlite store in tmp_path."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from clv_warehouse import ml, tracking


def small_frame(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_customers, cutoffs = 300, pd.date_range("2011-01-01", periods=3, freq="MS")
    n = n_customers * len(cutoffs)
    frame = pd.DataFrame(
        {
            "customer_id": np.tile(np.arange(n_customers), len(cutoffs)),
            "cutoff_date": np.repeat(cutoffs, n_customers),
            "recency_days": rng.integers(0, 365, n),
            "frequency": rng.poisson(3, n),
            "monetary": np.round(rng.gamma(2, 50, n), 2),
        }
    )
    frame["churned"] = (frame.recency_days + rng.normal(0, 80, n) > 150).astype(int)
    return frame


SPEC = ml.TaskSpec(
    name="churn",
    target="churned",
    problem_type="binary",
    features=("recency_days", "frequency", "monetary"),
    sql_function="predict_churn",
)


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("CLV_MLFLOW_DIR", str(tmp_path / "mlflow"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "mlflow"


def test_tracking_uri_resolution(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("CLV_MLFLOW_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert tracking.tracking_uri() == f"sqlite:///{tmp_path / 'state/mlflow'}/mlflow.db"
    monkeypatch.setenv("CLV_MLFLOW_DIR", "elsewhere")
    assert tracking.tracking_uri() == f"sqlite:///{tmp_path / 'elsewhere'}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.internal:5000")
    assert tracking.tracking_uri() == "http://mlflow.internal:5000"


def test_module_does_not_import_mlflow():
    code = "import sys, clv_warehouse.tracking; print('mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ["logistic_regression", "gradient_boosting"])
def test_log_load_register(state, algorithm):
    spec = ml.TaskSpec(**{**SPEC.__dict__, "candidates": (algorithm,)})
    result = ml.train(small_frame(), spec)
    started = time.perf_counter()
    run_id, version = tracking.log_training(
        result,
        experiment="churn",
        registered_model_name="churn",
        tags={"dbt_invocation_id": "abc"},
    )
    elapsed = time.perf_counter() - started
    assert version == "1"
    assert elapsed < 30
    assert (state / "mlflow.db").exists()
    assert (state / "artifacts" / "churn").is_dir()
    assert not (state.parent / "mlruns").exists()

    x = ml.prepare_features(small_frame(1), spec)
    expected = result.model.predict_proba(x)
    for loaded in (
        tracking.load_model(run_id),
        tracking.load_registered_model("churn", version),
    ):
        np.testing.assert_array_equal(loaded.predict_proba(x), expected)

    import mlflow

    run = mlflow.get_run(run_id)
    assert run.data.tags["data_fingerprint"] == result.data_fingerprint
    assert run.data.tags["dbt_invocation_id"] == "abc"
    assert run.data.metrics["roc_auc"] == pytest.approx(result.metrics["roc_auc"])
    assert f"{algorithm}.roc_auc" in run.data.metrics
    assert "baseline_prior.log_loss" in run.data.metrics
    assert run.data.params["algorithm"] == algorithm

    tracking.log_realized_metrics(run_id, {"roc_auc": 0.71}, step=30)
    assert mlflow.get_run(run_id).data.metrics["realized.roc_auc"] == 0.71

    _, second = tracking.log_training(
        result, experiment="churn", registered_model_name="churn"
    )
    assert second == "2"
    assert os.environ.get("MLFLOW_DISABLE_TELEMETRY") == "true"
