"""dbt-duckdb plugin: SQL functions the project's models call during a build.

``clv_check_input(format, path, delimiter, sheet, columns_json)`` returns '' for a
usable input and the one-line problem otherwise, so the SQL model
``stg_input__validated`` can stop the build with ``error(...)``: dbt then prints
one line naming the file and the problem, never a Python traceback.
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from clv_warehouse import landing


def _check(input_format, input_path, delimiter, sheet, input_columns):
    return landing.check_input(
        input_format or "",
        input_path or "",
        delimiter or "auto",
        sheet or "",
        input_columns or "{}",
    )


def _files(input_path):
    return landing.list_input_files(input_path or "")


class Plugin(BasePlugin):
    def configure_connection(self, conn):
        conn.create_function(
            "clv_check_input",
            _check,
            ["VARCHAR"] * 5,
            "VARCHAR",
            null_handling="special",
            side_effects=True,
        )
        conn.create_function(
            "clv_input_files",
            _files,
            ["VARCHAR"],
            "STRUCT(source_file VARCHAR, size_bytes BIGINT, modified_ns BIGINT)[]",
            side_effects=True,
        )
        conn.create_function(
            "clv_file_sha256",
            landing.file_sha256,
            ["VARCHAR"],
            "VARCHAR",
            side_effects=True,
        )
