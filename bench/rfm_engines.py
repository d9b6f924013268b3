"""One per-customer RFM + AWS simple CLV computation, by one engine, in one process.

The benchmark driver (``bench/run_bench.py``) runs this script once per engine as
a separate process and measures the whole process (wall time, peak memory), so
each engine pays its own start-up. Every engine reads the same Online-Retail-II
Parquet file and writes one row per customer to ``--out`` (Parquet) with the
same columns and the same definitions, which the driver then compares::

    customer_id   bigint  the "Customer ID" column
    recency_days  bigint  last purchase day in the data - customer's last purchase day
    frequency     bigint  distinct purchase days (same-day invoices count once)
    monetary      double  sum of Quantity * Price
    clv_simple    double  the AWS simple CLV formula:
                          monetary / frequency * (1 - (recency_days + 1) / 365)
                          / (1 + discount_rate)

over the lines with a customer, a purchase invoice (not ``C...``), a positive
quantity and a positive price. These are the project's conventions
(``int_customers_summarized_at_cutoffs``, ``macros/clv_heuristics.sql``).

Engines:

``duckdb``       the floor: one hand-written DuckDB query, Parquet to Parquet.
``project-sql``  the project's own compiled SQL (``int_customer_days_aggregated``
                 ... ``customer_rfm``, ``int_clv_heuristics_at_cutoffs``, from
                 ``dbt compile``), each model materialized as a table in an
                 in-memory DuckDB, on a view of the same filtered lines.
``pandas``       the same in pandas.
``spark``        the AWS reference approach: the same in PySpark, local mode.

Usage::

    .venv/bin/python bench/rfm_engines.py duckdb --input X.parquet --out rfm.parquet
    .venv/bin/python bench/rfm_engines.py project-sql --input X.parquet \\
        --compiled target_bench/compiled/clv_warehouse/models --out rfm.parquet
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

DISCOUNT_RATE = 0.1  # dbt var clv_discount_rate (dbt_project.yml)
THREADS = 2

# Models of the project's RFM/CLV SQL, in dependency order (compiled by dbt).
PROJECT_MODELS = (
    "int_customer_days_aggregated",
    "int_cutoffs",
    "int_customers_summarized_at_cutoffs",
    "int_retention_at_cutoffs",
    "int_clv_heuristics_at_cutoffs",
    "customer_rfm",
)
SEED = Path(__file__).resolve().parents[1] / "seeds" / "rfm_segments.csv"
_RELATION = re.compile(r'"[^"]+"\."(\w+)"\."(\w+)"')


def _sql_string(value: str | Path) -> str:
    return "'" + str(value).replace("'", "''") + "'"


FLOOR_SQL = """
copy (
    with

    lines as (
        select
            cast("Customer ID" as bigint) as customer_id,
            cast(InvoiceDate as date) as purchase_date,
            Quantity * Price as amount
        from read_parquet({input})
        where
            "Customer ID" is not null
            and not starts_with(Invoice, 'C')
            and Quantity > 0
            and Price > 0
    ),

    customers as (
        select
            customer_id,
            max(purchase_date) as last_purchase_date,
            count(distinct purchase_date) as frequency,
            sum(amount) as monetary
        from lines
        group by customer_id
    ),

    rfm as (
        select
            customers.customer_id,
            cast(max(last_purchase_date) over () - last_purchase_date as bigint)
                as recency_days,
            customers.frequency,
            customers.monetary
        from customers
    )

    select
        customer_id,
        recency_days,
        frequency,
        monetary,
        monetary / frequency * (1 - (recency_days + 1) / 365.0)
            / (1 + {discount_rate}) as clv_simple
    from rfm
) to {out} (format parquet)
"""

# The cleaned-lines contract the project's RFM SQL reads, on the same filter.
PROJECT_LINES_VIEW = """
create view silver.int_lines_cleaned as
select
    cast("Customer ID" as bigint) as customer_id,
    InvoiceDate as invoiced_at,
    'sale' as line_type,
    Invoice as invoice_id,
    Quantity as quantity,
    Quantity * Price as line_amount,
    1 as refreshed_batch  -- the incremental models' bookkeeping column
from read_parquet({input})
where
    "Customer ID" is not null
    and not starts_with(Invoice, 'C')
    and Quantity > 0
    and Price > 0
"""

PROJECT_RESULT_SQL = """
copy (
    select
        rfm.customer_id,
        cast(rfm.recency_days as bigint) as recency_days,
        cast(rfm.frequency as bigint) as frequency,
        cast(rfm.monetary_value as double) as monetary,
        heuristics.clv_simple_heuristic as clv_simple
    from gold.customer_rfm as rfm
    inner join silver.int_clv_heuristics_at_cutoffs as heuristics
        on
            rfm.customer_id = heuristics.customer_id
            and heuristics.cutoff_id = 'scoring'
) to {out} (format parquet)
"""


def compiled_models(compiled_dir: Path) -> list[tuple[str, str, str]]:
    """(schema, name, SQL) per project model, relations rewritten to schema.name."""
    found = {
        p.stem: p for p in compiled_dir.rglob("*.sql") if p.parent.suffix != ".yml"
    }
    missing = [m for m in PROJECT_MODELS if m not in found]
    if missing:
        raise SystemExit(f"{compiled_dir}: no compiled SQL for {', '.join(missing)}")
    out = []
    for name in PROJECT_MODELS:
        sql = _RELATION.sub(r"\1.\2", found[name].read_text())
        out.append(("gold" if name == "customer_rfm" else "silver", name, sql))
    return out


def _connect():
    """In-memory DuckDB; BENCH_DUCKDB_MEMORY_LIMIT / _TEMP_DIR set the spilling."""
    import duckdb

    config = {"threads": THREADS}
    if os.environ.get("BENCH_DUCKDB_MEMORY_LIMIT"):
        config["memory_limit"] = os.environ["BENCH_DUCKDB_MEMORY_LIMIT"]
    if os.environ.get("BENCH_DUCKDB_TEMP_DIR"):
        config["temp_directory"] = os.environ["BENCH_DUCKDB_TEMP_DIR"]
    return duckdb.connect(config=config)


def run_duckdb(args: argparse.Namespace) -> None:
    con = _connect()
    con.execute(
        FLOOR_SQL.format(
            input=_sql_string(args.input),
            out=_sql_string(args.out),
            discount_rate=DISCOUNT_RATE,
        )
    ).fetchall()


def run_project_sql(args: argparse.Namespace) -> None:
    models = compiled_models(Path(args.compiled))
    con = _connect()
    schemas = {"silver", "gold", "reference"}
    for schema in sorted(schemas):
        con.execute(f"create schema if not exists {schema}").fetchall()
    con.execute(PROJECT_LINES_VIEW.format(input=_sql_string(args.input))).fetchall()
    con.execute(
        "create table reference.rfm_segments as select * from read_csv("
        f"{_sql_string(SEED)}, header = true, columns = {{'recency_score': "
        "'integer', 'frequency_score': 'integer', 'segment_id': 'varchar', "
        "'segment_name': 'varchar', 'segment_description': 'varchar'})"
    ).fetchall()
    for schema, name, sql in models:
        con.execute(f"create table {schema}.{name} as {sql}").fetchall()
    con.execute(PROJECT_RESULT_SQL.format(out=_sql_string(args.out))).fetchall()


def run_pandas(args: argparse.Namespace) -> None:
    import pandas as pd

    columns = ["Invoice", "Quantity", "InvoiceDate", "Price", "Customer ID"]
    df = pd.read_parquet(args.input, columns=columns)
    keep = (
        df["Customer ID"].notna()
        & ~df["Invoice"].str.startswith("C")
        & (df["Quantity"] > 0)
        & (df["Price"] > 0)
    )
    df = df.loc[keep]
    lines = pd.DataFrame(
        {
            "customer_id": df["Customer ID"].astype("int64"),
            "purchase_date": df["InvoiceDate"].dt.normalize(),
            "amount": df["Quantity"] * df["Price"],
        }
    )
    del df
    customers = lines.groupby("customer_id").agg(
        last_purchase_date=("purchase_date", "max"),
        frequency=("purchase_date", "nunique"),
        monetary=("amount", "sum"),
    )
    end = customers["last_purchase_date"].max()
    customers["recency_days"] = (end - customers["last_purchase_date"]).dt.days
    customers["clv_simple"] = (
        customers["monetary"]
        / customers["frequency"]
        * (1 - (customers["recency_days"] + 1) / 365.0)
        / (1 + DISCOUNT_RATE)
    )
    result = customers.reset_index()[
        ["customer_id", "recency_days", "frequency", "monetary", "clv_simple"]
    ].astype({"recency_days": "int64", "frequency": "int64"})
    result.to_parquet(args.out, index=False)


def run_spark(args: argparse.Namespace) -> None:
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    scratch = Path(tempfile.mkdtemp(prefix="bench_spark_"))
    try:
        spark = (
            SparkSession.builder.master(f"local[{THREADS}]")
            .appName("rfm_clv_bench")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", str(args.spark_shuffle_partitions))
            .config("spark.driver.memory", args.spark_driver_memory)
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.warehouse.dir", str(scratch / "spark-warehouse"))
            .config("spark.local.dir", str(scratch / "local"))
            .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={scratch}")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        raw = spark.read.parquet(str(Path(args.input).resolve()))
        lines = raw.where(
            F.col("Customer ID").isNotNull()
            & ~F.col("Invoice").startswith("C")
            & (F.col("Quantity") > 0)
            & (F.col("Price") > 0)
        ).select(
            F.col("Customer ID").cast("bigint").alias("customer_id"),
            F.to_date("InvoiceDate").alias("purchase_date"),
            (F.col("Quantity") * F.col("Price")).alias("amount"),
        )
        customers = (
            lines.groupBy("customer_id")
            .agg(
                F.max("purchase_date").alias("last_purchase_date"),
                F.countDistinct("purchase_date").alias("frequency"),
                F.sum("amount").alias("monetary"),
            )
            .cache()
        )
        end = customers.agg(F.max("last_purchase_date")).first()[0]
        recency = F.datediff(F.lit(end), F.col("last_purchase_date"))
        result = customers.select(
            "customer_id",
            recency.cast("bigint").alias("recency_days"),
            F.col("frequency").cast("bigint").alias("frequency"),
            F.col("monetary").cast("double").alias("monetary"),
            (
                F.col("monetary")
                / F.col("frequency")
                * (1 - (recency + 1) / F.lit(365.0))
                / F.lit(1 + DISCOUNT_RATE)
            ).alias("clv_simple"),
        )
        out = Path(args.out)
        if out.exists():
            shutil.rmtree(out) if out.is_dir() else out.unlink()
        result.coalesce(1).write.parquet(str(out.resolve()))
        spark.stop()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


ENGINES = {
    "duckdb": run_duckdb,
    "project-sql": run_project_sql,
    "pandas": run_pandas,
    "spark": run_spark,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("engine", choices=sorted(ENGINES))
    parser.add_argument("--input", required=True, type=Path, help="Parquet file")
    parser.add_argument(
        "--out", required=True, type=Path, help="per-customer Parquet output"
    )
    parser.add_argument(
        "--compiled", help="project-sql: folder holding the dbt-compiled models"
    )
    parser.add_argument("--spark-driver-memory", default="4g")
    parser.add_argument("--spark-shuffle-partitions", type=int, default=4)
    args = parser.parse_args(argv)
    if args.engine == "project-sql" and not args.compiled:
        parser.error("project-sql needs --compiled")
    t0 = time.perf_counter()
    ENGINES[args.engine](args)
    print(f"{args.engine}: {time.perf_counter() - t0:.2f} s inside the process")
    return 0


if __name__ == "__main__":
    sys.exit(main())
