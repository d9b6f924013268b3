{#- Sales invoices (order grain) with the value of returns matched back to them. -#}
with

lines as (

    select * from {{ ref('int_lines_cleaned') }}

),

sales_aggregated as (

    select
        invoice_id,
        min(customer_id) as customer_id,
        min(country) as country,
        count(*) as line_count,
        count(distinct product_id) as product_count,
        sum(quantity) as unit_count,
        sum(line_amount) as gross_amount,
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
        returns_aggregated.invoice_id is not null as has_return,
        cast(sales_aggregated.invoiced_at as date) as invoice_date,
        sales_aggregated.invoiced_at,
        returns_aggregated.last_returned_at

    from sales_aggregated
    left join returns_aggregated
        on sales_aggregated.invoice_id = returns_aggregated.invoice_id

)

select * from joined
