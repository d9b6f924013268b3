"""Bronze landing: every raw row of the chosen input, as text, with provenance.

Incremental: each build lands only the manifest files (stg_input__files) of a
batch this table does not hold yet, numbering their rows after the last landed
row. Thin adapter: the reading rules live in clv_warehouse.landing (tested there).
"""

from clv_warehouse import landing


def model(dbt, session):
    dbt.config(materialized="incremental", incremental_strategy="append")
    dbt.ref("stg_input__validated")  # the input is checked first, in SQL
    request = landing.parse_request(
        input_format=dbt.config.get("input_format"),
        input_path=dbt.config.get("input_path"),
        delimiter=dbt.config.get("input_delimiter"),
        sheet=dbt.config.get("input_sheet"),
        input_columns=dbt.config.get("input_columns"),
    )
    landed_batch, last_row_id = 0, 0
    if dbt.is_incremental:
        landed_batch, last_row_id = session.execute(
            "select coalesce(max(landed_batch), 0), coalesce(max(raw_row_id), 0) "
            f"from {dbt.this}"
        ).fetchall()[0]
    pending = [
        landing.PendingFile(path, batch, duplicate)
        for path, batch, duplicate in dbt.ref("stg_input__files")
        .filter(f"landed_batch > {int(landed_batch)}")
        .order("landed_batch, source_file")
        .project("source_file, landed_batch, duplicate_of_file")
        .fetchall()
    ]
    return landing.land_pending(session, request, pending, row_offset=last_row_id)
