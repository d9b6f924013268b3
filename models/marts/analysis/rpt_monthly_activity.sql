with

orders as (

    select * from {{ ref('int_orders_aggregated') }}

),

customer_days as (

    select * from {{ ref('int_customer_days_aggregated') }}

),

first_orders as (

    select
        customer_id,
        min(invoiced_at) as first_ordered_at

    from orders
    group by 1

),

orders_by_month as (

    select
        cast({{ dbt.date_trunc('month', 'orders.invoiced_at') }} as date)
            as month_start,
        count(*) as order_count,
        count(distinct orders.customer_id) as active_customer_count,
        count(
            distinct case
                when orders.invoiced_at = first_orders.first_ordered_at
                    then orders.customer_id
            end
        ) as new_customer_count,
        sum(orders.gross_amount) as gross_amount

    from orders
    inner join first_orders
        on orders.customer_id = first_orders.customer_id
    group by 1

),

returns_by_month as (

    select
        cast({{ dbt.date_trunc('month', 'activity_date') }} as date) as month_start,
        sum(returned_amount) as returned_amount

    from customer_days
    group by 1

),

final as (

    select
        ---------- numerics
        cast(orders_by_month.order_count as bigint) as order_count,
        cast(orders_by_month.active_customer_count as bigint)
            as active_customer_count,
        cast(orders_by_month.new_customer_count as bigint) as new_customer_count,
        cast(orders_by_month.gross_amount as decimal(18, 2)) as gross_amount,
        cast(coalesce(returns_by_month.returned_amount, 0) as decimal(18, 2))
            as returned_amount,
        cast(
            orders_by_month.gross_amount - coalesce(returns_by_month.returned_amount, 0)
            as decimal(18, 2)
        ) as net_amount,
        cast(
            orders_by_month.gross_amount / orders_by_month.order_count
            as decimal(18, 2)
        ) as average_order_value,

        ---------- dates
        orders_by_month.month_start

    from orders_by_month
    left join returns_by_month
        on orders_by_month.month_start = returns_by_month.month_start

)

select * from final
