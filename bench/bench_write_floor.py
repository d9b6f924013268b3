"""What writing every line costs: the floor under the marts build (step b).

    .venv/bin/python bench/bench_write_floor.py \
        --input data/bench/10M/online_retail_ii_10M.parquet \
        [--threads 2] [--work /tmp/clv_write_floor]

The marts build lands every raw line as text in bronze and writes every clean
line again, typed, in silver. This times, each in a fresh DuckDB file with
``--threads`` threads, on the benchmark's Parquet file:

* ``read``: reading the columns and casting them to text, no write (an
  aggregate over the casts);
* ``write text``: a table of the nine raw columns as text plus the row id (the
  shape bronze stores; the landing adds provenance columns on top);
* ``write typed``: the same columns as the Parquet types;
* ``write row id only``: one bigint column, the least a table of every line costs.

The sum of one text write and one typed write is what any design that keeps a
raw copy and a clean copy of every line pays before cleaning, testing, fitting
or dbt's start-up.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import duckdb

COLUMNS = {
    "Invoice": "invoice_id",
    "StockCode": "product_id",
    "Description": "description",
    "Quantity": "quantity",
    "Price": "unit_price",
    "InvoiceDate": "invoiced_at",
    "Customer ID": "customer_id",
    "Country": "country",
}


def statements(path: str) -> dict[str, str]:
    source = f"read_parquet('{path}', file_row_number = true)"
    row_id = "(file_row_number + 1)::bigint as raw_row_id"
    text = ", ".join(f'"{c}"::varchar as {name}' for c, name in COLUMNS.items())
    typed = ", ".join(f'"{c}" as {name}' for c, name in COLUMNS.items())
    maxima = ", ".join(f'max("{c}"::varchar)' for c in COLUMNS)
    return {
        "read": f"select count(*), {maxima} from {source}",
        "write text": f"create table t as select {row_id}, {text} from {source}",
        "write typed": f"create table t as select {row_id}, {typed} from {source}",
        "write row id only": f"create table t as select {row_id} from {source}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="Online-Retail-II Parquet")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", default="/tmp/clv_write_floor")
    args = parser.parse_args()
    if not Path(args.input).exists():
        raise SystemExit(
            f"no {args.input}: generate it with bench/run_bench.py --steps c first"
        )
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    rows = duckdb.sql(f"select count(*) from read_parquet('{args.input}')").fetchall()
    print(f"{args.input}: {rows[0][0]:,} lines, {args.threads} DuckDB threads")
    for name, sql in statements(args.input).items():
        database = work / f"{name.replace(' ', '_')}.duckdb"
        con = duckdb.connect(str(database))
        con.execute(f"set threads = {args.threads}")
        start = time.perf_counter()
        con.execute(sql).fetchall()
        con.execute("checkpoint")
        seconds = time.perf_counter() - start
        con.close()
        size = database.stat().st_size / 2**20
        print(f"  {name:<18} {seconds:6.2f} s   file {size:7.1f} MB")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
