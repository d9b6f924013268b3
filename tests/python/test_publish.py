"""Publishing for BI on small real DuckDB files: atomic, read-only, crash-safe."""

from __future__ import annotations

import hashlib
import os
import signal
import stat
import subprocess
import sys
import textwrap

import duckdb
import pytest

from clv_warehouse import publish, runner


def make_warehouse(path, run_id: str, rows: int = 400_000) -> None:
    """A warehouse-shaped file: gold and ml tables, scoring macros, a run row.
    Random doubles do not compress, so the file is a few MB."""
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists gold; create schema if not exists ml")
        con.execute(
            "create or replace table ml.ml_scoring_features as "
            "select range as customer_id, random() * 400 as recency_days "
            f"from range({rows})"
        )
        con.execute(
            "create or replace table gold.customer_churn_predictions as "
            f"select customer_id, '{run_id}' as run_id from ml.ml_scoring_features"
        )
        con.execute(
            "create or replace macro predict_churn(recency_days) as "
            "1 / (1 + exp(3 - recency_days / 60))"
        )
        con.execute(
            "create or replace macro predict_churn_table(tbl) as table "
            "select customer_id, predict_churn(recency_days) as probability "
            "from query_table(tbl)"
        )
        runner.record(con, {"run_id": run_id, "status": "success", "exit_code": 0})
    finally:
        con.close()


def last_run(path) -> str:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(
            "select run_id from gold.pipeline_runs order by run_id desc limit 1"
        ).fetchall()[0][0]
    finally:
        con.close()


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def temps(target) -> list:
    return sorted(target.parent.glob(f".{target.name}.*"))


@pytest.fixture
def files(tmp_path):
    source = tmp_path / "build" / "warehouse.duckdb"
    source.parent.mkdir()
    target = tmp_path / "published" / "warehouse.duckdb"
    return source, target


def test_snapshot_holds_every_table_and_macro_and_is_read_only(files):
    source, target = files
    make_warehouse(source, "run-1")
    snapshot = publish.publish(source, target)
    assert snapshot.path == target.resolve()
    assert snapshot.size_bytes == target.stat().st_size
    assert snapshot.contents.tables["gold.customer_churn_predictions"] == 400_000
    assert snapshot.contents.tables["gold.pipeline_runs"] == 1
    assert {"main.predict_churn", "main.predict_churn_table"} <= set(
        snapshot.contents.macros
    )
    assert stat.S_IMODE(target.stat().st_mode) == 0o444
    assert temps(target) == []
    con = duckdb.connect(str(target), read_only=True)
    try:
        assert publish.read_contents(con) == snapshot.contents
        rows, average = con.execute(
            "select count(*), avg(probability) "
            "from predict_churn_table(ml.ml_scoring_features)"
        ).fetchall()[0]
    finally:
        con.close()
    assert rows == 400_000
    assert 0 < average < 1
    assert not os.path.exists(f"{target}.wal")


def test_default_path_is_beside_the_build_file_unless_configured(tmp_path, monkeypatch):
    monkeypatch.delenv(publish.PUBLISH_PATH_ENV, raising=False)
    build = tmp_path / "warehouse" / "clv_warehouse.duckdb"
    assert publish.default_path(build) == (
        tmp_path / "warehouse" / "published" / "clv_warehouse.duckdb"
    )
    monkeypatch.setenv(publish.PUBLISH_PATH_ENV, str(tmp_path / "bi" / "clv.duckdb"))
    assert publish.default_path(build) == tmp_path / "bi" / "clv.duckdb"


READER = textwrap.dedent(
    """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    query = "select max(run_id), count(*) from gold.pipeline_runs"
    print(*con.execute(query).fetchall()[0], flush=True)
    sys.stdin.readline()  # the test publishes a new snapshot meanwhile
    print(*con.execute(query).fetchall()[0], flush=True)
    total = con.execute("select count(*) from gold.customer_churn_predictions")
    print(total.fetchall()[0][0], flush=True)
    """
)


def test_a_reader_holding_the_snapshot_open_neither_blocks_nor_breaks(files):
    """POSIX rename: the open reader keeps its file, new readers get the new one."""
    source, target = files
    make_warehouse(source, "run-1")
    publish.publish(source, target)
    reader = subprocess.Popen(
        [sys.executable, "-I", "-c", READER, str(target)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().split() == ["run-1", "1"]
        make_warehouse(source, "run-2", rows=1000)
        publish.publish(source, target)
        assert last_run(target) == "run-2"
        out, err = reader.communicate("go\n", timeout=60)
    finally:
        reader.kill()
    assert reader.returncode == 0, err
    assert out.split() == ["run-1", "1", "400000"]


PUBLISHER = (
    "import sys; from clv_warehouse import publish; publish.publish(*sys.argv[1:])"
)


@pytest.mark.parametrize("step", ["before_copy", "mid_copy", "before_rename"])
def test_kill_9_while_publishing_leaves_the_last_snapshot(files, step):
    source, target = files
    make_warehouse(source, "run-1")
    publish.publish(source, target)
    before = digest(target)
    make_warehouse(source, "run-2")
    env = dict(
        os.environ,
        CLV_PUBLISH_PAUSE_AT=step,
        CLV_PUBLISH_PAUSE_SECONDS="60",
        PYTHONUNBUFFERED="1",
    )
    publisher = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, str(source), str(target)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        line = publisher.stdout.readline()
        assert f"paused at {step}" in line, line + publisher.stdout.read()
        os.kill(publisher.pid, signal.SIGKILL)
        publisher.wait(timeout=30)
    finally:
        publisher.kill()
    assert digest(target) == before
    assert last_run(target) == "run-1"
    left = temps(target)
    if step == "before_copy":
        assert left == []
    else:
        assert len(left) == 1
        if step == "mid_copy":
            assert 0 < left[0].stat().st_size < source.stat().st_size
    publish.publish(source, target)
    assert temps(target) == []
    assert last_run(target) == "run-2"


def test_stale_temporary_files_go_but_a_live_publish_keeps_its_own(files):
    _, target = files
    target.parent.mkdir()
    dead = publish.temp_path(target, pid=2**22 + 1)  # above Linux's pid_max
    live_process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"]
    )
    try:
        live = publish.temp_path(target, pid=live_process.pid)
        junk = target.parent / f".{target.name}.junk.tmp"
        other = target.parent / "other.duckdb"
        for path in (dead, live, junk, other):
            path.write_bytes(b"x")
        removed = publish.remove_stale_temps(target)
        assert sorted(removed) == sorted([dead, junk])
        assert live.exists() and other.exists()
    finally:
        live_process.kill()
        live_process.wait()


def test_publish_refuses_and_keeps_the_snapshot_when_it_cannot_read_the_build(
    files,
):
    source, target = files
    make_warehouse(source, "run-1")
    publish.publish(source, target)
    before = digest(target)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, duckdb; c = duckdb.connect(sys.argv[1]); "
            "print('open', flush=True); time.sleep(60)",
            str(source),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(publish.PublishError, match="cannot open .*lock"):
            publish.publish(source, target)
    finally:
        holder.kill()
        holder.wait()
    assert digest(target) == before
    assert temps(target) == []
    with pytest.raises(publish.PublishError, match="the build file itself"):
        publish.publish(source, source)
    with pytest.raises(publish.PublishError, match="no warehouse"):
        publish.publish(source.with_name("missing.duckdb"), target)
