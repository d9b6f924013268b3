"""Incremental build vs full rebuild, with one new day of data.

    .venv/bin/python bench/bench_incremental.py --lines 1000000 [--exclude-ml]

Generates N Online-Retail-II-shaped lines (seeded; cached in bench/data/), cuts
them into history and the last day (clv_warehouse.batches.split, with a few
late lines of older invoices and re-sent lines in the new day), builds the
history, copies the warehouse and its MLflow store, drops the new day into the
landing folder, and times, each from that same starting state:

1. the incremental `dbt build` that lands and processes the new day;
2. the same build again with no new file (the floor of any incremental build:
   dbt's start-up, each node's overhead and the tables that stay full);
3. `dbt build --full-refresh` of the copy on the same files.

Each time is the whole dbt command (start-up, parse, models, tests). Prints both
and their ratio (the target: incremental < 10% of the full rebuild).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from clv_warehouse import batches

PROJECT = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).with_name("dbt")


def dbt(args: list[str], work: Path, landing: Path, label: str) -> float:
    """Run dbt on the warehouse, MLflow store and target folder in ``work``."""
    env = dict(
        os.environ,
        DBT_PROFILES_DIR="profiles",
        CLV_DUCKDB_PATH=str(work / "warehouse.duckdb"),
        CLV_MLFLOW_DIR=str(work / "mlflow"),
        DBT_TARGET_PATH=str(work / "target"),
        DBT_LOG_PATH=str(work / "logs"),
    )
    command = [str(DBT), *args, "--vars", f"{{input_path: '{landing}/*.parquet'}}"]
    started = time.perf_counter()
    result = subprocess.run(
        command, cwd=PROJECT, env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    log = work / (label.split(" (")[0].replace(" ", "_") + ".log")
    log.write_text(result.stdout + result.stderr)
    # keep this build's per-node timings: bench/profile_build.py --target <folder>
    kept = log.with_suffix(".target")
    kept.mkdir(exist_ok=True)
    for name in ("run_results.json", "manifest.json"):
        if (work / "target" / name).exists():
            shutil.copy(work / "target" / name, kept / name)
    if result.returncode != 0:
        sys.exit(f"{label} failed, see {log}")
    print(f"  {label}: {elapsed:.1f} s", flush=True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--exclude-ml", action="store_true", help="--exclude tag:ml+")
    # late lines change old invoices, hence the ML training rows: off by default
    # so that the benchmark times ingestion, not a retraining
    parser.add_argument("--late-share", type=float, default=0.0)
    parser.add_argument("--resend-share", type=float, default=0.0005)
    parser.add_argument(
        "--work", default=None, help="work folder (default bench/data/...)"
    )
    options = parser.parse_args()

    data = PROJECT / "bench" / "data"
    data.mkdir(parents=True, exist_ok=True)
    source = data / f"lines_{options.lines}.parquet"
    if not source.exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "clv_warehouse.generate",
                "--out",
                str(source),
                "--lines",
                str(options.lines),
                "--quiet",
            ],
            check=True,
        )
    suffix = "_noml" if options.exclude_ml else ""
    work = Path(options.work or data / f"incremental_{options.lines}{suffix}")
    shutil.rmtree(work, ignore_errors=True)
    (work / "batches").mkdir(parents=True)
    landing = work / "landing"
    landing.mkdir()

    last_day = duckdb.sql(
        f"select max(InvoiceDate)::date::varchar from read_parquet('{source}')"
    ).fetchall()[0][0]
    history, new_day = batches.split(
        str(source),
        str(work / "batches"),
        [last_day],
        late_share=options.late_share,
        resend_share=options.resend_share,
    )
    count = "select count(*) from read_parquet('{}')"
    history_lines = duckdb.sql(count.format(history.files[0])).fetchall()[0][0]
    new_lines = duckdb.sql(count.format(new_day.files[0])).fetchall()[0][0]
    print(
        f"{options.lines:,} lines requested; history {history_lines:,} lines, new "
        f"day {last_day}: {new_lines:,} lines (incl. late and re-sent lines)"
    )
    build = ["build", "--exclude", "tag:ml+"] if options.exclude_ml else ["build"]
    state = work / "incremental"
    state.mkdir()
    shutil.copy(history.files[0], landing)
    dbt(build, state, landing, "first build (history)")
    copy = work / "full"
    shutil.copytree(state, copy)
    shutil.copy(new_day.files[0], landing)
    incremental = dbt(build, state, landing, "incremental build (new day)")
    unchanged = dbt(build, state, landing, "build with no new file (the floor)")
    full = dbt([*build, "--full-refresh"], copy, landing, "full rebuild")
    print(
        f"incremental {incremental:.1f} s / full rebuild {full:.1f} s = "
        f"{incremental / full:.1%} (target < 10%)"
    )
    print(
        f"no new file {unchanged:.1f} s / full rebuild {full:.1f} s = "
        f"{unchanged / full:.1%}: what dbt start-up, every node's overhead and the "
        "tables that stay full cost before any new line is processed"
    )


if __name__ == "__main__":
    main()
