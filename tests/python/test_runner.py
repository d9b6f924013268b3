"""The scheduled run without dbt: exit-code classification, the run lock, the
warehouse lock check and the pipeline_runs record."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime

import duckdb
import pytest
import yaml
from conftest import PROJECT, pipeline_command, project_env

from clv_warehouse import runner


def result(unique_id: str, status: str, message: str | None = None) -> dict:
    return {
        "unique_id": unique_id,
        "status": status,
        "message": message,
        "relation_name": None,
    }


# Shaped like target/run_results.json of real dbt 1.11 runs (messages verbatim).
INPUT_REJECTED = {
    "metadata": {"invocation_id": "0c1d"},
    "results": [
        result(
            "model.clv_warehouse.stg_input__validated",
            "error",
            "Runtime Error in model stg_input__validated "
            "(models/staging/stg_input__validated.sql)\n"
            "  Invalid Input Error: input file /tmp/nope.csv: file not found",
        ),
        result("model.clv_warehouse.stg_input__landed_lines", "skipped"),
    ],
}
TOO_SHORT_FOR_ML = {
    "results": [
        result("model.clv_warehouse.ml_customer_features", "success", "OK"),
        result(
            "model.clv_warehouse.ml_training_readiness",
            "error",
            "Runtime Error in model ml_training_readiness "
            "(models/ml/ml_training_readiness.sql)\n"
            "  Invalid Input Error: ML needs at least 3 matured monthly cutoffs, "
            "the data has 1: give it more history, ...",
        ),
    ]
}
TEST_FAILED = {
    "results": [
        result("model.clv_warehouse.fct_orders", "success", "OK"),
        result(
            "test.clv_warehouse.unique_fct_orders_invoice_id.49ff9e44ae",
            "fail",
            "Got 3 results, configured to fail if != 0",
        ),
        result(
            "test.clv_warehouse.assert_raw_rows_reconcile",
            "fail",
            "Got 1 result, configured to fail if != 0",
        ),
    ]
}
MODEL_ERROR = {
    "results": [
        result(
            "model.clv_warehouse.int_clv_backtest_predictions",
            "error",
            "Runtime Error in model int_clv_backtest_predictions "
            "(models/intermediate/customers/int_clv_backtest_predictions.sql)\n"
            '  Catalog Error: Table with name "ml.ml_backtest_scored" does not '
            'exist because schema "ml" does not exist.\n  \n  LINE 37:     select',
        ),
        result("model.clv_warehouse.clv_backtest_metrics", "skipped"),
    ]
}
LOCKED_OUTPUT = (
    '  File ".../duckdb/environments/__init__.py", line 164, in initialize_db\n'
    "    conn = duckdb.connect(creds.path, read_only=False, config=config)\n"
    '_duckdb.IOException: IO Error: Could not set lock on file "/w.duckdb": '
    "Conflicting lock is held in /usr/bin/python3.11 (PID 4092). However, you "
    "would be able to open this database in read-only mode\n"
)
USAGE_OUTPUT = (
    "Usage: dbt build [OPTIONS]\nTry 'dbt build --help' for help.\n\n"
    "Error: No such option '--bogus'.\n"
)


@pytest.mark.parametrize(
    ("dbt_exit", "run_results", "output", "expected"),
    [
        (0, {"results": [result("model.x.y.z", "success")]}, "", (0, "success")),
        (1, INPUT_REJECTED, "", (3, "input_rejected")),
        (1, TOO_SHORT_FOR_ML, "", (3, "input_rejected")),
        (1, TEST_FAILED, "", (1, "failed")),
        (1, MODEL_ERROR, "", (1, "failed")),
        (2, None, LOCKED_OUTPUT, (5, "warehouse_locked")),
        (2, None, USAGE_OUTPUT, (2, "config_error")),
        (
            1,
            None,
            "Compilation Error\n  Model 'x' depends on 'y'\n",
            (2, "config_error"),
        ),
        (-9, None, "", (1, "failed")),
    ],
)
def test_exit_codes_follow_the_outcome(dbt_exit, run_results, output, expected):
    outcome = runner.classify(dbt_exit, run_results, output)
    assert (outcome.exit_code, outcome.status) == expected


def test_outcome_names_the_failing_node_and_says_why_in_one_line():
    rejected = runner.classify(1, INPUT_REJECTED)
    assert rejected.failed_node == "stg_input__validated"
    assert rejected.message == (
        "Invalid Input Error: input file /tmp/nope.csv: file not found"
    )
    failed = runner.classify(1, TEST_FAILED)
    assert failed.failed_node == "unique_fct_orders_invoice_id"
    assert failed.message == "Got 3 results, configured to fail if != 0 (and 1 more)"
    error = runner.classify(1, MODEL_ERROR)
    assert error.message.startswith('Catalog Error: Table with name "ml.ml_backtest')
    assert "\n" not in error.message
    locked = runner.classify(2, None, LOCKED_OUTPUT)
    assert locked.message.startswith("IO Error: Could not set lock on file")
    assert runner.classify(2, None, USAGE_OUTPUT).message == (
        "Error: No such option '--bogus'."
    )
    assert runner.classify(-9, None).message == "dbt was killed by SIGKILL"


def test_a_second_run_is_refused_while_the_first_holds_the_lock(tmp_path):
    lock = tmp_path / "state" / "run.lock"
    with runner.run_lock(lock) as fd:
        runner._write_state(fd, {"runs": [{"run_id": "r1", "pid": 123}]})
        with (
            pytest.raises(runner.RunInProgress, match="run r1, pid 123"),
            runner.run_lock(lock),
        ):
            pass
    with runner.run_lock(lock) as fd:  # released with the first
        assert runner._read_state(fd)["runs"][0]["run_id"] == "r1"


def test_runs_are_appended_and_retrained_versions_found(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        con.execute(
            "create schema ml; create table ml.ml_churn_model_versions as "
            "select 'churn' as task, 1 as version, 'abc' as mlflow_run_id"
        )
        before = runner._model_versions(con)
        con.execute("insert into ml.ml_churn_model_versions values ('churn', 2, 'def')")
        after = runner._model_versions(con)
        assert [name for run, name in after.items() if run not in before] == [
            "churn v2"
        ]
        runner.record(con, {"run_id": "r1", "status": "failed", "exit_code": 1})
        runner.record(con, {"run_id": "r2", "status": "success", "exit_code": 0})
        rows = con.execute(
            "select run_id, status, exit_code from gold.pipeline_runs order by 1"
        ).fetchall()
    finally:
        con.close()
    assert rows == [("r1", "failed", 1), ("r2", "success", 0)]


def test_runs_left_in_the_lock_file_are_settled_once(tmp_path):
    """What a killed or locked-out runner left behind, written down by the next."""
    published = tmp_path / "published.duckdb"
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        for run_id in ("published", "killed-publishing"):
            runner.record(
                con,
                {"run_id": run_id, "status": "success", "is_snapshot_published": True},
            )
        con.execute(
            f"attach '{published}' as snapshot; create schema snapshot.gold; "
            "create table snapshot.gold.pipeline_runs as "
            "from gold.pipeline_runs where run_id = 'published'; detach snapshot"
        )
        pending = [
            {"run_id": "killed-building", "stage": "running", "pid": 7},
            {"run_id": "locked", "stage": "unrecorded", "status": "warehouse_locked"},
            {"run_id": "published", "stage": "publishing"},
            {"run_id": "killed-publishing", "stage": "publishing"},
        ]
        runner._settle(con, pending, "now", published)
        runner._settle(con, pending, "now", published)  # a second time: no change
        rows = con.execute(
            "select run_id, status, is_snapshot_published, message "
            "from gold.pipeline_runs order by run_id"
        ).fetchall()
    finally:
        con.close()
    assert rows == [
        (
            "killed-building",
            "abandoned",
            False,
            "killed before it could record itself; found by run now",
        ),
        (
            "killed-publishing",
            "abandoned",
            False,
            "killed while publishing; found by run now",
        ),
        ("locked", "warehouse_locked", None, None),
        ("published", "success", True, None),
    ]


def run_cli(db_path, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        pipeline_command(list(args)),
        cwd=PROJECT,
        env=project_env(db_path),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_exit_4_when_another_run_is_in_progress(tmp_path):
    db_path = tmp_path / "warehouse.duckdb"
    with runner.run_lock(tmp_path / "run.lock") as fd:
        runner._write_state(fd, {"runs": [{"run_id": "nightly", "pid": 1}]})
        done = run_cli(db_path)
    assert done.returncode == runner.EXIT_RUN_IN_PROGRESS, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    assert "another run is in progress (run nightly" in lines[0]
    assert not db_path.exists()


def test_exit_5_when_another_process_holds_the_warehouse_open(tmp_path):
    db_path = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(db_path)).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, duckdb; c = duckdb.connect(sys.argv[1], "
            "read_only=True); print('open', flush=True); time.sleep(60)",
            str(db_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        done = run_cli(db_path)
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == runner.EXIT_WAREHOUSE_LOCKED, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    assert f"the warehouse {db_path} is open by " in lines[0]
    assert str(tmp_path / "published" / "warehouse.duckdb") in lines[0]
    with runner.run_lock(tmp_path / "run.lock") as fd:  # not left pending
        assert runner._read_state(fd) == {}


def test_dbt_options_are_read_in_both_spellings(monkeypatch):
    from pathlib import Path

    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    assert runner._dbt_target(["--select", "x", "--target", "ci"]) == "ci"
    assert runner._dbt_target(["--target=ci"]) == "ci"
    assert runner._dbt_target(["--select", "x"]) == "dev"
    assert runner._target_path(["--target-path=out"]) == Path("out")
    assert runner._target_path([]) == Path("target")


def test_a_run_after_one_that_did_not_succeed_tests_every_row(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        assert runner._last_run_succeeded(con)  # nothing recorded yet
        for run_id, status, day in (("r1", "success", 1), ("r2", "failed", 2)):
            runner.record(
                con,
                {
                    "run_id": run_id,
                    "status": status,
                    "started_at": datetime(2026, 1, day),
                },
            )
            assert runner._last_run_succeeded(con) == (status == "success")
    finally:
        con.close()
    scope = {"data_test_scope": "all"}
    assert runner.with_var(["-s", "x"], "data_test_scope", "all") == [
        "-s",
        "x",
        "--vars",
        '{"data_test_scope": "all"}',
    ]
    merged = runner.with_var(
        ["--vars", "{input_path: a.csv}", "-s", "x"], "data_test_scope", "all"
    )
    assert merged[2:] == ["-s", "x"]
    assert yaml.safe_load(merged[1]) == {**scope, "input_path": "a.csv"}
    equals = runner.with_var(["--vars={input_path: a.csv}"], "data_test_scope", "all")
    assert yaml.safe_load(equals[0].split("=", 1)[1]) == {
        **scope,
        "input_path": "a.csv",
    }
    # a scope the caller chose stays
    kept = runner.with_var(
        ["--vars", "{data_test_scope: refreshed}"], "data_test_scope", "all"
    )
    assert yaml.safe_load(kept[1]) == {"data_test_scope": "refreshed"}
    with pytest.raises(ValueError, match="YAML mapping"):
        runner.with_var(["--vars", "[1]"], "data_test_scope", "all")
