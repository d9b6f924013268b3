with

lines as (

    select * from {{ ref('int_lines_cleaned') }}

),

numbered as (

    select
        ---------- ids
        invoice_id || '-' || cast(
            row_number() over (partition by invoice_id order by raw_row_id)
            as varchar
        ) as order_line_id,
        invoice_id,
        original_invoice_id,
        customer_id,
        product_id,

        ---------- strings
        description,
        country,
        line_type,
        source_file,

        ---------- numerics
        raw_row_id,
        cast(quantity as double) as quantity,
        unit_price,
        line_amount,

        ---------- booleans
        is_return,

        ---------- dates
        cast(invoiced_at as date) as invoice_date,

        ---------- timestamps
        cast(invoiced_at as timestamp) as invoiced_at

    from lines

)

select * from numbered
