"""One scheduled pipeline run: lock, dbt build, record, publish.

``python -m clv_warehouse.cli run [dbt build options...]`` is what cron, Airflow
or Dagster call. It

1. takes the run lock (``flock`` on ``state/run.lock``; ``CLV_RUN_LOCK`` moves
   it), so two scheduled runs never overlap,
2. checks that no other process holds the build's DuckDB file open,
3. runs ``dbt build`` with the options given, its output streamed as dbt prints it,
4. reads ``run_results.json`` to classify the outcome (exit codes below),
5. records one row in ``gold.pipeline_runs`` in the build warehouse,
6. after a successful build, publishes the read-only snapshot BI reads
   (``clv_warehouse.publish``); the run's own row is inside it.

Exit codes, for a scheduler to act on (status = gold.pipeline_runs.status):

- 0 success: built, tested and published.
- 1 failed: a model or a test failed. Alert.
- 2 config_error: bad options or project (dbt could not parse or start). Alert;
  retrying will not help.
- 3 input_rejected: the input file is unusable (stg_input__validated) or too
  short to train on (ml_training_readiness). Alert whoever owns the data.
- 4 (no row): another run holds the run lock. Skip this run or retry later.
- 5 (no row): another process has the build's warehouse file open. Retry later;
  alert if it repeats: BI must read the published copy, never the build file.
- 6 publish_failed: the build succeeded but the snapshot was not replaced. Alert;
  BI keeps the previous snapshot.
- 130 / 143 interrupted: SIGINT / SIGTERM.

Every run that got the warehouse writes a row; a run refused at the door (4, 5)
only prints one line. A run killed with ``kill -9`` cannot write its row: it stays
listed in the lock file, and the next run records it as ``abandoned``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from clv_warehouse import publish

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_INPUT_REJECTED = 3
EXIT_RUN_IN_PROGRESS = 4
EXIT_WAREHOUSE_LOCKED = 5
EXIT_PUBLISH_FAILED = 6

RUN_LOCK_ENV = "CLV_RUN_LOCK"
DEFAULT_RUN_LOCK = "state/run.lock"
PROJECT = "clv_warehouse"
# Models that stop the build on purpose when the input cannot be used.
INPUT_GATES = (
    f"model.{PROJECT}.stg_input__validated",
    f"model.{PROJECT}.ml_training_readiness",
)
LANDED_NODE = f"model.{PROJECT}.stg_input__landed_lines"
QUARANTINED_NODE = f"model.{PROJECT}.int_lines_quarantined"
LOCK_ERROR = "Could not set lock on file"
STOP_GRACE_SECONDS = 30  # after SIGINT/SIGTERM, dbt gets this long to stop

RUNS_TABLE = "gold.pipeline_runs"
RUNS_DDL = f"""
create schema if not exists gold;
create table if not exists {RUNS_TABLE} (
    run_id varchar,
    dbt_invocation_id varchar,
    status varchar,
    failed_node varchar,
    message varchar,
    retrained_models varchar,
    snapshot_path varchar,
    dbt_command varchar,
    exit_code integer,
    input_rows bigint,
    quarantined_rows bigint,
    models_retrained integer,
    duration_seconds double,
    is_snapshot_published boolean,
    started_at timestamp,
    ended_at timestamp
)
"""
RUN_COLUMNS = (
    "run_id",
    "dbt_invocation_id",
    "status",
    "failed_node",
    "message",
    "retrained_models",
    "snapshot_path",
    "dbt_command",
    "exit_code",
    "input_rows",
    "quarantined_rows",
    "models_retrained",
    "duration_seconds",
    "is_snapshot_published",
    "started_at",
    "ended_at",
)


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    status: str
    failed_node: str | None = None
    message: str | None = None


# ---------------------------------------------------------------- classification

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TIMESTAMP = re.compile(r"^\d\d:\d\d:\d\d\s+")
_ERROR_HEADER = re.compile(r"^(\w+ )*Error in (model|test|seed|snapshot|unit_test)\b")


def _clean(line: str) -> str:
    return _TIMESTAMP.sub("", _ANSI.sub("", line)).strip()


def one_line(message: str | None, limit: int = 500) -> str:
    """dbt's multi-line node message as one line: the error itself, not the
    'Runtime Error in model x (path)' header above it."""
    lines = [_clean(line) for line in (message or "").splitlines()]
    lines = [line for line in lines if line]
    body = [line for line in lines if not _ERROR_HEADER.match(line)]
    text = (body or lines or [""])[0]
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _short(unique_id: str) -> str:
    parts = unique_id.split(".")
    return parts[2] if len(parts) > 2 else unique_id


def _output_error(output: str) -> str:
    """The line of dbt's console output that says what went wrong."""
    lines = [_clean(line) for line in output.splitlines()]
    for line in reversed(lines):
        if LOCK_ERROR in line:
            return line[line.find("IO Error") :] if "IO Error" in line else line
    for line in reversed(lines):
        if "Error" in line and not line.startswith(("File ", "Traceback")):
            return one_line(line)
    return next((line for line in reversed(lines) if line), "")


def classify(dbt_exit: int, run_results: dict | None, output: str = "") -> Outcome:
    """Map dbt's exit code, run_results.json and console output to an Outcome."""
    results = (run_results or {}).get("results") or []
    messages = "\n".join(str(r.get("message") or "") for r in results)
    if LOCK_ERROR in output or LOCK_ERROR in messages:
        return Outcome(
            EXIT_WAREHOUSE_LOCKED, "warehouse_locked", None, _output_error(output)
        )
    if dbt_exit == 0:
        return Outcome(EXIT_OK, "success")
    if dbt_exit < 0:
        name = signal.Signals(-dbt_exit).name
        return Outcome(EXIT_FAILED, "failed", None, f"dbt was killed by {name}")
    failed = [r for r in results if r.get("status") in ("error", "fail")]
    if failed:
        gates = [r for r in failed if r["unique_id"] in INPUT_GATES]
        first = (gates or failed)[0]
        node = _short(first["unique_id"])
        message = one_line(first.get("message"))
        if gates:
            return Outcome(EXIT_INPUT_REJECTED, "input_rejected", node, message)
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        return Outcome(EXIT_FAILED, "failed", node, f"{message}{more}")
    if results and dbt_exit == 1:
        return Outcome(EXIT_FAILED, "failed", None, _output_error(output))
    return Outcome(EXIT_CONFIG, "config_error", None, _output_error(output))


# ---------------------------------------------------------------- the run lock


class RunInProgress(Exception):
    """Another run holds the run lock."""


def _read_state(fd: int) -> dict:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = b""
    while chunk := os.read(fd, 1 << 16):
        raw += chunk
    try:
        state = json.loads(raw or b"{}")
    except ValueError:
        state = {}
    return state if isinstance(state, dict) else {}


def _write_state(fd: int, state: dict) -> None:
    data = json.dumps(state, default=str, indent=1).encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)
    os.fsync(fd)


@contextlib.contextmanager
def run_lock(path: Path):
    """Hold an exclusive flock on ``path`` for the run, or raise RunInProgress.

    The file also holds the runs not yet written to gold.pipeline_runs (JSON):
    the current one, and any run killed before it could record itself.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            current = _read_state(fd).get("runs") or [{}]
            holder = current[-1]
            raise RunInProgress(
                f"another run is in progress (run {holder.get('run_id', '?')}, "
                f"pid {holder.get('pid', '?')}, since {holder.get('started_at', '?')})"
            ) from None
        yield fd
    finally:
        os.close(fd)


# ---------------------------------------------------------------- the warehouse


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _model_versions(con) -> dict[str, str]:
    """mlflow_run_id -> 'task vN' for every version in the ml registry tables."""
    tables = con.execute(
        """
        select table_schema, table_name from information_schema.columns
        where table_schema = 'ml' and table_name like 'ml\\_%\\_model\\_versions'
            escape '\\' and column_name = 'mlflow_run_id'
        """
    ).fetchall()
    versions = {}
    for schema, name in tables:
        rows = con.execute(
            f'select mlflow_run_id, task, version from "{schema}"."{name}"'
        ).fetchall()
        for run_id, task, version in rows:
            versions[str(run_id)] = f"{task} v{version}"
    return versions


def _relation(results: list[dict], unique_id: str) -> str | None:
    """The relation of a model, when this run built it (else None)."""
    for result in results:
        if result["unique_id"] == unique_id and result["status"] == "success":
            return result.get("relation_name")
    return None


def _landed_batch(con) -> int:
    """The last landed batch in the warehouse (0 when nothing was landed yet)."""
    found = con.execute(
        "select table_schema from information_schema.columns "
        "where table_name = 'stg_input__landed_lines' and column_name = 'landed_batch'"
    ).fetchall()
    if not found:
        return 0
    value = con.execute(
        f'select max(landed_batch) from "{found[0][0]}".stg_input__landed_lines'
    ).fetchall()[0][0]
    return int(value or 0)


def _last_run_succeeded(con) -> bool:
    """The latest recorded run ended in success (True when none is recorded:
    a first build writes, and so tests, every row)."""
    found = con.execute(
        "select table_schema from information_schema.tables "
        "where table_name = 'pipeline_runs'"
    ).fetchall()
    if not found:
        return True
    last = con.execute(
        f'select status from "{found[0][0]}".pipeline_runs '
        "order by started_at desc limit 1"
    ).fetchall()
    return not last or last[0][0] == "success"


def with_var(dbt_args: list[str], name: str, value) -> list[str]:
    """``dbt_args`` with ``name: value`` added to its --vars (either spelling;
    a var the caller already set is left as it is)."""
    import yaml

    args = list(dbt_args)
    for at, arg in enumerate(args):
        if arg.startswith("--vars=") or (arg == "--vars" and at + 1 < len(args)):
            text = arg.split("=", 1)[1] if arg != "--vars" else args[at + 1]
            given = yaml.safe_load(text) or {}
            if not isinstance(given, dict):
                raise ValueError(f"--vars must be a YAML mapping, got {text!r}")
            merged = json.dumps({name: value, **given})
            if arg == "--vars":
                args[at + 1] = merged
            else:
                args[at] = f"--vars={merged}"
            return args
    return [*args, "--vars", json.dumps({name: value})]


def _run_rows(con, results: list[dict], batch_before: int) -> tuple:
    """Raw rows this run landed (files of batches after ``batch_before``) and how
    many of them silver quarantined; (None, None) when this run landed nothing
    because its landing model did not run."""
    landed = _relation(results, LANDED_NODE)
    if not landed:
        return None, None
    input_rows = con.execute(
        f"select count(*) from {landed} where landed_batch > ?", [batch_before]
    ).fetchall()[0][0]
    quarantine = _relation(results, QUARANTINED_NODE)
    if not quarantine:
        return input_rows, None
    quarantined = con.execute(
        f"select count(*) from {quarantine} as quarantined "
        f"inner join {landed} as landed on quarantined.raw_row_id = landed.raw_row_id "
        "where landed.landed_batch > ?",
        [batch_before],
    ).fetchall()[0][0]
    return input_rows, quarantined


def record(con, row: dict) -> None:
    """Append one row to gold.pipeline_runs (created on first use)."""
    con.execute(RUNS_DDL)
    columns = ", ".join(RUN_COLUMNS)
    marks = ", ".join("?" for _ in RUN_COLUMNS)
    con.execute(
        f"insert into {RUNS_TABLE} ({columns}) values ({marks})",
        [row.get(column) for column in RUN_COLUMNS],
    )


def _connect(path: Path):
    import duckdb

    return duckdb.connect(str(path))


def _lock_message(path: Path, published: Path, error: str) -> str:
    holder = re.search(r"held in (.*?)\. However", error)
    who = f" by {holder.group(1)}" if holder else ""
    return (
        f"the warehouse {path} is open{who}: close it and retry; "
        f"BI must read the published copy {published}"
    )


# ---------------------------------------------------------------- dbt


def _option(dbt_args: list[str], *names: str) -> str | None:
    """The value of a dbt option given as `--name value` or `--name=value`."""
    for index, arg in enumerate(dbt_args):
        for name in names:
            if arg == name and index + 1 < len(dbt_args):
                return dbt_args[index + 1]
            if arg.startswith(f"{name}="):
                return arg.split("=", 1)[1]
    return None


def _target_path(dbt_args: list[str]) -> Path:
    configured = _option(dbt_args, "--target-path")
    return Path(configured or os.environ.get("DBT_TARGET_PATH", "target"))


def _dbt_target(dbt_args: list[str]) -> str:
    return _option(dbt_args, "--target", "-t") or "dev"


def _die_with_parent() -> None:
    """In the dbt child: be killed when the runner dies, even by kill -9."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class _Interrupted(Exception):
    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _Signals:
    """SIGINT/SIGTERM: the first is passed to dbt as SIGINT, so dbt can stop
    cleanly; a second signal, or dbt still running STOP_GRACE_SECONDS later,
    kills dbt. Outside dbt the run stops where it is."""

    def __init__(self):
        self.child: subprocess.Popen | None = None
        self.received: int | None = None
        self._previous = {}

    def __enter__(self):
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)
        self._previous[signal.SIGALRM] = signal.signal(signal.SIGALRM, self._kill)
        return self

    def __exit__(self, *exc):
        signal.alarm(0)
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _kill(self, signum=None, frame=None):
        child = self.child
        if child is not None and child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)

    def _handle(self, signum, frame):
        first = self.received is None
        self.received = self.received or signum
        child = self.child
        if child is not None and child.poll() is None:
            if first:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGINT)
                signal.alarm(STOP_GRACE_SECONDS)
            else:
                self._kill()
            return
        raise _Interrupted(signum)


def _run_dbt(
    dbt_args: list[str], lock_fd: int, signals: _Signals, out
) -> tuple[int, str]:
    """dbt build in its own process group (the runner forwards signals once),
    output streamed line by line; returns (exit code, last lines of output)."""
    dbt = Path(sys.executable).with_name("dbt")
    command = [str(dbt), "build", *dbt_args]
    print("==> " + " ".join(command), file=out, flush=True)
    tail: deque[str] = deque(maxlen=400)
    child = subprocess.Popen(
        command,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        bufsize=1,
        process_group=0,
        pass_fds=(lock_fd,),  # the run lock lives as long as dbt does
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )
    try:
        signals.child = child
        for line in child.stdout:
            out.write(line)
            out.flush()
            tail.append(line)
        status = child.wait()
    finally:
        signals.child = None
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    return status, "".join(tail)


def _read_run_results(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------- the run


def _published_run_ids(published: Path) -> set[str]:
    """Run ids in the published snapshot (empty when there is none)."""
    import duckdb

    try:
        con = duckdb.connect(str(published), read_only=True)
    except duckdb.Error:
        return set()
    try:
        rows = con.execute(f"select run_id from {RUNS_TABLE}").fetchall()
    except duckdb.Error:
        return set()
    finally:
        con.close()
    return {run_id for (run_id,) in rows}


def _settle(con, pending: list[dict], found_by: str, published: Path) -> None:
    """Write down the runs an earlier runner left in the lock file.

    stage ``running``: killed before it could record itself, a new row
    ``abandoned``; ``unrecorded``: it ended but could not write its row (the
    warehouse was locked), its row now; ``publishing``: its row says published
    but it was killed while publishing, so unless the snapshot holds it the row
    becomes ``abandoned``, not published.
    """
    con.execute(RUNS_DDL)
    recorded = {
        run_id
        for (run_id,) in con.execute(f"select run_id from {RUNS_TABLE}").fetchall()
    }
    for entry in pending:
        stage = entry.get("stage", "running")
        if stage != "publishing" and entry["run_id"] in recorded:
            continue  # it wrote its row, then died before clearing the lock file
        if stage == "unrecorded":
            record(con, entry)
        elif stage == "publishing":
            if entry["run_id"] in _published_run_ids(published):
                continue  # killed after the rename: it did publish
            con.execute(
                f"update {RUNS_TABLE} set status = 'abandoned', exit_code = null, "
                "is_snapshot_published = false, snapshot_path = null, message = ? "
                "where run_id = ?",
                [f"killed while publishing; found by run {found_by}", entry["run_id"]],
            )
        else:
            record(
                con,
                {
                    **entry,
                    "status": "abandoned",
                    "is_snapshot_published": False,
                    "message": "killed before it could record itself; "
                    f"found by run {found_by}",
                },
            )


def run(dbt_args: list[str], out=sys.stdout) -> int:
    """The whole run; returns the exit code (see the module doc)."""
    from clv_warehouse import cli

    started = _utc_now()
    clock = time.monotonic()
    run_id = f"{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    warehouse = cli.warehouse_path(_dbt_target(dbt_args))
    published = publish.default_path(warehouse)
    if published == warehouse:
        print(f"error: the publish path is the warehouse itself: {warehouse}", file=out)
        return EXIT_CONFIG
    lock_path = Path(os.environ.get(RUN_LOCK_ENV, DEFAULT_RUN_LOCK)).resolve()
    try:
        with run_lock(lock_path) as lock_fd, _Signals() as signals:
            try:
                return _locked_run(
                    dbt_args,
                    run_id=run_id,
                    started=started,
                    clock=clock,
                    warehouse=warehouse,
                    published=published,
                    lock_fd=lock_fd,
                    signals=signals,
                    out=out,
                )
            except _Interrupted as exc:  # between steps: the next run records it
                name = signal.Signals(exc.signum).name
                print(f"\nrun {run_id}: interrupted by {name}", file=out, flush=True)
                return 128 + exc.signum
    except RunInProgress as exc:
        print(f"error: {exc}; lock {lock_path}", file=out, flush=True)
        return EXIT_RUN_IN_PROGRESS


def _locked_run(
    dbt_args, *, run_id, started, clock, warehouse, published, lock_fd, signals, out
) -> int:
    import duckdb

    from clv_warehouse import cli

    state = _read_state(lock_fd)
    pending = [entry for entry in state.get("runs", []) if entry.get("run_id")]
    row = {
        "run_id": run_id,
        "pid": os.getpid(),
        "started_at": started,
        "dbt_command": shlex.join(["dbt", "build", *dbt_args]),
        "is_snapshot_published": False,
    }

    versions_before: dict[str, str] = {}
    batch_before = 0  # rows of later batches are this run's input
    if warehouse.exists():
        try:
            con = _connect(warehouse)
        except duckdb.Error as exc:
            if LOCK_ERROR in str(exc):
                message = _lock_message(warehouse, published, str(exc))
                print(f"error: {message}", file=out, flush=True)
                return EXIT_WAREHOUSE_LOCKED
            print(f"error: cannot open {warehouse}: {one_line(str(exc))}", file=out)
            return EXIT_CONFIG
        try:
            versions_before = _model_versions(con)
            if "--full-refresh" not in dbt_args:
                batch_before = _landed_batch(con)
            # data tests check the rows the latest build wrote; after a run
            # that failed or was killed, rows it wrote went unchecked
            recheck = pending or not _last_run_succeeded(con)
        finally:
            con.close()
        if recheck:
            print(
                "the last run did not succeed: data tests check every row "
                "(data_test_scope: all)",
                file=out,
                flush=True,
            )
            dbt_args = with_var(dbt_args, "data_test_scope", "all")
    _write_state(lock_fd, {"runs": [*pending, _entry(row, "running")]})

    run_results_path = _target_path(dbt_args) / "run_results.json"
    run_results_path.unlink(missing_ok=True)
    try:
        dbt_exit, output = _run_dbt(dbt_args, lock_fd, signals, out)
    except _Interrupted as exc:
        signals.received = exc.signum
        dbt_exit, output = 130, ""
    run_results = _read_run_results(run_results_path)
    if signals.received:
        outcome = Outcome(
            128 + signals.received,
            "interrupted",
            None,
            f"interrupted by {signal.Signals(signals.received).name}",
        )
    else:
        outcome = classify(dbt_exit, run_results, output)
    results = (run_results or {}).get("results") or []
    row.update(
        dbt_invocation_id=((run_results or {}).get("metadata") or {}).get(
            "invocation_id"
        ),
        status=outcome.status,
        exit_code=outcome.exit_code,
        failed_node=outcome.failed_node,
        message=outcome.message,
        ended_at=_utc_now(),
        duration_seconds=round(time.monotonic() - clock, 1),
    )
    if outcome.exit_code == EXIT_OK:
        row.update(is_snapshot_published=True, snapshot_path=str(published))

    if outcome.exit_code == EXIT_WAREHOUSE_LOCKED:
        message = _lock_message(warehouse, published, outcome.message or "")
        print(f"\nerror: {message}", file=out, flush=True)
        _write_state(lock_fd, {"runs": [*pending, _entry(row, "unrecorded")]})
        return EXIT_WAREHOUSE_LOCKED

    try:
        con = _connect(warehouse)
        try:
            row["input_rows"], row["quarantined_rows"] = _run_rows(
                con, results, batch_before
            )
            retrained = [
                name
                for run, name in _model_versions(con).items()
                if run not in versions_before
            ]
            row["models_retrained"] = len(retrained)
            row["retrained_models"] = ", ".join(sorted(retrained)) or None
            _settle(con, pending, run_id, published)
            record(con, row)
            con.execute("checkpoint")
        finally:
            con.close()
    except duckdb.Error as exc:
        print(
            f"\nwarning: run {run_id} not recorded in {RUNS_TABLE}: "
            f"{one_line(str(exc))}",
            file=out,
            flush=True,
        )
        _write_state(lock_fd, {"runs": [*pending, _entry(row, "unrecorded")]})
        return outcome.exit_code
    # until the snapshot is renamed into place the row's "published" is a promise
    publishing = outcome.exit_code == EXIT_OK
    _write_state(lock_fd, {"runs": [_entry(row, "publishing")] if publishing else []})

    seconds = time.monotonic() - clock
    if outcome.exit_code != EXIT_OK:
        where = f" at {outcome.failed_node}" if outcome.failed_node else ""
        print(
            f"\nrun {run_id}: {outcome.status}{where} (exit {outcome.exit_code}) "
            f"after {seconds:.1f} s: {outcome.message}\n"
            f"the published snapshot was not replaced: {published}",
            file=out,
            flush=True,
        )
        return outcome.exit_code

    try:
        snapshot = publish.publish(warehouse, published)
    except (publish.PublishError, OSError, duckdb.Error) as exc:
        message = f"publish failed: {one_line(str(exc))}"
        _mark_unpublished(
            warehouse, run_id, "publish_failed", EXIT_PUBLISH_FAILED, message, out
        )
        _write_state(lock_fd, {"runs": []})
        print(
            f"\nrun {run_id}: {message} (exit {EXIT_PUBLISH_FAILED}); "
            f"BI keeps the previous snapshot {published}",
            file=out,
            flush=True,
        )
        return EXIT_PUBLISH_FAILED
    except _Interrupted as exc:
        message = f"interrupted by {signal.Signals(exc.signum).name} while publishing"
        _mark_unpublished(
            warehouse, run_id, "interrupted", 128 + exc.signum, message, out
        )
        _write_state(lock_fd, {"runs": []})
        print(f"\nrun {run_id}: {message}", file=out, flush=True)
        return 128 + exc.signum
    _write_state(lock_fd, {"runs": []})
    print(
        f"\nrun {run_id}: success in {time.monotonic() - clock:.1f} s; published "
        f"{snapshot.size_bytes / 1e6:,.1f} MB in {snapshot.seconds:.2f} s "
        f"to {published}",
        file=out,
        flush=True,
    )
    cli.summarize(published, out=out)
    return EXIT_OK


def _mark_unpublished(
    warehouse: Path, run_id: str, status: str, exit_code: int, message: str, out
) -> None:
    """The run's row said published; the publish did not happen after all."""
    import duckdb

    try:
        con = _connect(warehouse)
        try:
            con.execute(
                f"update {RUNS_TABLE} set status = ?, exit_code = ?, message = ?, "
                "is_snapshot_published = false, snapshot_path = null "
                "where run_id = ?",
                [status, exit_code, message, run_id],
            )
        finally:
            con.close()
    except duckdb.Error as exc:
        print(f"warning: could not record the failed publish: {exc}", file=out)


def _entry(row: dict, stage: str) -> dict:
    """A run as the lock file keeps it until it is settled in pipeline_runs."""
    entry = {
        key: value.isoformat(sep=" ") if isinstance(value, datetime) else value
        for key, value in row.items()
        if key in RUN_COLUMNS or key == "pid"
    }
    return {**entry, "stage": stage}
