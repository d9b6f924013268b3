with

orders as (

    select * from {{ ref('int_orders_aggregated') }}

),

customer_days as (

    select * from {{ ref('int_customer_days_aggregated') }}

),

countries_ranked as (

    select
        customer_id,
        country,
        row_number() over (
            partition by customer_id
            order by count(*) desc, max(invoiced_at) desc, country
        ) as country_rank

    from orders
    where country is not null
    group by 1, 2

),

orders_aggregated as (

    select
        customer_id,
        count(*) as order_count,
        sum(gross_amount) as gross_amount,
        sum(unit_count) as unit_count,
        min(invoiced_at) as first_ordered_at,
        max(invoiced_at) as last_ordered_at

    from orders
    group by 1

),

days_aggregated as (

    select
        customer_id,
        count(*) filter (where has_purchase) as purchase_day_count,
        sum(returned_amount) as returned_amount,
        sum(net_amount) as net_amount

    from customer_days
    group by 1

),

final as (

    select
        ---------- ids
        orders_aggregated.customer_id,

        ---------- strings
        countries_ranked.country,

        ---------- numerics
        cast(orders_aggregated.order_count as bigint) as order_count,
        cast(days_aggregated.purchase_day_count as bigint) as purchase_day_count,
        cast(orders_aggregated.unit_count as double) as unit_count,
        cast(orders_aggregated.gross_amount as decimal(18, 2)) as gross_amount,
        cast(days_aggregated.returned_amount as decimal(18, 2)) as returned_amount,
        cast(days_aggregated.net_amount as decimal(18, 2)) as net_amount,
        cast(
            orders_aggregated.gross_amount / orders_aggregated.order_count
            as decimal(18, 2)
        ) as average_order_value,

        ---------- booleans
        orders_aggregated.order_count > 1 as is_repeat_customer,

        ---------- dates
        cast(orders_aggregated.first_ordered_at as date) as first_order_date,
        cast(orders_aggregated.last_ordered_at as date) as last_order_date,

        ---------- timestamps
        cast(orders_aggregated.first_ordered_at as timestamp) as first_ordered_at,
        cast(orders_aggregated.last_ordered_at as timestamp) as last_ordered_at

    from orders_aggregated
    inner join days_aggregated
        on orders_aggregated.customer_id = days_aggregated.customer_id
    left join countries_ranked
        on
            orders_aggregated.customer_id = countries_ranked.customer_id
            and countries_ranked.country_rank = 1

)

select * from final
