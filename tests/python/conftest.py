"""Shared fixtures: small real files written to tmp_path, and a project runner."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

PROJECT = Path(__file__).resolve().parents[2]
DBT = Path(sys.executable).with_name("dbt")

HEADER = (
    "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
)
GOOD_LINES = [
    '489434,85048,"15CM CHRISTMAS GLASS BALL, 20 LIGHTS",12,2009-12-01 07:45:00,'
    "6.95,13085.0,United Kingdom\n",
    "489434,79323P,PINK CHERRY LIGHTS,12,2009-12-01 07:45:00,6.75,13085.0,"
    "United Kingdom\n",
    "489435,22350,CAT BOWL ,12,2009-12-01 07:46:00,2.55,13086.0,France\n",
    "489436,22195,LARGE HEART MEASURING SPOONS,24,2009-12-02 09:06:00,1.65,,"
    "United Kingdom\n",
]


@pytest.fixture
def write_file(tmp_path):
    """Write bytes or text to a file in tmp_path and return its path as str."""

    def _write(name: str, content: str | bytes) -> str:
        path = tmp_path / name
        data = content.encode("utf-8") if isinstance(content, str) else content
        path.write_bytes(data)
        return str(path)

    return _write


def project_env(db_path: Path, **extra: str) -> dict[str, str]:
    """Environment for dbt or the runner with every file of the run beside
    ``db_path``: warehouse, dbt target and logs, MLflow, run lock, snapshot."""
    env = dict(os.environ, DBT_PROFILES_DIR="profiles", CLV_DUCKDB_PATH=str(db_path))
    for name in (
        # mlflow.set_tracking_uri() in this process exports MLFLOW_TRACKING_URI:
        # a run must use its own store beside db_path, never a store left over
        "MLFLOW_TRACKING_URI",
        "CLV_PUBLISH_PATH",
        "CLV_PUBLISH_PAUSE_AT",
        "CLV_PUBLISH_PAUSE_SECONDS",
    ):
        env.pop(name, None)
    env["DBT_TARGET_PATH"] = str(db_path.parent / "dbt_target")
    env["DBT_LOG_PATH"] = str(db_path.parent / "dbt_logs")
    env["CLV_MLFLOW_DIR"] = str(db_path.parent / "mlflow")
    env["CLV_RUN_LOCK"] = str(db_path.parent / "run.lock")
    env.update(extra)
    return env


def _vars(vars_: dict) -> list[str]:
    import json

    return ["--vars", json.dumps(vars_)] if vars_ else []


def run_dbt(args: list[str], db_path: Path, **vars_) -> subprocess.CompletedProcess:
    """Run dbt in the project against its own DuckDB file; capture the output."""
    command = [str(DBT), *args, "--target", "ci", *_vars(vars_)]
    return subprocess.run(
        command,
        cwd=PROJECT,
        env=project_env(db_path),
        capture_output=True,
        text=True,
        timeout=600,
    )


def pipeline_command(args: list[str], **vars_) -> list[str]:
    """The scheduled run (lock, dbt build, pipeline_runs row, publish)."""
    return [
        sys.executable,
        "-m",
        "clv_warehouse.cli",
        "run",
        *args,
        "--target",
        "ci",
        *_vars(vars_),
    ]


def run_pipeline(
    args: list[str], db_path: Path, env: dict | None = None, **vars_
) -> subprocess.CompletedProcess:
    """Run ``cli run`` against its own DuckDB file; output and stderr merged."""
    return subprocess.run(
        pipeline_command(args, **vars_),
        cwd=PROJECT,
        env=env or project_env(db_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=900,
    )


@pytest.fixture
def dbt_runner(tmp_path):
    """Run dbt with a fresh warehouse file under tmp_path."""
    db_path = tmp_path / "warehouse.duckdb"

    def _run(args, **vars_):
        return run_dbt(args, db_path, **vars_)

    _run.db_path = db_path
    yield _run
    shutil.rmtree(tmp_path / "dbt_target", ignore_errors=True)


def bgnbd_events(rng, lam, n_death, t_obs, horizon):
    """Event-level BG/NBD purchases for per-customer rates ``lam`` and lifetimes
    of ``n_death`` purchases: (x, t_x, purchases in (T, T + horizon]) with
    calibration up to ``t_obs``. Shared by the BG/NBD simulations of the tests."""
    n = len(lam)
    k = rng.poisson(lam * (t_obs + horizon))
    ids = np.repeat(np.arange(n), k)
    u = rng.uniform(size=ids.size) * (t_obs + horizon)[ids]
    order = np.lexsort((u, ids))
    ids, u = ids[order], u[order]
    rank = np.arange(ids.size) - np.concatenate([[0], np.cumsum(k)[:-1]])[ids]
    alive = rank < n_death[ids]
    ids, u = ids[alive], u[alive]
    cal = u <= t_obs[ids]
    x = np.bincount(ids[cal], minlength=n)
    tx = np.zeros(n)
    np.maximum.at(tx, ids[cal], u[cal])
    holdout = np.bincount(ids[~cal], minlength=n)
    return x, tx, holdout
