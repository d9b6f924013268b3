"""Bronze landing: every raw row of the chosen input, as text, with provenance.

Thin adapter: the reading rules live in clv_warehouse.landing (tested there).
"""

from clv_warehouse import landing


def model(dbt, session):
    dbt.config(materialized="table")
    dbt.ref("stg_input__validated")  # the input is checked first, in SQL
    request = landing.parse_request(
        input_format=dbt.config.get("input_format"),
        input_path=dbt.config.get("input_path"),
        delimiter=dbt.config.get("input_delimiter"),
        sheet=dbt.config.get("input_sheet"),
        input_columns=dbt.config.get("input_columns"),
    )
    return landing.land(session, request)
