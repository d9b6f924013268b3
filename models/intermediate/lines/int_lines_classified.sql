{#-
    Every typed row beside its verdict (int_lines_checked): the relation the
    rest of silver reads. A view over a one-to-one join on raw_row_id, so the
    26 typed columns are not written a second time; incremental readers filter
    on refreshed_batch and DuckDB pushes that filter into the verdicts.
    assert_raw_rows_reconcile fails if a landed row had no verdict. The refs
    leave out the database name, so the view still resolves in a published
    copy under another file name.
-#}
{{ config(materialized='view') }}
with

staged as (

    select * from {{ ref('stg_input__lines').include(database=False) }}

),

checked as (

    select * from {{ ref('int_lines_checked').include(database=False) }}

),

classified as (

    select
        staged.*,
        checked.copy_number,
        checked.is_non_product,
        checked.refreshed_batch,
        checked.rejection_reason

    from staged
    inner join checked
        on staged.raw_row_id = checked.raw_row_id

)

select * from classified
