{#-
    Sales invoices (order grain) with the value of returns matched back to them.
    Incremental by invoice: the invoices touched by the lines int_lines_cleaned
    refreshed since this table's last build (their own invoices and the
    invoices their returns point to) are recomputed from all their lines, so an
    invoice shared by two customers stays exact too.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='invoice_id',
    )
}}
with

all_lines as not materialized (

    select * from {{ ref('int_lines_cleaned') }}

),

{% if is_incremental() %}

    refreshed as (

        select * from all_lines
        where refreshed_batch > {{ last_refreshed_batch() }}

    ),

    touched_invoices as (

        select invoice_id from refreshed
        union
        select original_invoice_id from refreshed
        where original_invoice_id is not null

    ),

    lines as (

        select * from all_lines
        where
            invoice_id in (select touched_invoices.invoice_id from touched_invoices)
            or original_invoice_id in (
                select touched_invoices.invoice_id from touched_invoices
            )

    ),

{% else %}

    lines as (

        select * from all_lines

    ),

{% endif %}

sales_aggregated as (

    select
        invoice_id,
        min(customer_id) as customer_id,
        min(country) as country,
        count(*) as line_count,
        count(distinct product_id) as product_count,
        sum(quantity) as unit_count,
        sum(line_amount) as gross_amount,
        max(refreshed_batch) as refreshed_batch,
        min(invoiced_at) as invoiced_at

    from lines
    where line_type = 'sale'
    group by 1

),

returns_aggregated as (

    select
        original_invoice_id as invoice_id,
        count(*) as returned_line_count,
        -sum(line_amount) as returned_amount,
        max(refreshed_batch) as refreshed_batch,
        max(invoiced_at) as last_returned_at

    from lines
    where line_type = 'return'
    group by 1

),

joined as (

    select
        sales_aggregated.invoice_id,
        sales_aggregated.customer_id,
        sales_aggregated.country,
        sales_aggregated.line_count,
        sales_aggregated.product_count,
        sales_aggregated.unit_count,
        coalesce(returns_aggregated.returned_line_count, 0) as returned_line_count,
        sales_aggregated.gross_amount,
        coalesce(
            returns_aggregated.returned_amount, 0
        ) as returned_amount,
        sales_aggregated.gross_amount
        - coalesce(returns_aggregated.returned_amount, 0) as net_amount,
        greatest(
            sales_aggregated.refreshed_batch, returns_aggregated.refreshed_batch
        ) as refreshed_batch,
        returns_aggregated.invoice_id is not null as has_return,
        cast(sales_aggregated.invoiced_at as date) as invoice_date,
        sales_aggregated.invoiced_at,
        returns_aggregated.last_returned_at

    from sales_aggregated
    left join returns_aggregated
        on sales_aggregated.invoice_id = returns_aggregated.invoice_id

)

select * from joined
