with

orders as (

    select * from {{ ref('int_orders_aggregated') }}

),

by_country as (

    select
        coalesce(country, 'Unknown') as country,
        count(distinct customer_id) as customer_count,
        count(*) as order_count,
        sum(net_amount) as net_amount

    from orders
    group by 1

),

final as (

    select
        ---------- strings
        country,

        ---------- numerics
        cast(customer_count as bigint) as customer_count,
        cast(order_count as bigint) as order_count,
        cast(net_amount as decimal(18, 2)) as net_amount,
        cast(net_amount / sum(net_amount) over () as double) as revenue_share,
        cast(customer_count / sum(customer_count) over () as double)
            as customer_share

    from by_country

)

select * from final
