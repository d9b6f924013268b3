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
