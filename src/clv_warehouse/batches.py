"""Cut one transactions file into batch files, as a landing folder receives them.

Used by the incremental-build test, the incremental benchmark and replays: an
Online-Retail-II-shaped file (CSV or Parquet, e.g. from
:mod:`clv_warehouse.generate`) is split by invoice date at the given cuts into
``batch_001``, ``batch_002``, ... Each later batch also carries the kinds of
late data a real feed sends:

- late lines: for a share of the previous batch's sales invoices, the last
  line arrives one batch late (same invoice, old date);
- cancellations of earlier invoices: those dated in a batch arrive with it,
  and a share of the previous batch's cancellation invoices arrives one batch
  late (old date, matched to a purchase landed earlier);
- re-sent lines: a share of the previous batch's lines is sent again, byte for
  byte, inside the new batch file (silver quarantines them as ``duplicate``);
- optionally a byte-identical copy of the previous batch file under a new name
  (silver quarantines its rows as ``duplicate_file``).

Files are named so that name order is arrival order, which is the order
incremental landing gives them (``batch_002.csv`` < ``batch_002_resent_batch_001.csv``
< ``batch_003.csv``). Selection is deterministic for a given seed.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

import duckdb

DATE_COLUMN = "InvoiceDate"
INVOICE_COLUMN = "Invoice"


@dataclass(frozen=True)
class Batch:
    """One batch: its number and the files written for it, in landing order."""

    number: int
    files: tuple[str, ...]


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _reader(path: str) -> tuple[str, str]:
    lower = path.lower()
    if lower.endswith((".parquet", ".pq")):
        return f"read_parquet({_sql_string(path)})", "parquet"
    if lower.endswith((".csv", ".txt")):
        return (
            f"read_csv({_sql_string(path)}, all_varchar = true, header = true)",
            "csv",
        )
    raise ValueError(f"{path}: split reads .csv or .parquet files")


def split(
    input_path: str,
    out_dir: str,
    cuts: list[str],
    *,
    late_share: float = 0.02,
    late_cancellation_share: float = 0.0,
    resend_share: float = 0.01,
    copy_previous_file: bool = False,
    seed: int = 42,
    prefix: str = "batch_",
) -> list[Batch]:
    """Write ``len(cuts) + 1`` batches of ``input_path`` into ``out_dir``.

    Batch 1 holds the lines dated before ``cuts[0]`` (and lines whose date does
    not parse), batch k the lines dated in ``[cuts[k-2], cuts[k-1])``, the last
    one everything from the last cut on. Shares are of the previous batch's
    sales invoices (late lines), cancellation invoices (late cancellations)
    and lines (re-sent lines). Returns the batches.
    """
    if sorted(cuts) != list(cuts) or len(set(cuts)) != len(cuts):
        raise ValueError("cuts must be strictly increasing dates")
    shares = (late_share, late_cancellation_share, resend_share)
    if not all(0 <= share <= 1 for share in shares):
        raise ValueError("the shares must be in [0, 1]")
    reader, kind = _reader(input_path)
    os.makedirs(out_dir, exist_ok=True)
    con = duckdb.connect()
    try:
        bounds = " ".join(
            f"when try_cast({DATE_COLUMN} as timestamp) >= "
            f"timestamp {_sql_string(cut)} then {len(cuts) - i + 1}"
            for i, cut in enumerate(reversed(cuts))
        )
        con.execute(
            f"""
            create table lines as
            select
                *,
                row_number() over () as line_order,
                case {bounds} else 1 end as date_batch
            from {reader}
            """
        ).fetchall()
        # the last line of a sampled sales invoice moves one batch later
        con.execute(
            f"""
            create table placed as
            with last_lines as (
                select
                    line_order,
                    date_batch,
                    row_number() over (
                        partition by {INVOICE_COLUMN}, date_batch
                        order by line_order desc
                    ) as from_end
                from lines
                where not starts_with(upper({INVOICE_COLUMN}::varchar), 'C')
            ),
            late as (
                select line_order
                from last_lines
                where
                    from_end = 1
                    and date_batch < {len(cuts) + 1}
                    and hash(line_order, {int(seed)}) % 1000000
                        < {int(late_share * 1_000_000)}
                union all
                select line_order
                from lines
                where
                    starts_with(upper({INVOICE_COLUMN}::varchar), 'C')
                    and date_batch < {len(cuts) + 1}
                    and hash({INVOICE_COLUMN}::varchar, {int(seed) + 2}) % 1000000
                        < {int(late_cancellation_share * 1_000_000)}
            )
            select
                lines.*,
                case
                    when lines.line_order in (select line_order from late)
                        then lines.date_batch + 1
                    else lines.date_batch
                end as batch
            from lines
            """
        ).fetchall()
        batches = []
        for number in range(1, len(cuts) + 2):
            ext = "parquet" if kind == "parquet" else "csv"
            path = os.path.join(out_dir, f"{prefix}{number:03d}.{ext}")
            resent = (
                f"""
                union all
                select *, 1 as part from placed
                where
                    batch = {number - 1}
                    and hash(line_order, {int(seed) + 1}) % 1000000
                        < {int(resend_share * 1_000_000)}
                """
                if number > 1
                else ""
            )
            options = "format parquet" if kind == "parquet" else "header true"
            con.execute(
                f"""
                copy (
                    select * exclude (line_order, date_batch, batch, part)
                    from (
                        select *, 0 as part from placed where batch = {number}
                        {resent}
                    )
                    order by part, line_order
                ) to {_sql_string(path)} ({options})
                """
            ).fetchall()
            files = [path]
            if copy_previous_file and batches:
                previous = batches[-1].files[0]
                stem, dot, suffix = os.path.basename(previous).rpartition(".")
                copy = os.path.join(
                    out_dir, f"{prefix}{number:03d}_resent_{stem}{dot}{suffix}"
                )
                shutil.copyfile(previous, copy)
                files.append(copy)
            batches.append(Batch(number, tuple(files)))
        return batches
    finally:
        con.close()
