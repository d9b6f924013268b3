"""Publish the warehouse for BI: an atomic, read-only copy at a stable path.

DuckDB lets one process write a file, and any other process that holds it open,
even read-only, makes the next ``dbt build`` fail on the file lock. So BI never
opens the build's own file. After a successful build the runner calls
``publish``, which

1. checkpoints the build file (everything in the main file, no WAL),
2. opens it read-only, which also keeps writers out while it is copied, and
   lists every table with its row count and every macro,
3. copies it to a temporary file beside the published one
   (``.clv_warehouse.duckdb.<pid>.tmp``), fsyncs it and makes it read-only (0444),
4. opens the copy read-only and checks that it holds the same tables, row counts
   and macros (``predict_churn``, ...) as the build file,
5. renames the copy onto the published path (``os.replace``, atomic on POSIX) and
   fsyncs the folder.

A reader that has the old snapshot open keeps reading the old file: the rename
gives the path to the new file, and the old one lives on until its last reader
closes it. A reader never waits for a build and never sees a half-written file.
A build killed at any moment (even ``kill -9``) leaves the last snapshot as it
was, plus at worst a temporary file, which the next publish removes.

The whole file is published, not gold alone: it is one byte copy that equals
the build, the macros and the ``ml`` feature tables they score come along, and BI
can drill down to silver and the quarantine. The cost is size: on the bundled
sample 82 MB, where gold and ``ml`` alone would be 20 MB (README, "Publish for
BI"). A gold-only file would mean re-encoding every table and re-creating the
macros in it.

The published path is ``<build folder>/published/<build file name>``
(``warehouse/published/clv_warehouse.duckdb`` by default); ``CLV_PUBLISH_PATH``
overrides it. ``CLV_PUBLISH_PAUSE_AT`` (``before_copy``, ``mid_copy`` or
``before_rename``) makes publish stop for ``CLV_PUBLISH_PAUSE_SECONDS`` (60) at
that step: the crash tests kill the process there.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from clv_warehouse.errors import first_line

PUBLISH_PATH_ENV = "CLV_PUBLISH_PATH"
PAUSE_AT_ENV = "CLV_PUBLISH_PAUSE_AT"
PAUSE_SECONDS_ENV = "CLV_PUBLISH_PAUSE_SECONDS"
PAUSE_STEPS = ("before_copy", "mid_copy", "before_rename")
COPY_CHUNK = 64 << 20


class PublishError(RuntimeError):
    """The snapshot was not replaced; the message says why, in one line."""


@dataclass(frozen=True)
class Contents:
    """What a warehouse file holds: rows per table and its macros."""

    tables: dict[str, int]
    macros: tuple[str, ...]


@dataclass(frozen=True)
class Snapshot:
    path: Path
    size_bytes: int
    seconds: float
    contents: Contents


def default_path(build_path: Path) -> Path:
    """Where BI reads: CLV_PUBLISH_PATH, else <build folder>/published/<name>."""
    configured = os.environ.get(PUBLISH_PATH_ENV)
    if configured:
        return Path(configured).resolve()
    build_path = Path(build_path).resolve()
    return build_path.parent / "published" / build_path.name


def temp_path(target: Path, pid: int | None = None) -> Path:
    """The file a publish writes before renaming it onto ``target``."""
    return target.parent / f".{target.name}.{pid or os.getpid()}.tmp"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temps(target: Path) -> list[Path]:
    """Delete temporary files left by publishes that were killed."""
    removed = []
    prefix = f".{target.name}."
    if not target.parent.is_dir():
        return removed
    for path in target.parent.iterdir():
        name = path.name
        if not name.startswith(prefix) or ".tmp" not in name:
            continue
        pid_text = name[len(prefix) :].split(".", 1)[0]
        pid = int(pid_text) if pid_text.isdigit() else None
        if pid is not None and pid != os.getpid() and _pid_alive(pid):
            continue  # a publish running right now (it should hold the run lock)
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def read_contents(con) -> Contents:
    """Every table of the open database with its row count, and its macros."""
    tables = con.execute(
        """
        select schema_name, table_name from duckdb_tables()
        where database_name = current_database() and not internal and not temporary
        order by 1, 2
        """
    ).fetchall()
    counts = {}
    for schema, name in tables:
        rows = con.execute(f'select count(*) from "{schema}"."{name}"').fetchall()
        counts[f"{schema}.{name}"] = rows[0][0]
    macros = con.execute(
        """
        select distinct schema_name || '.' || function_name from duckdb_functions()
        where database_name = current_database() and not internal
            and function_type in ('macro', 'table_macro')
        order by 1
        """
    ).fetchall()
    return Contents(counts, tuple(name for (name,) in macros))


def _pause(step: str) -> None:
    if os.environ.get(PAUSE_AT_ENV) == step:
        seconds = float(os.environ.get(PAUSE_SECONDS_ENV, "60"))
        print(
            f"publish: paused at {step} for {seconds:g} s ({PAUSE_AT_ENV})", flush=True
        )
        time.sleep(seconds)


def _copy(source: Path, destination: Path) -> None:
    """Copy in the kernel (copy_file_range: a reflink where the file system can),
    fsync, and make the copy read-only."""
    size = source.stat().st_size
    chunk = min(COPY_CHUNK, max(size // 4, 1 << 20))
    paused = False
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    with open(source, "rb") as reader:
        fd = os.open(destination, flags, 0o644)
        try:
            copied = 0
            while copied < size:
                try:
                    step = os.copy_file_range(reader.fileno(), fd, chunk)
                except OSError:  # no copy_file_range here: plain read/write
                    reader.seek(copied)
                    step = os.write(fd, reader.read(chunk))
                if step == 0:
                    break
                copied += step
                if not paused and copied >= size // 2 and copied < size:
                    paused = True
                    _pause("mid_copy")
            if copied != size:
                raise PublishError(f"copied {copied} of {size} bytes of {source}")
            os.fsync(fd)
        finally:
            os.close(fd)
    os.chmod(destination, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(source: Path, target: Path | None = None) -> Snapshot:
    """Copy the build file ``source`` to ``target`` atomically; see the module doc.

    Raises PublishError (the previous snapshot untouched) when the build file
    cannot be opened, the copy fails, or the copy differs from the build file.
    """
    import duckdb

    started = time.monotonic()
    source = Path(source).resolve()
    target = Path(target).resolve() if target else default_path(source)
    if target == source:
        raise PublishError(f"the publish path is the build file itself: {source}")
    if not source.exists():
        raise PublishError(f"no warehouse to publish at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target)
    temporary = temp_path(target)
    try:
        try:
            con = duckdb.connect(str(source))
            con.execute("checkpoint")
            con.close()
            con = duckdb.connect(str(source), read_only=True)
        except duckdb.Error as exc:
            raise PublishError(f"cannot open {source}: {first_line(exc)}") from exc
        try:
            expected = read_contents(con)
            if Path(f"{source}.wal").exists():
                raise PublishError(f"{source}.wal remains after a checkpoint")
            _pause("before_copy")
            _copy(source, temporary)
        finally:
            con.close()
        try:
            copy = duckdb.connect(str(temporary), read_only=True)
            try:
                found = read_contents(copy)
            finally:
                copy.close()
        except duckdb.Error as exc:
            raise PublishError(f"the copy does not open: {first_line(exc)}") from exc
        if found != expected:
            missing = sorted(set(expected.tables) - set(found.tables))
            raise PublishError(
                "the copy differs from the build file"
                + (f" (missing {', '.join(missing[:5])})" if missing else "")
            )
        _pause("before_rename")
        os.replace(temporary, target)
        _fsync_dir(target.parent)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return Snapshot(target, target.stat().st_size, time.monotonic() - started, expected)
