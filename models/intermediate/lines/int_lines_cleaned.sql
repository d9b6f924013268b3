{#-
    Silver line items: clean sales lines plus returns matched to their
    purchase. A view: the typed values are stored once, in int_lines_checked
    (every row that passes its rules), and a return takes its original
    invoice from int_returns_matched. Two branches, so that a reader of sales
    alone (line_type = 'sale') never touches the returns join: DuckDB drops
    the branch whose constant line_type fails the filter. A copy of every
    clean line cost about 4 s of a 10M-line build.

    Unique on raw_row_id without a test of its own: the sales are rows of
    int_lines_checked (unique, tested), the returns its other rows joined one
    to one to int_returns_matched (unique, tested). Incremental readers
    filter on refreshed_batch, which DuckDB pushes into int_lines_checked's
    scan. The refs leave out the database name, so the view still resolves
    in a published copy under another file name.
-#}
{{ config(materialized='view') }}
with

checked as (

    select * from {{ ref('int_lines_checked').include(database=False) }}
    where rejection_reason is null

),

returns_matched as (

    select * from {{ ref('int_returns_matched').include(database=False) }}
    where is_matched

),

sales as (

    select
        ---------- ids
        raw_row_id,
        invoice_id,
        cast(null as varchar) as original_invoice_id,
        customer_id,
        product_id,

        ---------- strings
        input_format,
        source_file,
        description,
        country,
        'sale' as line_type,

        ---------- numerics
        refreshed_batch,
        quantity,
        unit_price,
        line_amount,

        ---------- booleans
        false as is_return,

        ---------- timestamps
        invoiced_at

    from checked
    where not is_return

),

returns as (

    select
        ---------- ids
        checked.raw_row_id,
        checked.invoice_id,
        returns_matched.original_invoice_id,
        checked.customer_id,
        checked.product_id,

        ---------- strings
        checked.input_format,
        checked.source_file,
        checked.description,
        checked.country,
        'return' as line_type,

        ---------- numerics
        checked.refreshed_batch,
        checked.quantity,
        checked.unit_price,
        checked.line_amount,

        ---------- booleans
        true as is_return,

        ---------- timestamps
        checked.invoiced_at

    from checked
    inner join returns_matched
        on checked.raw_row_id = returns_matched.raw_row_id
    where checked.is_return

),

cleaned as (

    select * from sales
    union all
    select * from returns

)

select * from cleaned
