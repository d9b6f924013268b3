"""clv_warehouse.errors: the one line a user sees for a library error."""

from __future__ import annotations

import duckdb
import pytest

from clv_warehouse.errors import first_line


def test_first_line_of_a_multi_line_duckdb_error():
    con = duckdb.connect()
    with pytest.raises(duckdb.Error) as caught:
        con.execute("select * from no_such_table")
    line = first_line(caught.value)
    assert "no_such_table" in line
    assert "\n" not in line
    assert len(str(caught.value).splitlines()) > 1  # the case worth a helper


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ValueError("\n\n  bad value  \nstack"), "bad value"),
        (KeyError(), "KeyError"),
        (RuntimeError("   \n  "), "RuntimeError"),
    ],
)
def test_first_line_skips_blank_lines_and_falls_back_to_the_type(exc, expected):
    assert first_line(exc) == expected
