"""Command line behind `make run`: build the warehouse, then say what it holds.

    python -m clv_warehouse.cli run [dbt build options...]
    python -m clv_warehouse.cli build [dbt build options...]
    python -m clv_warehouse.cli summary [--path FILE]

`run` is the scheduled pipeline run (`make run`, cron, Airflow, Dagster): it
takes the run lock, runs `dbt build` (output streamed as dbt prints it), records
the run in gold.pipeline_runs and, when the build succeeded, publishes the
read-only snapshot BI reads (warehouse/published/clv_warehouse.duckdb;
CLV_PUBLISH_PATH overrides). Its exit codes:

    0 success                 4 another run in progress (run lock held)
    1 a model or test failed  5 the warehouse file is open in another process
    2 bad options or project  6 build ok, publish failed (old snapshot kept)
    3 input rejected          130 / 143 interrupted (SIGINT / SIGTERM)

`clv_warehouse.runner` says more. `build` is `dbt build` and a summary, nothing
else: no lock, no run record, no publish; its exit code is dbt's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_PATH = "warehouse/clv_warehouse.duckdb"


def warehouse_path(target: str = "dev") -> Path:
    """The DuckDB file the profile writes to (CLV_DUCKDB_PATH overrides)."""
    default = "warehouse/ci.duckdb" if target == "ci" else DEFAULT_PATH
    return Path(os.environ.get("CLV_DUCKDB_PATH", default)).resolve()


def summarize(path: Path, out=sys.stdout) -> None:
    """Print the gold tables with their row counts and a few headline figures."""
    import duckdb

    if not path.exists():
        print(f"no warehouse at {path}: run `make run` first", file=out)
        return
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = con.execute(
            """
            select table_schema, table_name
            from information_schema.tables
            where table_schema = 'gold'
            order by table_name
            """
        ).fetchall()
        print(f"\nWarehouse: {path}", file=out)
        print("Open it read-only from any DuckDB client, e.g.", file=out)
        print(f'  duckdb -readonly {path} "from gold.dim_customers limit 5"', file=out)
        print("\nGold tables:", file=out)
        for schema, name in tables:
            count = con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()
            print(f"  {schema}.{name:<36} {count[0]:>12,} rows", file=out)
        names = {
            f"{schema}.{name}"
            for schema, name in con.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
        reconciled = (
            "staging.stg_input__landed_lines",
            "silver.int_lines_cleaned",
            "silver.int_lines_quarantined",
        )
        if set(reconciled) <= names:
            landed, clean, quarantined = (
                con.execute(f"select count(*) from {name}").fetchone()[0]
                for name in reconciled
            )
            print(
                f"\nRaw rows {landed:,} = clean lines {clean:,} "
                f"+ quarantined {quarantined:,}",
                file=out,
            )
    finally:
        con.close()


METRIC_ORDER = [
    "customers",
    "count_mae",
    "count_rmse",
    "total_purchases_predicted",
    "total_purchases_actual",
    "total_purchases_pct_error",
    "spend_mae",
    "spend_rmse",
    "top10_revenue_share",
    "top10_customer_recall",
    "churn_auc",
]


def backtest_report(path: Path, out=sys.stdout) -> None:
    """Print gold.clv_backtest_metrics as a metric x method table with grades."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        frame = con.execute(
            "select dataset, backtest_cutoff::varchar as backtest_cutoff, "
            "backtest_holdout_end::varchar as backtest_holdout_end, method, metric, "
            "value, grade from gold.clv_backtest_metrics"
        ).df()
    finally:
        con.close()
    if frame.empty:
        print("clv_backtest_metrics is empty", file=out)
        return
    first = frame.iloc[0]
    print(
        f"\nBacktest on {first['dataset']}: history before {first['backtest_cutoff']}"
        f", holdout {first['backtest_cutoff']} .. {first['backtest_holdout_end']}",
        file=out,
    )
    table = frame.pivot(index="metric", columns="method", values="value")
    order = [m for m in METRIC_ORDER if m in table.index]
    table = table.loc[order + [m for m in table.index if m not in order]]
    table = table.map(lambda v: "-" if v != v else f"{v:,.3f}")
    grades = frame.groupby("method")["grade"].first().fillna("baseline")
    table.loc["grade vs naive_rate"] = grades.reindex(table.columns)
    print(table.to_string(), file=out)


def _build(dbt_args: list[str]) -> int:
    dbt = Path(sys.executable).with_name("dbt")
    command = [str(dbt), "build", *dbt_args]
    started = time.monotonic()
    print("==> " + " ".join(command), flush=True)
    status = subprocess.call(command)
    elapsed = time.monotonic() - started
    if status != 0:
        print(f"\ndbt build failed (exit {status}) after {elapsed:.1f} s", flush=True)
        return status
    print(f"\ndbt build finished in {elapsed:.1f} s")
    target = "dev"
    if "--target" in dbt_args:
        target = dbt_args[dbt_args.index("--target") + 1]
    summarize(warehouse_path(target))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="clv-warehouse", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "run", help="the scheduled run: lock, dbt build, record, publish for BI"
    )
    commands.add_parser("build", help="dbt build, then a summary of gold")
    summary = commands.add_parser("summary", help="what the warehouse holds")
    summary.add_argument("--path", type=Path, default=None)
    report = commands.add_parser("backtest-report", help="print clv_backtest_metrics")
    report.add_argument("--path", type=Path, default=None)
    args, rest = parser.parse_known_args(argv)
    if args.command == "run":
        from clv_warehouse import runner

        return runner.run(rest)
    if args.command == "build":
        return _build(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "backtest-report":
        backtest_report(args.path or warehouse_path())
        return 0
    summarize(args.path or warehouse_path())
    return 0


if __name__ == "__main__":
    sys.exit(main())
