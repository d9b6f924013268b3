"""The dbt plugin caps the numerical libraries' thread pools (CLV_ML_THREADS)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from clv_warehouse import dbt_plugin

PROBE = textwrap.dedent(
    """
    import json
    from dbt.adapters.duckdb.plugins import BasePlugin
    BasePlugin.create("clv_warehouse.dbt_plugin")
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_info
    x = np.random.default_rng(0).normal(size=(200, 3))
    HistGradientBoostingClassifier(max_iter=3).fit(x, x[:, 0] > 0)
    print(json.dumps({i["user_api"]: i["num_threads"] for i in threadpool_info()}))
    """
)


def probe(**env: str) -> dict:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in (*dbt_plugin.THREAD_VARIABLES, "CLV_ML_THREADS")
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_one_thread_by_default_for_libraries_loaded_after_the_plugin():
    pools = probe()
    assert pools.get("openmp") == 1  # scikit-learn's libgomp, loaded after
    assert pools.get("blas") == 1


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs 2 cores")
def test_clv_ml_threads_and_omp_num_threads_are_honoured():
    assert probe(CLV_ML_THREADS="2").get("openmp") == 2
    assert probe(CLV_ML_THREADS="1", OMP_NUM_THREADS="2").get("openmp") == 2


def test_a_bad_setting_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("CLV_ML_THREADS", "zero")
    with pytest.raises(ValueError, match="CLV_ML_THREADS must be a positive integer"):
        dbt_plugin.limit_library_threads()


def test_a_bad_thread_variable_set_by_the_user_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("CLV_ML_THREADS", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "two")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("MKL_NUM_THREADS", "1")
    with pytest.raises(ValueError, match="OMP_NUM_THREADS must be a positive integer"):
        dbt_plugin.limit_library_threads()
