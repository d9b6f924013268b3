"""Error text for one-line messages: what a user or a scheduler log shows."""

from __future__ import annotations


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message, else its type name.

    Library errors (DuckDB, MLflow, openpyxl) often carry a multi-line message
    with a stack or a SQL excerpt; the project's own errors show one line.
    """
    for line in str(exc).strip().splitlines():
        if line.strip():
            return line.strip()
    return type(exc).__name__
