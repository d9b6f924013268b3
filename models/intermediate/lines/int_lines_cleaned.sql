{#-
    Silver line items: clean sales lines plus returns matched to their purchase.
    Incremental by customer: the customers int_lines_classified refreshed since
    this table's last build are rewritten (a customer's clean lines only ever
    grow, so delete+insert by customer is exact).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='customer_id',
    )
}}
with

classified as (

    select * from {{ ref('int_lines_classified') }}
    where rejection_reason is null
    {% if is_incremental() %}
        and refreshed_batch > {{ last_refreshed_batch() }}
    {% endif %}

),

returns_matched as (

    select * from {{ ref('int_returns_matched') }}
    where is_matched

),

cleaned as (

    select
        ---------- ids
        classified.raw_row_id,
        classified.invoice_id,
        returns_matched.original_invoice_id,
        classified.customer_id,
        classified.product_id,

        ---------- strings
        classified.input_format,
        classified.source_file,
        classified.description,
        classified.country,
        case when classified.is_cancellation then 'return' else 'sale' end
            as line_type,

        ---------- numerics
        classified.refreshed_batch,
        classified.quantity,
        cast(classified.unit_price as decimal(18, 4)) as unit_price,
        cast(round(classified.line_amount, 2) as decimal(18, 2)) as line_amount,

        ---------- booleans
        classified.is_cancellation as is_return,

        ---------- timestamps
        classified.invoiced_at

    from classified
    left join returns_matched
        on classified.raw_row_id = returns_matched.raw_row_id
    where not classified.is_cancellation or returns_matched.raw_row_id is not null

)

select * from cleaned
