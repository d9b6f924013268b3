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

lines as not materialized (

    select * from {{ ref('int_lines_cleaned') }}
    {% if is_incremental() %}
        where invoice_id in (
            {{ refreshed_keys(ref('int_lines_cleaned'), 'invoice_id') }}
        )
    {% endif %}

),

{# the window sorts only (invoice, row id), not every column of every line #}
line_numbers as (

    select
        raw_row_id,
        row_number() over (partition by invoice_id order by raw_row_id)
            as line_number

    from lines

),

numbered as (

    select
        ---------- ids
        lines.invoice_id || '-' || cast(line_numbers.line_number as varchar)
            as order_line_id,
        lines.invoice_id,
        lines.original_invoice_id,
        lines.customer_id,
        lines.product_id,

        ---------- strings
        lines.description,
        lines.country,
        lines.line_type,
        lines.source_file,

        ---------- numerics
        lines.raw_row_id,
        cast(lines.quantity as double) as quantity,
        lines.unit_price,
        lines.line_amount,
        lines.refreshed_batch,

        ---------- booleans
        lines.is_return,

        ---------- dates
        cast(lines.invoiced_at as date) as invoice_date,

        ---------- timestamps
        cast(lines.invoiced_at as timestamp) as invoiced_at

    from lines
    inner join line_numbers
        on lines.raw_row_id = line_numbers.raw_row_id

)

select * from numbered
