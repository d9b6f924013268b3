"""End to end: the scheduled run publishes a snapshot that BI can hold open,
that is never half-built, and that survives kill -9 at any moment."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from types import SimpleNamespace

import duckdb
import pytest
from conftest import PROJECT, pipeline_command, project_env, run_pipeline

from clv_warehouse import runner

pytestmark = pytest.mark.slow

# Landing to the core gold tables with their tests, no ML: ~15 s on small data.
# (Whole-project `--exclude tag:ml` needs ml_backtest_scored from an earlier build.)
SMALL = [
    "--select",
    "+fct_orders",
    "+fct_order_lines",
    "+dim_customers",
    "+int_lines_quarantined",
    "+assert_raw_rows_reconcile",
    "--indirect-selection",
    "cautious",
]
# One node: the quickest build that still goes through publish.
TINY = ["--select", "stg_input__validated"]
GOLD = {"dim_customers", "fct_orders", "fct_order_lines", "pipeline_runs"}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """A warehouse built and published once by the runner on a small input."""
    from clv_warehouse import generate

    folder = tmp_path_factory.mktemp("ops")
    data = folder / "small.csv"
    generate.write_csv(data, generate.GeneratorConfig(n_customers=60, seed=3))
    db_path = folder / "warehouse.duckdb"
    done = run_pipeline(SMALL, db_path, input_path=str(data))
    assert done.returncode == 0, done.stdout[-3000:]
    return SimpleNamespace(
        db_path=db_path,
        published=folder / "published" / "warehouse.duckdb",
        lock=folder / "run.lock",
        vars={"input_path": str(data)},
    )


def run(pipeline, args, **env) -> subprocess.CompletedProcess:
    return run_pipeline(
        args, pipeline.db_path, project_env(pipeline.db_path, **env), **pipeline.vars
    )


def start(pipeline, args, **env) -> subprocess.Popen:
    return subprocess.Popen(
        pipeline_command(args, **pipeline.vars),
        cwd=PROJECT,
        env=project_env(pipeline.db_path, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def newest_run(path) -> tuple:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(
            "select run_id, status, is_snapshot_published, snapshot_path "
            "from gold.pipeline_runs order by started_at desc, run_id desc limit 1"
        ).fetchall()[0]
    finally:
        con.close()


def history(path) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(
            "select run_id, status, is_snapshot_published, message "
            "from gold.pipeline_runs order by started_at, run_id"
        ).fetchall()
    finally:
        con.close()


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def reader(script: str, *args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-I", "-c", textwrap.dedent(script), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(process: subprocess.Popen, stop_file) -> dict:
    stop_file.touch()
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


HOLDING_READER = """
    import json, os, sys, time, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    print("open", flush=True)
    seen, errors, queries = set(), [], 0
    while not os.path.exists(sys.argv[2]):
        try:
            seen.add(con.execute(
                "select run_id from gold.pipeline_runs "
                "order by started_at desc, run_id desc limit 1").fetchall()[0][0])
            con.execute("select count(*), sum(gross_amount) from gold.fct_orders"
                        ).fetchall()
            queries += 1
        except Exception as exc:
            errors.append(repr(exc))
        time.sleep(0.05)
    print(json.dumps({"queries": queries, "errors": errors, "seen": sorted(seen)}))
"""


def test_a_bi_connection_holding_the_snapshot_never_blocks_the_next_build(
    pipeline, tmp_path
):
    previous = newest_run(pipeline.published)[0]
    holding = reader(HOLDING_READER, pipeline.published, tmp_path / "stop")
    try:
        assert holding.stdout.readline().strip() == "open"
        done = run(pipeline, SMALL)
        report = stop(holding, tmp_path / "stop")
    finally:
        holding.kill()
    assert done.returncode == 0, done.stdout[-3000:]
    assert report["errors"] == []
    assert report["queries"] > 10
    assert report["seen"] == [previous]  # the reader kept its snapshot throughout
    run_id, status, published, path = newest_run(pipeline.published)
    assert run_id != previous
    assert (status, published, path) == ("success", True, str(pipeline.published))
    con = duckdb.connect(str(pipeline.published), read_only=True)
    try:
        recorded = con.execute(
            "select input_rows, quarantined_rows, models_retrained "
            "from gold.pipeline_runs where run_id = ?",
            [run_id],
        ).fetchall()[0]
        first = con.execute(
            "select input_rows, quarantined_rows from gold.pipeline_runs "
            "where run_id = ?",
            [previous],
        ).fetchall()[0]
        landed, quarantined = con.execute(
            "select (select count(*) from staging.stg_input__landed_lines), "
            "(select count(*) from silver.int_lines_quarantined)"
        ).fetchall()[0]
    finally:
        con.close()
    # the same files again: nothing new lands; the first run landed them all
    assert recorded == (0, 0, 0)
    assert first == (landed, quarantined)
    assert landed > quarantined > 0


OPENING_READER = """
    import json, os, sys, time, duckdb
    path, stop, expected = sys.argv[1], sys.argv[2], set(sys.argv[3].split(","))
    opens, problems, seen = 0, [], []
    while not os.path.exists(stop):
        try:
            con = duckdb.connect(path, read_only=True)
            try:
                gold = {name for (name,) in con.execute(
                    "select table_name from information_schema.tables "
                    "where table_schema = 'gold'").fetchall()}
                landed, clean, quarantined = con.execute(
                    "select (select count(*) from staging.stg_input__landed_lines), "
                    "(select count(*) from silver.int_lines_cleaned), "
                    "(select count(*) from silver.int_lines_quarantined)"
                ).fetchall()[0]
                run_id, status, published = con.execute(
                    "select run_id, status, is_snapshot_published "
                    "from gold.pipeline_runs "
                    "order by started_at desc, run_id desc limit 1").fetchall()[0]
            finally:
                con.close()
            opens += 1
            if not expected <= gold:
                problems.append(f"missing {sorted(expected - gold)}")
            if landed != clean + quarantined or landed == 0:
                problems.append(f"{landed} != {clean} + {quarantined}")
            if status != "success" or not published:
                problems.append(f"newest run {run_id} is {status}, {published}")
            if not seen or seen[-1] != run_id:
                seen.append(run_id)
        except Exception as exc:
            problems.append(repr(exc))
        time.sleep(0.05)
    print(json.dumps({"opens": opens, "problems": problems, "seen": seen}))
"""


def test_a_reader_opening_the_snapshot_during_a_run_never_sees_it_half_built(
    pipeline, tmp_path
):
    previous = newest_run(pipeline.published)[0]
    opening = reader(
        OPENING_READER, pipeline.published, tmp_path / "stop", ",".join(sorted(GOLD))
    )
    try:
        # a second's pause right before the rename widens the window to catch
        done = run(
            pipeline,
            SMALL,
            CLV_PUBLISH_PAUSE_AT="before_rename",
            CLV_PUBLISH_PAUSE_SECONDS="1",
        )
        time.sleep(0.5)
        report = stop(opening, tmp_path / "stop")
    finally:
        opening.kill()
    assert done.returncode == 0, done.stdout[-3000:]
    assert report["problems"] == []
    assert report["opens"] > 10
    latest = newest_run(pipeline.published)[0]
    assert report["seen"] == [previous, latest]  # one switch, old to new


def wait_for_line(process: subprocess.Popen, marker: str) -> str:
    output = []
    for line in process.stdout:
        output.append(line)
        if marker in line:
            return "".join(output)
    raise AssertionError(f"never printed {marker!r}:\n" + "".join(output)[-3000:])


def wait_for_lock(path, seconds: float = 30) -> None:
    """Once the runner is dead its dbt child dies too (PR_SET_PDEATHSIG); the
    run lock is free when both are gone."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with runner.run_lock(path):
                return
        except runner.RunInProgress:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_kill_9_at_any_moment_leaves_the_last_snapshot_intact(pipeline):
    """kill -9 of the runner while dbt builds, mid-copy and right before the
    rename: the snapshot stays byte for byte. The next run (a --full-refresh,
    which keeps the run history too) cleans up, records the three as
    abandoned and publishes."""
    snapshot = pipeline.published
    before, previous, runs_before = (
        digest(snapshot),
        newest_run(snapshot),
        history(snapshot),
    )
    moments = [
        (SMALL, {}, "START sql incremental model silver.int_lines_checked"),
        (TINY, {"CLV_PUBLISH_PAUSE_AT": "mid_copy"}, "paused at mid_copy"),
        (TINY, {"CLV_PUBLISH_PAUSE_AT": "before_rename"}, "paused at before_rename"),
    ]
    for args, env, marker in moments:
        process = start(pipeline, args, **env)
        try:
            wait_for_line(process, marker)
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        finally:
            process.kill()
        wait_for_lock(pipeline.lock)
        assert digest(snapshot) == before, marker
        assert newest_run(snapshot) == previous, marker
    temporary = sorted(snapshot.parent.glob(f".{snapshot.name}.*.tmp"))
    # the second killed publish already removed the first one's temporary file
    assert len(temporary) == 1

    done = run(pipeline, [*SMALL, "--full-refresh"])
    assert done.returncode == 0, done.stdout[-3000:]
    assert sorted(snapshot.parent.glob(f".{snapshot.name}.*")) == []
    runs_after = history(snapshot)
    assert runs_after[: len(runs_before)] == runs_before
    rows = [run[1:] for run in runs_after[len(runs_before) :]]
    assert [row[:2] for row in rows] == [("abandoned", False)] * 3 + [("success", True)]
    assert rows[0][2].startswith("killed before it could record itself")
    assert rows[1][2].startswith("killed while publishing")
    assert rows[2][2].startswith("killed while publishing")


def test_a_failed_build_is_recorded_and_not_published(pipeline, tmp_path):
    before = digest(pipeline.published)
    missing = tmp_path / "missing.csv"
    done = run_pipeline(
        SMALL, pipeline.db_path, project_env(pipeline.db_path), input_path=str(missing)
    )
    assert done.returncode == runner.EXIT_INPUT_REJECTED, done.stdout[-3000:]
    assert "the published snapshot was not replaced" in done.stdout
    assert digest(pipeline.published) == before
    con = duckdb.connect(str(pipeline.db_path), read_only=True)
    try:
        row = con.execute(
            "select status, exit_code, failed_node, message, is_snapshot_published, "
            "input_rows, snapshot_path from gold.pipeline_runs "
            "order by started_at desc, run_id desc limit 1"
        ).fetchall()[0]
    finally:
        con.close()
    assert row == (
        "input_rejected",
        3,
        "stg_input__validated",
        f"Invalid Input Error: input file {missing}: file not found",
        False,
        None,
        None,
    )

    usage = run(pipeline, ["--no-such-option"])
    assert usage.returncode == runner.EXIT_CONFIG, usage.stdout[-3000:]
    assert digest(pipeline.published) == before


def test_sigterm_stops_the_run_and_publishes_nothing(pipeline):
    """What Airflow does to a task it stops: the run ends with 143, its row says
    interrupted, dbt is gone and the snapshot is untouched."""
    before = digest(pipeline.published)
    process = start(pipeline, SMALL)
    try:
        wait_for_line(process, "START sql table model")
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=120)[0]
    finally:
        process.kill()
    assert process.returncode == 143, output[-3000:]
    wait_for_lock(pipeline.lock, seconds=5)  # dbt is gone with the runner
    assert digest(pipeline.published) == before
    con = duckdb.connect(str(pipeline.db_path), read_only=True)
    try:
        row = con.execute(
            "select status, exit_code, message, is_snapshot_published "
            "from gold.pipeline_runs order by started_at desc, run_id desc limit 1"
        ).fetchall()[0]
    finally:
        con.close()
    assert row == ("interrupted", 143, "interrupted by SIGTERM", False)
