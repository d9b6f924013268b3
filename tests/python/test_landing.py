"""Landing: every raw row lands (or the file is refused with one clear line)."""

from __future__ import annotations

import duckdb
import pytest
from conftest import GOOD_LINES, HEADER

from clv_warehouse import landing


def land(path, **kwargs):
    kwargs.setdefault("input_format", "online_retail_ii")
    request = landing.parse_request(input_path=path, **kwargs)
    con = duckdb.connect()
    rows = landing.land(con, request).fetchall()
    columns = [c for c in landing.LANDED_COLUMNS]
    return [dict(zip(columns, row, strict=True)) for row in rows]


def test_good_file_lands_every_row_with_provenance(write_file):
    path = write_file("good.csv", HEADER + "".join(GOOD_LINES))
    rows = land(path)
    assert len(rows) == len(GOOD_LINES)
    assert [r["raw_row_id"] for r in rows] == [1, 2, 3, 4]
    assert {r["source_file"] for r in rows} == {path}
    assert rows[0]["description"] == "15CM CHRISTMAS GLASS BALL, 20 LIGHTS"
    assert rows[0]["customer_id"] == "13085.0"
    assert rows[3]["customer_id"] is None
    assert all(r["load_error"] is None for r in rows)


def test_non_utf8_byte_lands_as_a_rejected_line(write_file):
    bad = b"489437,22,BAD\xe9NAME,1,2009-12-01 07:45:00,1.0,13085.0,France\n"
    path = write_file("latin.csv", (HEADER + "".join(GOOD_LINES)).encode() + bad)
    rows = land(path)
    assert len(rows) == len(GOOD_LINES) + 1
    rejected = [r for r in rows if r["load_error"]]
    assert len(rejected) == 1
    assert rejected[0]["load_error"] == "invalid_encoding"
    assert rejected[0]["source_line_number"] == 6
    assert "BAD" in rejected[0]["raw_line"]


def test_wrong_field_counts_land_as_rejected_lines(write_file):
    content = HEADER + GOOD_LINES[0] + "489436,22,too,few\n" + "1,2,3,4,5,6,7,8,9,10\n"
    rows = land(write_file("fields.csv", content))
    assert len(rows) == 3
    errors = sorted(r["load_error"] for r in rows if r["load_error"])
    assert errors == ["wrong_field_count", "wrong_field_count"]
    assert sorted(r["source_line_number"] for r in rows if r["load_error"]) == [3, 4]


def test_blank_lines_are_not_rows(write_file):
    content = HEADER + GOOD_LINES[0] + "\n\n" + GOOD_LINES[1] + "\n"
    rows = land(write_file("blank.csv", content))
    assert len(rows) == 2
    assert all(r["load_error"] is None for r in rows)


def test_semicolon_file_is_sniffed(write_file):
    content = (HEADER + "".join(GOOD_LINES[1:])).replace(",", ";")
    rows = land(write_file("semi.csv", content))
    assert len(rows) == 3
    assert rows[0]["product_id"] == "79323P"


@pytest.mark.parametrize(
    ("name", "content", "kwargs", "expected"),
    [
        ("empty.csv", "", {}, "the file is empty (0 bytes)"),
        ("header.csv", HEADER, {}, "no data rows"),
        (
            "nocol.csv",
            HEADER.replace(",Price", "") + "1,2,3,4,2009-12-01,5,UK\n",
            {},
            "missing required column(s) Price or UnitPrice",
        ),
        (
            "semi.csv",
            (HEADER + GOOD_LINES[1]).replace(",", ";"),
            {"delimiter": ","},
            "is input_delimiter right?",
        ),
        ("data.xls", "x", {}, "unknown file type"),
        ("data.csv", HEADER + GOOD_LINES[0], {"input_format": "sap"}, "is not one of"),
        (
            "data.csv",
            HEADER + GOOD_LINES[0],
            {"input_format": "mapped", "input_columns": {"customer_id": "x; drop"}},
            "is not a plain column name",
        ),
        (
            "data.csv",
            HEADER + GOOD_LINES[0],
            {"input_format": "mapped", "input_columns": {"customer_id": "Customer ID"}},
            "needs var input_columns to name the column for: invoiced_at",
        ),
        (
            "data.csv",
            HEADER + GOOD_LINES[0],
            {"input_format": "mapped", "input_columns": '{"customer_id": "a"'},
            "is not a mapping",
        ),
        ("data.csv", HEADER + GOOD_LINES[0], {"delimiter": ";;"}, "one character"),
        ("data.parquet", "not parquet at all", {}, "cannot read it"),
    ],
)
def test_unusable_input_gives_one_line_naming_the_problem(
    write_file, name, content, kwargs, expected
):
    path = write_file(name, content)
    kwargs.setdefault("input_format", "online_retail_ii")
    problem = landing.check_input(
        kwargs.pop("input_format"),
        path,
        kwargs.pop("delimiter", "auto"),
        "",
        kwargs.pop("input_columns", None),
    )
    assert expected in problem
    assert "\n" not in problem
    if "input_format" not in expected and "var " not in problem:
        assert path in problem or name in problem


def test_missing_file_is_named(tmp_path):
    problem = landing.check_input("online_retail_ii", str(tmp_path / "nope.csv"))
    assert problem == f"input file {tmp_path / 'nope.csv'}: file not found"


def test_glob_lands_all_files_and_counts_reconcile(write_file):
    write_file("batch_1.csv", HEADER + "".join(GOOD_LINES[:2]))
    second = write_file("batch_2.csv", HEADER + "".join(GOOD_LINES[2:]) + "1,2\n")
    rows = land(second.replace("batch_2", "batch_*"))
    assert len(rows) == 5
    assert len({r["raw_row_id"] for r in rows}) == 5
    assert sum(1 for r in rows if r["load_error"]) == 1


def test_mapped_csv_uses_the_column_mapping(write_file):
    content = "cust,when,amount\nA1,2024-01-05,10.5\nA2,2024-01-06,3\n"
    rows = land(
        write_file("mapped.csv", content),
        input_format="mapped",
        input_columns={
            "customer_id": "cust",
            "invoiced_at": "when",
            "line_amount": "amount",
        },
    )
    assert [(r["customer_id"], r["line_amount"]) for r in rows] == [
        ("A1", "10.5"),
        ("A2", "3"),
    ]


def test_parquet_lands_typed_columns_as_text(tmp_path):
    path = str(tmp_path / "lines.parquet")
    duckdb.sql(
        "select '489434' as Invoice, '85048' as StockCode, 'X' as Description, "
        "12 as Quantity, timestamp '2009-12-01 07:45:00' as InvoiceDate, "
        "6.95 as Price, 13085.0::double as \"Customer ID\", 'UK' as Country"
    ).write_parquet(path)
    rows = land(path)
    assert rows[0]["quantity"] == "12"
    assert rows[0]["invoiced_at"] == "2009-12-01 07:45:00"
    assert rows[0]["customer_id"] == "13085.0"


def test_parquet_batches_land_lazily_exactly_as_the_general_path(tmp_path):
    """land_pending streams Parquet (file_row_number + running offsets); it must
    give the rows, ids and batch columns that landing file by file through
    temporary tables gives, in the same order."""
    paths = []
    for index, rows in enumerate((3, 2)):
        path = str(tmp_path / f"batch_{index}.parquet")
        duckdb.sql(
            f"select (1000 + {index} * 10 + i)::varchar as Invoice, "
            "'85048' as StockCode, 'BALL ' || i as Description, i as Quantity, "
            "timestamp '2010-12-01 07:45:00' + to_days(i::integer) as InvoiceDate, "
            '1.5 * i as Price, (13000 + i)::double as "Customer ID", '
            f"'UK' as Country from range({rows}) as t(i)"
        ).write_parquet(path)
        paths.append(path)
    request = landing.parse_request(
        input_format="online_retail_ii", input_path=str(tmp_path / "*.parquet")
    )
    pending = [
        landing.PendingFile(paths[0], 3),
        landing.PendingFile(paths[1], 4, duplicate_of_file="x.parquet"),
    ]
    con = duckdb.connect()
    lazy = landing.land_pending(con, request, pending, row_offset=7).fetchall()
    expected = []
    offset = 7
    for item in pending:
        single = landing.parse_request(
            input_format="online_retail_ii", input_path=item.path
        )
        rows = landing.land(con, single, row_offset=offset).fetchall()
        expected += [(*row, item.landed_batch, item.duplicate_of_file) for row in rows]
        offset += len(rows)
    assert lazy == expected
    assert [row[2] for row in lazy] == [8, 9, 10, 11, 12]


def test_xlsx_sheets_land_with_sheet_provenance(tmp_path, monkeypatch):
    openpyxl = pytest.importorskip("openpyxl")
    import datetime
    import tempfile

    # the converted sheets go to a temporary folder that landing removes
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    path = tmp_path / "retail.xlsx"
    workbook = openpyxl.Workbook()
    first = workbook.active
    first.title = "Year 2009-2010"
    second = workbook.create_sheet("Year 2010-2011")
    for sheet, invoice in ((first, "489434"), (second, "581587")):
        sheet.append(HEADER.strip().split(","))
        sheet.append(
            [
                invoice,
                "85048",
                "BALL",
                12,
                datetime.datetime(2010, 12, 1, 7, 45),
                6.95,
                13085.0,
                "United Kingdom",
            ]
        )
    workbook.save(path)
    rows = land(str(path))
    assert [r["invoice_id"] for r in rows] == ["489434", "581587"]
    assert rows[1]["source_file"] == f"{path}#Year 2010-2011"
    assert rows[0]["invoiced_at"] == "2010-12-01 07:45:00"
    assert rows[0]["customer_id"] in ("13085", "13085.0")  # int or float cell
    only = land(str(path), sheet="Year 2010-2011")
    assert [r["invoice_id"] for r in only] == ["581587"]
    assert list(scratch.iterdir()) == []


def test_cdnow_master_and_sample_layouts(write_file):
    master = (
        " customer_id  date number_of_cds  dollar_value\n 00001 19970101  1   11.77\n"
    )
    sample = " 00004 0001 19970101  2   29.33\n 00004 0001 19970118  2   29.73\n"
    rows = land(write_file("master.txt", master), input_format="cdnow")
    assert [(r["customer_id"], r["invoiced_at"], r["line_amount"]) for r in rows] == [
        ("00001", "19970101", "11.77")
    ]
    rows = land(
        write_file("sample.txt", sample + "garbage line\n"), input_format="cdnow"
    )
    assert [r["customer_id"] for r in rows[:2]] == ["00004", "00004"]
    assert rows[2]["load_error"] == "wrong_field_count"
    assert rows[2]["raw_line"] == "garbage line"
