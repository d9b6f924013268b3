"""Incremental batches end to end: real dbt builds on batch files of a generated
input. The incremental warehouse must equal a --full-refresh build of the same
files table by table, a build without new files must change nothing, and a
landed file whose content changed must stop the build with one line."""

from __future__ import annotations

import shutil
import subprocess
import sys

import duckdb
import pytest
from conftest import run_dbt

from clv_warehouse import batches

pytestmark = pytest.mark.slow

#: Incremental bookkeeping: which batch landed a row / last refreshed it, and
#: wall-clock metadata. A full refresh of the same files lands them all as
#: batch 1, so these differ by design; every other column must be equal.
BOOKKEEPING = {"landed_batch", "refreshed_batch", "listed_at"}
NO_ML = ["--exclude", "tag:ml+"]  # ML and what is built from it


def tables(db_path) -> dict[str, list[str]]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        rows = con.execute(
            """
            select
                schema_name || '.' || table_name,
                list(column_name order by column_index)
            from duckdb_columns()
            where schema_name in ('staging', 'silver', 'gold', 'ml')
            group by 1 order by 1
            """
        ).fetchall()
    finally:
        con.close()
    return dict(rows)


def content_hashes(db_path, exclude=frozenset()) -> dict[str, tuple[int, str]]:
    """(row count, order-independent content hash) of every table."""
    hashes = {}
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        for table, columns in tables(db_path).items():
            kept = ", ".join(f'"{c}"' for c in columns if c not in exclude)
            hashes[table] = con.execute(
                "select count(*), "
                f"coalesce(sum(hash({kept}) % 1000000007), 0)::varchar from {table}"
            ).fetchall()[0]
    finally:
        con.close()
    return hashes


def differences(incremental, full) -> dict[str, tuple[int, int]]:
    """Per table: rows only in one warehouse and rows only in the other."""
    con = duckdb.connect()
    con.execute(f"attach '{incremental}' as incremental (read_only)")
    con.execute(f"attach '{full}' as rebuilt (read_only)")
    found = {}
    for table, columns in tables(incremental).items():
        kept = ", ".join(f'"{c}"' for c in columns if c not in BOOKKEEPING)

        def only(a, b, table=table, kept=kept):
            return con.execute(
                f"select count(*) from (select {kept} from {a}.{table} "
                f"except all select {kept} from {b}.{table})"
            ).fetchall()[0][0]

        found[table] = (only("incremental", "rebuilt"), only("rebuilt", "incremental"))
    con.close()
    return found


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A small generated Online-Retail-II-shaped input (400 customers)."""
    path = tmp_path_factory.mktemp("source") / "all.csv"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "clv_warehouse.generate",
            "--out",
            str(path),
            "--customers",
            "400",
            "--quiet",
        ],
        check=True,
    )
    return path


@pytest.fixture(scope="module")
def batch_files(source, tmp_path_factory):
    """The input cut into two batches: the second brings new invoices, late
    lines of old invoices, cancellations of earlier invoices, re-sent lines and
    a byte-identical copy of the first file."""
    work = tmp_path_factory.mktemp("batches")
    return batches.split(
        str(source),
        str(work / "batches"),
        ["2011-06-01"],
        late_share=0.05,
        late_cancellation_share=0.5,
        resend_share=0.02,
        copy_previous_file=True,
    )


def test_incremental_batches_equal_a_full_refresh(batch_files, tmp_path):
    first, second = batch_files
    landing = tmp_path / "landing"
    landing.mkdir()
    glob = str(landing / "*.csv")
    incremental = tmp_path / "incremental" / "warehouse.duckdb"
    incremental.parent.mkdir()

    shutil.copy(first.files[0], landing)
    result = run_dbt(["build", *NO_ML], incremental, input_path=glob)
    assert result.returncode == 0, result.stdout[-3000:]
    for path in second.files:
        shutil.copy(path, landing)
    result = run_dbt(["build", *NO_ML], incremental, input_path=glob)
    assert result.returncode == 0, result.stdout[-3000:]

    con = duckdb.connect(str(incremental), read_only=True)
    late_data = con.execute(
        """
        select
            (select count(*) from staging.stg_input__files),
            (select count(*) from silver.int_lines_quarantined
             where reason_code = 'duplicate_file'),
            (select count(*) from silver.int_lines_quarantined
             where reason_code = 'duplicate' and source_file like '%batch_002.csv'),
            -- late lines: batch 2 lines of invoices dated before the cut
            (select count(*) from silver.int_lines_cleaned
             where source_file like '%batch_002.csv'
               and invoiced_at < timestamp '2011-06-01'),
            -- cancellations in batch 2 matched to invoices of batch 1
            (select count(*) from silver.int_lines_cleaned as r
             inner join silver.int_lines_cleaned as s
                on r.original_invoice_id = s.invoice_id
             where r.line_type = 'return' and r.source_file like '%batch_002.csv'
               and s.source_file like '%batch_001.csv'),
            (select count(*) from staging.stg_input__landed_lines),
            (select count(*) from silver.int_lines_cleaned)
                + (select count(*) from silver.int_lines_quarantined)
        """
    ).fetchall()[0]
    con.close()
    files, copied, resent, late, returns, landed, reconciled = late_data
    assert files == 3
    assert copied > 1000 and resent > 10 and late > 10 and returns > 10, late_data
    assert landed == reconciled

    # a build with no new files changes nothing, not even bookkeeping
    before = content_hashes(incremental)
    result = run_dbt(["build", *NO_ML], incremental, input_path=glob)
    assert result.returncode == 0, result.stdout[-3000:]
    assert content_hashes(incremental) == before

    # the same files with --full-refresh into another warehouse: equal tables
    rebuilt = tmp_path / "rebuilt" / "warehouse.duckdb"
    rebuilt.parent.mkdir()
    result = run_dbt(["build", *NO_ML, "--full-refresh"], rebuilt, input_path=glob)
    assert result.returncode == 0, result.stdout[-3000:]
    assert set(tables(rebuilt)) == set(tables(incremental))
    found = differences(incremental, rebuilt)
    assert len(found) >= 20
    assert {t: d for t, d in found.items() if d != (0, 0)} == {}

    # another input_path into this warehouse stops with one line
    result = run_dbt(
        ["build", "-s", "stg_input__files"], incremental, input_path=first.files[0]
    )
    assert result.returncode != 0
    assert "this warehouse was landed from input_path" in result.stdout
    assert "rebuild with --full-refresh" in result.stdout

    # a landed file whose content changed stops the next build with one line
    with open(landing / first.files[0].rsplit("/", 1)[1], "a") as handle:
        handle.write("999999,X,CHANGED,1,2011-01-01 10:00:00,1.0,1.0,UK\n")
    result = run_dbt(["build", "-s", "stg_input__files"], incremental, input_path=glob)
    assert result.returncode != 0
    assert "its content changed after it was landed in batch 1" in result.stdout
    assert "Traceback" not in result.stdout

    assert_scoped_tests_find_what_a_build_breaks(incremental, glob, tmp_path)


def assert_scoped_tests_find_what_a_build_breaks(incremental, glob, tmp_path):
    """The big-table key tests and the reconciliation check the rows the latest
    build wrote (var data_test_scope: refreshed, the default), and every row
    with data_test_scope: all. A row that a rewrite of its customer lost or
    repeated is found either way."""

    def tests_on_a_copy(change: str, **vars_) -> str:
        copy = tmp_path / "corrupt" / "warehouse.duckdb"
        shutil.rmtree(copy.parent, ignore_errors=True)
        copy.parent.mkdir()
        shutil.copy(incremental, copy)
        con = duckdb.connect(str(copy))
        assert con.execute(change).fetchall()[0][0] == 1  # one row changed
        con.close()
        result = run_dbt(
            ["test", "--select", "int_lines_cleaned"], copy, input_path=glob, **vars_
        )
        return result.stdout

    rewritten = """
        select raw_row_id from silver.int_lines_cleaned
        where refreshed_batch = 2 order by raw_row_id limit 1"""
    lose = f"delete from silver.int_lines_cleaned where raw_row_id = ({rewritten})"
    for scope in ("refreshed", "all"):
        lost = tests_on_a_copy(lose, data_test_scope=scope)
        assert "FAIL 1 assert_raw_rows_reconcile" in lost, lost[-3000:]
    repeated = tests_on_a_copy(
        "insert into silver.int_lines_cleaned select * from silver.int_lines_cleaned "
        f"where raw_row_id = ({rewritten})"
    )
    assert "FAIL 1 unique_refreshed_int_lines_cleaned_raw_row_id" in repeated
    assert "FAIL 1 assert_raw_rows_reconcile" in repeated  # one row placed twice
    bad_scope = tests_on_a_copy(lose, data_test_scope="some")
    assert "data_test_scope must be 'refreshed' or 'all', got 'some'" in bad_scope


def test_predictions_rescore_only_changed_customers(source, tmp_path):
    """With ML: after a new batch (the last days) at a fixed scoring cutoff, only
    customers whose scoring features changed are re-scored (all of them if the
    champion changed), and every stored score equals a fresh scoring of all
    customers by the champion's macros."""
    first, second = batches.split(
        str(source),
        str(tmp_path / "b"),
        ["2011-12-01"],
        late_share=0,
        resend_share=0,
    )
    landing = tmp_path / "landing"
    landing.mkdir()
    db_path = tmp_path / "warehouse.duckdb"
    glob = str(landing / "*.csv")
    cutoff = {"input_path": glob, "as_of_date": "2011-12-10"}
    shutil.copy(first.files[0], landing)
    result = run_dbt(["build"], db_path, **cutoff)
    assert result.returncode == 0, result.stdout[-3000:]
    champion = "select version from ml.ml_churn_model_versions where is_champion"
    champion_before = query(db_path, champion)
    before = dict(
        query(
            db_path,
            "select customer_id, scoring_fingerprint "
            "from gold.customer_churn_predictions",
        )
    )
    shutil.copy(second.files[0], landing)
    result = run_dbt(["build"], db_path, **cutoff)
    assert result.returncode == 0, result.stdout[-3000:]
    after = dict(
        query(
            db_path,
            "select customer_id, scoring_fingerprint "
            "from gold.customer_churn_predictions",
        )
    )
    changed = {c for c, f in after.items() if before.get(c) != f}
    active = {
        c
        for (c,) in query(
            db_path,
            "select distinct customer_id from silver.int_lines_cleaned "
            "where invoiced_at >= timestamp '2011-12-01'",
        )
    }
    if query(db_path, champion) == champion_before:
        assert active and active <= changed and len(changed) < len(after)
    else:  # a new champion re-scores everyone
        assert changed == set(after)
    assert set(after) == {
        c for (c,) in query(db_path, "select customer_id from ml.ml_scoring_features")
    }
    churn_diff, tier_diff = query(
        db_path,
        """
        select
            (select count(*) from gold.customer_churn_predictions as p
             inner join predict_churn_table(ml.ml_scoring_features) as s
                using (customer_id)
             where abs(p.churn_probability - s.probability) > 1e-12),
            (select count(*) from gold.customer_value_tier_predictions as p
             inner join predict_value_tier_table(ml.ml_scoring_features) as s
                using (customer_id)
             where p.predicted_value_tier <> s.predicted_class::varchar
                or abs(p.probability_high - s.probability_high) > 1e-12)
        """,
    )[0]
    assert (churn_diff, tier_diff) == (0, 0)


def query(db_path, sql):
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
