"""Land a retailer's raw transaction export in DuckDB, row for row.

The bronze layer's only job is to get every raw row of the input into the
warehouse, readable or not, with its provenance. Each input format is described
by a :class:`FormatSpec` (how to read it, which source column feeds which
canonical field); every format lands in the same shape, :data:`LANDED_COLUMNS`,
all text, so typing and cleaning happen once, in SQL, in the staging model.

Lines the CSV reader cannot read (a non-UTF-8 byte, a wrong number of fields,
broken quoting) are landed too, with ``load_error`` set and the raw text kept,
so silver can quarantine them with a reason. Problems that make the whole file
unusable (missing file, empty file, missing required column, unsafe mapping)
raise :class:`InputError` with one line naming the file and the problem.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any

from clv_warehouse.errors import first_line

CANONICAL_FIELDS = (
    "invoice_id",
    "product_id",
    "description",
    "quantity",
    "unit_price",
    "line_amount",
    "invoiced_at",
    "customer_id",
    "country",
)

PROVENANCE_COLUMNS = (
    "input_format",
    "source_file",
    "raw_row_id",
    "source_line_number",
    "load_error",
    "raw_line",
)

#: Every landed table has exactly these columns, in this order.
LANDED_COLUMNS = PROVENANCE_COLUMNS + CANONICAL_FIELDS

#: A mapping value must be a plain column name: letters, digits, underscore and
#: space (exports like Online Retail II have "Customer ID"), starting with a
#: letter or underscore. Quotes, semicolons, parentheses, comments: refused.
_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_ ]{0,63}$")

_CSV_SUFFIXES = (".csv", ".txt", ".tsv", ".csv.gz", ".txt.gz", ".tsv.gz")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_XLSX_SUFFIXES = (".xlsx", ".xlsm")

# DuckDB's CSV reader error types -> our reason codes (reject_errors.error_type).
_REJECT_REASONS = {
    "INVALID ENCODING": "invalid_encoding",
    "MISSING COLUMNS": "wrong_field_count",
    "TOO MANY COLUMNS": "wrong_field_count",
    "UNQUOTED VALUE": "malformed_quoting",
    "UNTERMINATED QUOTES": "malformed_quoting",
    "LINE SIZE OVER MAXIMUM": "line_too_long",
}


class InputError(Exception):
    """The input cannot be landed at all. The message is one line for the user."""


@dataclass(frozen=True)
class FormatSpec:
    """How one input format maps to the canonical line-item fields.

    ``columns`` maps a canonical field to the source column names that may
    carry it (the first one present wins); ``required`` lists canonical fields
    the file must have.
    """

    name: str
    reader: str  # "table" (CSV/Parquet/XLSX with a header) or "whitespace"
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    required: tuple[str, ...] = ()


FORMATS: dict[str, FormatSpec] = {
    "online_retail_ii": FormatSpec(
        name="online_retail_ii",
        reader="table",
        columns={
            # Online Retail II names first, then the older Online Retail (I) names.
            "invoice_id": ("Invoice", "InvoiceNo"),
            "product_id": ("StockCode",),
            "description": ("Description",),
            "quantity": ("Quantity",),
            "invoiced_at": ("InvoiceDate",),
            "unit_price": ("Price", "UnitPrice"),
            "customer_id": ("Customer ID", "CustomerID"),
            "country": ("Country",),
        },
        required=(
            "invoice_id",
            "product_id",
            "quantity",
            "invoiced_at",
            "unit_price",
            "customer_id",
        ),
    ),
    # CDNOW: whitespace separated, customer, YYYYMMDD, CDs, dollars (the master
    # file, optional header); the 1/10 sample adds a second id column.
    "cdnow": FormatSpec(name="cdnow", reader="whitespace"),
    # Any CSV/Parquet/XLSX; the columns come from the input_columns var.
    "mapped": FormatSpec(
        name="mapped", reader="table", required=("customer_id", "invoiced_at")
    ),
}


@dataclass(frozen=True)
class LandingRequest:
    """What to land: validated from the dbt vars by :func:`parse_request`."""

    input_format: str
    paths: tuple[str, ...]
    delimiter: str | None = None  # None = let DuckDB sniff it
    sheet: str | None = None
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    reader: str = "table"


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _parse_mapping(raw: Any) -> dict[str, str]:
    if raw in (None, "", "{}"):
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"var input_columns is not a mapping of field: column ({exc.msg})"
            ) from None
    if not isinstance(raw, dict):
        raise InputError("var input_columns must be a mapping of field: column")
    mapping = {}
    for key, value in raw.items():
        if key not in CANONICAL_FIELDS:
            raise InputError(
                f"var input_columns: unknown field {key!r}; "
                f"known fields: {', '.join(CANONICAL_FIELDS)}"
            )
        if not isinstance(value, str) or not _PLAIN_NAME.match(value):
            raise InputError(
                f"var input_columns: {key} = {value!r} is not a plain column name "
                "(letters, digits, underscore, space; no quotes, semicolons or SQL)"
            )
        mapping[key] = value
    return mapping


def _expand_paths(input_path: str) -> tuple[str, ...]:
    if not input_path:
        raise InputError("var input_path is empty: point it at the transactions file")
    if any(char in input_path for char in "*?["):
        paths = tuple(sorted(glob.glob(input_path)))
        if not paths:
            raise InputError(f"input file {input_path}: no file matches this pattern")
        return paths
    if not os.path.exists(input_path):
        raise InputError(f"input file {input_path}: file not found")
    if os.path.isdir(input_path):
        raise InputError(f"input file {input_path}: is a folder, not a file")
    return (input_path,)


def file_kind(path: str) -> str:
    """csv, parquet or xlsx, from the file name; InputError otherwise."""
    lower = path.lower()
    if lower.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    if lower.endswith(_XLSX_SUFFIXES):
        return "xlsx"
    if lower.endswith(_CSV_SUFFIXES):
        return "csv"
    raise InputError(
        f"input file {path}: unknown file type; use .csv, .txt, .tsv (optionally "
        ".gz), .parquet or .xlsx"
    )


def parse_request(
    *,
    input_format: str,
    input_path: str,
    delimiter: str = "auto",
    sheet: str = "",
    input_columns: Any = None,
) -> LandingRequest:
    """Validate the user's vars; raise InputError with one clear line if wrong."""
    if input_format not in FORMATS:
        raise InputError(
            f"var input_format = {input_format!r} is not one of "
            f"{', '.join(sorted(FORMATS))}"
        )
    spec = FORMATS[input_format]
    delimiter = (delimiter or "auto").strip() if delimiter != " " else delimiter
    if delimiter in ("auto", ""):
        delim = None
    elif delimiter in ("\\t", "tab"):
        delim = "\t"
    elif len(delimiter) == 1 and delimiter not in "'\"\n\r":
        delim = delimiter
    else:
        raise InputError(
            f"var input_delimiter = {delimiter!r}: use auto or one character"
        )
    mapping = _parse_mapping(input_columns)
    if input_format == "mapped":
        missing = [name for name in spec.required if name not in mapping]
        if "unit_price" not in mapping and "line_amount" not in mapping:
            missing.append("unit_price or line_amount")
        if missing:
            raise InputError(
                "input_format mapped needs var input_columns to name the column for: "
                + ", ".join(missing)
            )
        columns = {key: (value,) for key, value in mapping.items()}
    elif mapping:
        raise InputError(
            f"var input_columns is only used with input_format mapped, not "
            f"{input_format}"
        )
    else:
        columns = dict(spec.columns)
    paths = _expand_paths(input_path)
    for path in paths:
        kind = file_kind(path)
        if spec.reader == "whitespace" and kind != "csv":
            raise InputError(f"input file {path}: the cdnow format is a text file")
        if os.path.getsize(path) == 0:
            raise InputError(f"input file {path}: the file is empty (0 bytes)")
    return LandingRequest(
        input_format=input_format,
        paths=paths,
        delimiter=delim,
        sheet=sheet or None,
        columns=columns,
        required=spec.required,
        reader=spec.reader,
    )


def _csv_options(request: LandingRequest, *, header: bool) -> str:
    options = [
        "all_varchar = true",
        f"header = {str(header).lower()}",
        "store_rejects = true",
        "ignore_errors = true",
        "rejects_table = 'clv_landing_rejects'",
        "rejects_scan = 'clv_landing_scans'",
        "filename = true",
        "sample_size = 20480",
    ]
    if request.delimiter is not None:
        options.append(f"delim = {_sql_string(request.delimiter)}")
    return ", ".join(options)


def _resolve_columns(
    request: LandingRequest, available: list[str], source: str
) -> dict[str, str | None]:
    """Canonical field -> the source column that carries it (or None)."""
    resolved: dict[str, str | None] = {}
    for name in CANONICAL_FIELDS:
        candidates = request.columns.get(name, ())
        resolved[name] = next((c for c in candidates if c in available), None)
    missing = [
        " or ".join(request.columns.get(name, (name,)))
        for name in request.required
        if resolved.get(name) is None
    ]
    if request.input_format == "mapped" and not (
        resolved["unit_price"] or resolved["line_amount"]
    ):
        missing.append(
            " or ".join(
                request.columns.get("unit_price", ())
                + request.columns.get("line_amount", ())
            )
        )
    if missing:
        shown = ", ".join(repr(c) for c in available[:12])
        hint = ""
        if len(available) == 1:
            hint = " (one column only: is input_delimiter right?)"
        raise InputError(
            f"input file {source}: missing required column(s) {', '.join(missing)}; "
            f"found {shown}{hint}"
        )
    return resolved


def _reject_rows_sql(con) -> str:
    """SQL for one landed row per line the CSV reader rejected."""
    reasons = " ".join(
        f"when {_sql_string(key)} then {_sql_string(value)}"
        for key, value in _REJECT_REASONS.items()
    )
    return f"""
        select
            scans.file_path as source_file,
            errors.line as source_line_number,
            case min(errors.error_type::varchar) {reasons}
                else 'unreadable_line' end as load_error,
            trim(min(errors.csv_line), chr(10) || chr(13)) as raw_line
        from clv_landing_rejects as errors
        inner join clv_landing_scans as scans
            on errors.scan_id = scans.scan_id and errors.file_id = scans.file_id
        group by all
    """


def _run(con, sql: str) -> list[tuple]:
    """Execute and fetch everything (DuckDB 2.0 blocks on unfinished results)."""
    return con.execute(sql).fetchall()


def _columns_of(con, sql: str) -> list[str]:
    return [row[0] for row in _run(con, f"describe {sql}")]


def _reader_sql(request: LandingRequest, path: str) -> str:
    """The DuckDB table function reading one CSV or Parquet input file."""
    if file_kind(path) == "parquet":
        return f"read_parquet({_sql_string(path)}, filename = true)"
    return f"read_csv({_sql_string(path)}, {_csv_options(request, header=True)})"


def _resolved_source(
    con, request: LandingRequest, path: str, shown: str | None = None
) -> tuple[str, dict[str, str | None]]:
    """(reader SQL, canonical field -> source column) for one file; InputError
    naming the file when it cannot be read or lacks a required column."""
    reader = _reader_sql(request, path)
    try:
        available = _columns_of(con, f"select * from {reader}")
    except Exception as exc:  # duckdb raises several error classes here
        raise InputError(
            f"input file {shown or path}: cannot read it ({first_line(exc)})"
        ) from None
    available = [c for c in available if c != "filename"]
    return reader, _resolve_columns(request, available, shown or path)


def _land_files(
    con,
    request: LandingRequest,
    paths: tuple[str, ...],
    display: dict[str, str] | None = None,
) -> str:
    """SQL selecting LANDED_COLUMNS from CSV or Parquet files, one union branch
    per file (each file may name its columns differently)."""
    selects = []
    for path in paths:
        reader, resolved = _resolved_source(
            con, request, path, (display or {}).get(path)
        )
        selects.append(_canonical_select(request, resolved, reader, len(selects)))
    return "\nunion all\n".join(selects)


def _canonical_select(
    request: LandingRequest,
    resolved: dict[str, str | None],
    relation: str,
    file_index: int,
) -> str:
    fields = ",\n".join(
        f"{_quote_ident(source)}::varchar as {name}"
        if source
        else f"null::varchar as {name}"
        for name, source in resolved.items()
    )
    return f"""
        select
            {_sql_string(request.input_format)} as input_format,
            filename as source_file,
            {file_index} as file_index,
            row_number() over () as file_row,
            null::bigint as source_line_number,
            null::varchar as load_error,
            null::varchar as raw_line,
            {fields}
        from {relation}
    """


def _land_whitespace(con, request: LandingRequest) -> str:
    """CDNOW-style whitespace-separated text, with or without a header line."""
    selects = []
    for path in request.paths:
        skip = 1 if _first_line_is_header(path) else 0
        reader = (
            f"read_csv({_sql_string(path)}, columns = {{'line': 'varchar'}}, "
            f"delim = chr(31), quote = '', escape = '', header = false, "
            f"skip = {skip}, store_rejects = true, ignore_errors = true, "
            "rejects_table = 'clv_landing_rejects', "
            "rejects_scan = 'clv_landing_scans', filename = true)"
        )
        selects.append(
            f"""
            select
                filename as source_file,
                {len(selects)} as file_index,
                row_number() over () as file_row,
                line,
                regexp_split_to_array(trim(line), '\\s+') as parts
            from {reader}
            """
        )
    lines = "\nunion all\n".join(selects)
    return f"""
        with lines as ({lines})
        select
            {_sql_string(request.input_format)} as input_format,
            source_file,
            file_index,
            file_row,
            null::bigint as source_line_number,
            case when len(parts) not in (4, 5) then 'wrong_field_count' end
                as load_error,
            case when len(parts) not in (4, 5) then line end as raw_line,
            null::varchar as invoice_id,
            null::varchar as product_id,
            null::varchar as description,
            case len(parts) when 4 then parts[3] when 5 then parts[4] end
                as quantity,
            null::varchar as unit_price,
            case len(parts) when 4 then parts[4] when 5 then parts[5] end
                as line_amount,
            case len(parts) when 4 then parts[2] when 5 then parts[3] end
                as invoiced_at,
            case len(parts) when 4 then parts[1] when 5 then parts[1] end
                as customer_id,
            null::varchar as country
        from lines
    """


def _first_line_is_header(path: str) -> bool:
    with open(path, "rb") as handle:
        first = handle.readline().split()
    return bool(first) and not first[0].decode("latin-1").isdigit()


def xlsx_to_parquet(
    path: str, out_dir: str, sheet: str | None = None
) -> list[tuple[str, str]]:
    """Convert each sheet of an XLSX workbook into a Parquet file of text columns.

    DuckDB 2.0 cannot load its excel extension offline (TOOLCHAIN.md), so the
    workbook is streamed with openpyxl. Returns (parquet path, "workbook#sheet")
    pairs, one per sheet.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    workbook, names = _open_workbook(path, sheet)
    outputs = []
    for index, name in enumerate(names):
        rows = workbook[name].iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            continue
        header = [
            str(h) if h is not None else f"column{i}" for i, h in enumerate(header)
        ]
        columns: list[list[str | None]] = [[] for _ in header]
        for row in rows:
            if row is None or all(value is None for value in row):
                continue
            for position in range(len(header)):
                value = row[position] if position < len(row) else None
                columns[position].append(_cell_text(value))
        table = pa.table(
            {
                name_: pa.array(col, pa.string())
                for name_, col in zip(header, columns, strict=True)
            }
        )
        out = os.path.join(out_dir, f"sheet_{index}.parquet")
        pq.write_table(table, out)
        outputs.append((out, f"{path}#{name}"))
    workbook.close()
    if not outputs:
        raise InputError(f"input file {path}: the workbook has no rows")
    return outputs


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float) and value.is_integer():
        return f"{value:.1f}"
    return str(value)


def land(
    con, request: LandingRequest, *, work_dir: str | None = None, row_offset: int = 0
):
    """Land the request's files through DuckDB connection ``con``.

    Returns a DuckDB relation with :data:`LANDED_COLUMNS`: one row per data
    row read, plus one row per line the reader rejected (``load_error`` set).
    ``raw_row_id`` runs from ``row_offset + 1``: readable rows in file order,
    then the rejected lines.
    """
    _run(con, "drop table if exists clv_landing_rejects")
    _run(con, "drop table if exists clv_landing_scans")
    kinds = {file_kind(path) for path in request.paths}
    if len(kinds) > 1:
        raise InputError(
            "input files mix file types (" + ", ".join(sorted(kinds)) + "): use one"
        )
    kind = kinds.pop()
    owned_dir = None  # a temporary folder of converted sheets, removed below
    if request.reader == "whitespace":
        body = _land_whitespace(con, request)
    elif kind in ("csv", "parquet"):
        body = _land_files(con, request, request.paths)
    else:
        if work_dir is None:
            work_dir = owned_dir = tempfile.mkdtemp(prefix="clv_xlsx_")
        converted = []
        for path in request.paths:
            converted.extend(xlsx_to_parquet(path, work_dir, request.sheet))
        body = _land_files(
            con, request, tuple(p for p, _ in converted), dict(converted)
        )
        # Show the workbook and sheet, not the temporary Parquet file.
        mapping_sql = " ".join(
            f"when {_sql_string(out)} then {_sql_string(shown)}"
            for out, shown in converted
        )
        body = f"""
            select * replace (case source_file {mapping_sql} end as source_file)
            from ({body})
        """
    numbered = f"""
        select
            input_format,
            source_file,
            {int(row_offset)} + row_number() over (order by file_index, file_row)
                as raw_row_id,
            {", ".join(LANDED_COLUMNS[3:])}
        from ({body})
    """
    try:
        _run(con, f"create or replace temp table clv_landing_rows as {numbered}")
    except Exception as exc:
        raise InputError(
            f"input file {', '.join(request.paths)}: cannot read it ({first_line(exc)})"
        ) from None
    finally:
        if owned_dir is not None:  # the rows are copied: the sheets can go
            shutil.rmtree(owned_dir, ignore_errors=True)
    if kind == "csv":
        rejects = _reject_rows_sql(con)
        _run(
            con,
            f"""
            insert into clv_landing_rows
            select
                {_sql_string(request.input_format)},
                rejects.source_file,
                {int(row_offset)} + totals.n_rows + row_number() over (
                    order by rejects.source_file, rejects.source_line_number
                ),
                rejects.source_line_number,
                rejects.load_error,
                rejects.raw_line,
                {", ".join("null" for _ in CANONICAL_FIELDS)}
            from ({rejects}) as rejects
            cross join (select count(*) as n_rows from clv_landing_rows) as totals
            """,
        )
    count = _run(con, "select count(*) from clv_landing_rows")[0][0]
    if count == 0:
        raise InputError(
            f"input file {', '.join(request.paths)}: no data rows (only a header?)"
        )
    return con.table("clv_landing_rows")


def check_input(
    input_format: str,
    input_path: str,
    delimiter: str = "auto",
    sheet: str = "",
    input_columns: Any = None,
) -> str:
    """Validate the input vars and the file's header without landing anything.

    Returns "" when the input looks usable, else the one-line problem. Used by
    the ``clv_check_input`` SQL function (see :mod:`clv_warehouse.dbt_plugin`)
    so that dbt reports a bad input as one line instead of a Python traceback.
    """
    import duckdb

    try:
        request = parse_request(
            input_format=input_format,
            input_path=input_path,
            delimiter=delimiter,
            sheet=sheet,
            input_columns=input_columns,
        )
        if request.reader == "table":
            con = duckdb.connect()
            try:
                for path in request.paths:
                    if file_kind(path) == "xlsx":
                        for header, shown in _xlsx_headers(path, request.sheet):
                            _resolve_columns(request, header, shown)
                        continue
                    reader, _ = _resolved_source(con, request, path)
                    if not _run(con, f"select 1 from {reader} limit 1"):
                        raise InputError(
                            f"input file {path}: no data rows (only a header?)"
                        )
            finally:
                con.close()
    except InputError as exc:
        return str(exc)
    return ""


def _open_workbook(path: str, sheet: str | None):
    """(read-only workbook, sheet names to read); InputError when unusable."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise InputError(
            f"input file {path}: not a readable XLSX workbook ({first_line(exc)})"
        ) from None
    if sheet is None:
        return workbook, list(workbook.sheetnames)
    if sheet not in workbook.sheetnames:
        workbook.close()
        raise InputError(
            f"input file {path}: no sheet {sheet!r}; "
            f"sheets: {', '.join(workbook.sheetnames)}"
        )
    return workbook, [sheet]


def _xlsx_headers(path: str, sheet: str | None) -> list[tuple[list[str], str]]:
    workbook, names = _open_workbook(path, sheet)
    headers = []
    for name in names:
        first = next(workbook[name].iter_rows(values_only=True, max_row=1), None)
        header = [str(value) for value in (first or ()) if value is not None]
        headers.append((header, f"{path}#{name}"))
    workbook.close()
    return headers


# --- incremental (batch) landing ---------------------------------------------

#: Columns incremental landing adds after :data:`LANDED_COLUMNS`.
BATCH_COLUMNS = ("landed_batch", "duplicate_of_file")

_LANDED_TYPES = {
    "raw_row_id": "bigint",
    "source_line_number": "bigint",
    "landed_batch": "integer",
}


@dataclass(frozen=True)
class PendingFile:
    """A file of the manifest (``stg_input__files``) not landed yet."""

    path: str
    landed_batch: int
    duplicate_of_file: str | None = None


def list_input_files(input_path: str) -> list[dict[str, Any]]:
    """Every file ``input_path`` names (a file or a glob), in name order, with its
    size and modification time: the cheap part of a file's fingerprint."""
    files = []
    for path in _expand_paths(input_path):
        stat = os.stat(path)
        files.append(
            {
                "source_file": path,
                "size_bytes": stat.st_size,
                "modified_ns": stat.st_mtime_ns,
            }
        )
    return files


def file_sha256(path: str) -> str:
    """The sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def land_pending(
    con,
    request: LandingRequest,
    pending: list[PendingFile],
    *,
    row_offset: int = 0,
    work_dir: str | None = None,
):
    """Land the pending files one at a time, in the order given.

    Each file's rows get the next ``raw_row_id`` values after ``row_offset``
    (its readable rows in file order, then its rejected lines), so ids are
    unique across batches and never change once given. Returns a relation with
    :data:`LANDED_COLUMNS` + :data:`BATCH_COLUMNS`; empty when nothing is pending.
    """
    columns = LANDED_COLUMNS + BATCH_COLUMNS
    if (
        pending
        and request.reader == "table"
        and all(file_kind(item.path) == "parquet" for item in pending)
    ):
        return _land_parquet_lazily(con, request, pending, row_offset=int(row_offset))
    _run(
        con,
        "create or replace temp table clv_landing_batch ("
        + ", ".join(f"{name} {_LANDED_TYPES.get(name, 'varchar')}" for name in columns)
        + ")",
    )
    offset = int(row_offset)
    for item in pending:
        single = LandingRequest(
            input_format=request.input_format,
            paths=(item.path,),
            delimiter=request.delimiter,
            sheet=request.sheet,
            columns=request.columns,
            required=request.required,
            reader=request.reader,
        )
        land(con, single, work_dir=work_dir, row_offset=offset)
        duplicate = (
            _sql_string(item.duplicate_of_file) if item.duplicate_of_file else "null"
        )
        _run(
            con,
            f"""
            insert into clv_landing_batch
            select {", ".join(LANDED_COLUMNS)}, {int(item.landed_batch)}, {duplicate}
            from clv_landing_rows
            """,
        )
        offset = _run(con, "select max(raw_row_id) from clv_landing_batch")[0][0]
    # Temporary tables live as long as dbt's connection: free the per-file copy.
    _run(con, "drop table if exists clv_landing_rows")
    return con.table("clv_landing_batch")


def _land_parquet_lazily(
    con, request: LandingRequest, pending: list[PendingFile], *, row_offset: int
):
    """Parquet files land in one streaming pass: no temporary copy, no window.

    A Parquet file has no unreadable lines and knows its row count from its
    metadata, so each file's ``raw_row_id`` is the running offset plus the
    reader's ``file_row_number`` (file order, as :func:`land` numbers them), and
    the relation returned is lazy SQL that the dbt model materializes once. At
    10M lines this is several times faster than landing through temporary
    tables (bench/profile_build.py).
    """
    selects = []
    offset = row_offset
    for item in pending:
        reader, resolved = _resolved_source(con, request, item.path)
        rows = _run(con, f"select count(*) from {reader}")[0][0]
        if rows == 0:
            raise InputError(f"input file {item.path}: no data rows (only a header?)")
        fields = ",\n".join(
            f"{_quote_ident(source)}::varchar as {name}"
            if source
            else f"null::varchar as {name}"
            for name, source in resolved.items()
        )
        duplicate = (
            _sql_string(item.duplicate_of_file) if item.duplicate_of_file else "null"
        )
        selects.append(
            f"""
            select
                {_sql_string(request.input_format)} as input_format,
                filename as source_file,
                ({offset} + file_row_number + 1)::bigint as raw_row_id,
                null::bigint as source_line_number,
                null::varchar as load_error,
                null::varchar as raw_line,
                {fields},
                {int(item.landed_batch)}::integer as landed_batch,
                {duplicate}::varchar as duplicate_of_file
            from read_parquet(
                {_sql_string(item.path)}, filename = true, file_row_number = true
            )
            """
        )
        offset += rows
    return con.sql("\nunion all\n".join(selects))
