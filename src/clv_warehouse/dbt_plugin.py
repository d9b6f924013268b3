"""dbt-duckdb plugin: SQL functions the project's models call during a build.

``clv_check_input(format, path, delimiter, sheet, columns_json)`` returns '' for a
usable input and the one-line problem otherwise, so the SQL model
``stg_input__validated`` can stop the build with ``error(...)``: dbt then prints
one line naming the file and the problem, never a Python traceback.

It also caps the thread pools of the Python models' numerical libraries (OpenMP:
scikit-learn's histogram boosting and k-means; BLAS) at ``CLV_ML_THREADS``
threads, 1 by default: dbt already runs nodes side by side (``threads: 2``), and
OpenMP workers that spin-wait for a core held by another node slowed them down.
At 10M lines, the ML backtest beside a 2-thread DuckDB query took 17.5 s with 2
OpenMP threads and 9.6 s with 1 (8.8 s alone with 2). ``OMP_NUM_THREADS`` or
``OPENBLAS_NUM_THREADS`` set by the user win.
"""

from __future__ import annotations

import os

from dbt.adapters.duckdb.plugins import BasePlugin

from clv_warehouse import landing


def _check(input_format, input_path, delimiter, sheet, input_columns):
    return landing.check_input(
        input_format or "",
        input_path or "",
        delimiter or "auto",
        sheet or "",
        input_columns or "{}",
    )


def _files(input_path):
    return landing.list_input_files(input_path or "")


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _thread_count(variable: str, raw: str) -> int:
    try:
        threads = int(raw)
    except ValueError:
        threads = 0
    if threads < 1:
        raise ValueError(f"{variable} must be a positive integer, got {raw!r}")
    return threads


def limit_library_threads() -> int:
    """Cap OpenMP/BLAS pools at ``CLV_ML_THREADS`` (default 1); returns the cap.

    The environment covers libraries loaded later (libgomp reads it when it
    loads); threadpoolctl covers the ones already loaded."""
    threads = _thread_count("CLV_ML_THREADS", os.environ.get("CLV_ML_THREADS", "1"))
    for variable in THREAD_VARIABLES:
        os.environ.setdefault(variable, str(threads))
    from threadpoolctl import threadpool_limits

    for variable, api in (
        ("OMP_NUM_THREADS", "openmp"),
        ("OPENBLAS_NUM_THREADS", "blas"),
    ):
        limit = _thread_count(variable, os.environ[variable])
        threadpool_limits(limits=limit, user_api=api)
    return threads


class Plugin(BasePlugin):
    def initialize(self, plugin_config):
        limit_library_threads()

    def configure_connection(self, conn):
        conn.create_function(
            "clv_check_input",
            _check,
            ["VARCHAR"] * 5,
            "VARCHAR",
            null_handling="special",
            side_effects=True,
        )
        conn.create_function(
            "clv_input_files",
            _files,
            ["VARCHAR"],
            "STRUCT(source_file VARCHAR, size_bytes BIGINT, modified_ns BIGINT)[]",
            side_effects=True,
        )
        conn.create_function(
            "clv_file_sha256",
            landing.file_sha256,
            ["VARCHAR"],
            "VARCHAR",
            side_effects=True,
        )
