"""Batch files for incremental landing: the split, the manifest helpers, the ids."""

from __future__ import annotations

import duckdb
import pytest
from conftest import GOOD_LINES, HEADER

from clv_warehouse import batches, landing

LINES = [
    # invoice 1: two lines before the cut; invoice 2: three lines before it
    "1,A,APPLE,1,2010-01-05 10:00:00,1.0,101.0,UK\n",
    "1,B,BANANA,2,2010-01-05 10:00:00,2.0,101.0,UK\n",
    "2,A,APPLE,3,2010-01-20 11:00:00,1.0,102.0,UK\n",
    "2,C,CHERRY,1,2010-01-20 11:00:00,3.0,102.0,UK\n",
    "2,D,DATE,1,2010-01-20 11:00:00,4.0,102.0,UK\n",
    # after the cut: a sale and a cancellation of invoice 2
    "3,A,APPLE,1,2010-02-03 09:00:00,1.0,101.0,UK\n",
    "C4,C,CHERRY,-1,2010-02-04 09:00:00,3.0,102.0,UK\n",
]


def read(path):
    return duckdb.sql(
        f"select * from read_csv('{path}', all_varchar = true, header = true)"
    ).fetchall()


def test_split_by_date_with_late_lines_resends_and_a_copied_file(write_file, tmp_path):
    source = write_file("all.csv", HEADER + "".join(LINES))
    out = tmp_path / "batches"
    first, second = batches.split(
        source,
        str(out),
        ["2010-02-01"],
        late_share=1.0,
        resend_share=1.0,
        copy_previous_file=True,
    )
    # (C4 is dated after the cut, so it is in batch 2 whatever the share)
    assert first.number == 1 and second.number == 2
    assert [f.rsplit("/", 1)[1] for f in second.files] == [
        "batch_002.csv",
        "batch_002_resent_batch_001.csv",
    ]
    # with late_share 1 the last line of every early sales invoice arrives late
    early = read(first.files[0])
    assert [(r[0], r[1]) for r in early] == [("1", "A"), ("2", "A"), ("2", "C")]
    late = read(second.files[0])
    # the new batch: its own lines, the late lines, then the re-sent lines
    assert [(r[0], r[1]) for r in late] == [
        ("1", "B"),
        ("2", "D"),
        ("3", "A"),
        ("C4", "C"),
        ("1", "A"),
        ("2", "A"),
        ("2", "C"),
    ]
    with open(first.files[0], "rb") as a, open(second.files[1], "rb") as b:
        assert a.read() == b.read()
    # name order is arrival order
    assert sorted([*first.files, *second.files]) == [*first.files, *second.files]


def test_split_without_extras_keeps_every_line_once(write_file, tmp_path):
    source = write_file("all.csv", HEADER + "".join(LINES))
    made = batches.split(
        source,
        str(tmp_path / "b"),
        ["2010-01-10", "2010-02-01"],
        late_share=0,
        resend_share=0,
    )
    counts = [len(read(b.files[0])) for b in made]
    assert counts == [2, 3, 2]
    # late cancellations: a cancellation dated before the cut arrives after it
    early_cancel = write_file(
        "c.csv",
        HEADER
        + "".join(LINES[:5])
        + "C5,A,APPLE,-1,2010-01-25 09:00:00,1.0,102.0,UK\n",
    )
    one, two = batches.split(
        early_cancel,
        str(tmp_path / "d"),
        ["2010-02-01"],
        late_share=0,
        late_cancellation_share=1.0,
        resend_share=0,
    )
    assert [r[0] for r in read(two.files[0])] == ["C5"]
    assert len(read(one.files[0])) == 5
    with pytest.raises(ValueError, match="increasing"):
        batches.split(source, str(tmp_path / "c"), ["2010-02-01", "2010-01-01"])


def test_manifest_helpers_list_and_hash_files(write_file):
    path = write_file("x.csv", HEADER + GOOD_LINES[0])
    (listed,) = landing.list_input_files(path)
    assert listed["source_file"] == path
    assert listed["size_bytes"] == len(HEADER + GOOD_LINES[0])
    import hashlib

    expected = hashlib.sha256((HEADER + GOOD_LINES[0]).encode()).hexdigest()
    assert landing.file_sha256(path) == expected


def test_land_pending_numbers_rows_after_the_offset_file_by_file(write_file):
    bad = "489437,22,too,few\n"
    one = write_file("a.csv", HEADER + GOOD_LINES[0] + bad + GOOD_LINES[1])
    two = write_file("b.csv", HEADER + GOOD_LINES[2])
    request = landing.parse_request(
        input_format="online_retail_ii", input_path=one.rsplit("/", 1)[0] + "/*.csv"
    )
    con = duckdb.connect()
    rows = (
        landing.land_pending(
            con,
            request,
            [
                landing.PendingFile(one, 3),
                landing.PendingFile(two, 4, duplicate_of_file="earlier.csv"),
            ],
            row_offset=100,
        )
        .project("raw_row_id, source_file, load_error, landed_batch, duplicate_of_file")
        .order("raw_row_id")
        .fetchall()
    )
    # file a: its two readable rows, then its rejected line; then file b
    assert rows == [
        (101, one, None, 3, None),
        (102, one, None, 3, None),
        (103, one, "wrong_field_count", 3, None),
        (104, two, None, 4, "earlier.csv"),
    ]
    empty = landing.land_pending(con, request, [], row_offset=7)
    assert empty.fetchall() == []
    assert empty.columns == list(landing.LANDED_COLUMNS + landing.BATCH_COLUMNS)
