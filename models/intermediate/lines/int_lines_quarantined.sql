{#- Every raw row that did not make it to silver, with its reason and raw text. -#}
with

classified as (

    select * from {{ ref('int_lines_classified') }}

),

returns_matched as (

    select * from {{ ref('int_returns_matched') }}

),

quarantined as (

    select
        ---------- ids
        classified.raw_row_id,

        ---------- strings
        coalesce(
            classified.rejection_reason,
            'unmatched_cancellation'
        ) as reason_code,
        classified.input_format,
        classified.source_file,
        classified.invoice_text,
        classified.product_text,
        classified.description,
        classified.quantity_text,
        classified.unit_price_text,
        classified.line_amount_text,
        classified.invoiced_at_text,
        classified.customer_text,
        classified.country,
        classified.raw_line,

        ---------- numerics
        classified.source_line_number,

        ---------- timestamps
        classified.invoiced_at

    from classified
    left join returns_matched
        on classified.raw_row_id = returns_matched.raw_row_id
    where
        classified.rejection_reason is not null
        or not returns_matched.is_matched

)

select * from quarantined
