{#-
    Incremental by invoice: line numbers are per invoice, so the invoices of
    the lines int_lines_cleaned refreshed since this table's last build are
    renumbered from all their lines (new lines always number last: raw_row_id
    only grows).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='invoice_id',
        on_schema_change='fail',
    )
}}
with

lines as (

    select * from {{ ref('int_lines_cleaned') }}
    {% if is_incremental() %}
        where invoice_id in (
            {{ refreshed_keys(ref('int_lines_cleaned'), 'invoice_id') }}
        )
    {% endif %}

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
        refreshed_batch,

        ---------- booleans
        is_return,

        ---------- dates
        cast(invoiced_at as date) as invoice_date,

        ---------- timestamps
        cast(invoiced_at as timestamp) as invoiced_at

    from lines

)

select * from numbered
