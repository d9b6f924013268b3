{#-
    Incremental by customer: the customers whose orders or customer-days were
    refreshed since this table's last build are recomputed from all of theirs.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='customer_id',
        on_schema_change='fail',
    )
}}
-- depends_on: {{ ref('int_lines_cleaned') }}
with

{% if is_incremental() %}

    refreshed_customers as (

        select customer_id from {{ ref('int_orders_aggregated') }}
        where refreshed_batch > {{ last_refreshed_batch() }}

        union

        -- an invoice shared by customers belongs to the smallest id: a late
        -- line can move it, so every customer on a refreshed invoice counts
        select customer_id from {{ ref('int_lines_cleaned') }}
        where invoice_id in (
            select refreshed_orders.invoice_id
            from {{ ref('int_orders_aggregated') }} as refreshed_orders
            where refreshed_orders.refreshed_batch > {{ last_refreshed_batch() }}
        )

        union

        select customer_id from {{ ref('int_customer_days_aggregated') }}
        where refreshed_batch > {{ last_refreshed_batch() }}

    ),

{% endif %}

orders as (

    select * from {{ ref('int_orders_aggregated') }}
    {% if is_incremental() %}
        where customer_id in (
            select refreshed_customers.customer_id from refreshed_customers
        )
    {% endif %}

),

customer_days as (

    select * from {{ ref('int_customer_days_aggregated') }}
    {% if is_incremental() %}
        where customer_id in (
            select refreshed_customers.customer_id from refreshed_customers
        )
    {% endif %}

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
        max(invoiced_at) as last_ordered_at,
        max(refreshed_batch) as refreshed_batch

    from orders
    group by 1

),

days_aggregated as (

    select
        customer_id,
        count(*) filter (where has_purchase) as purchase_day_count,
        sum(returned_amount) as returned_amount,
        sum(net_amount) as net_amount,
        max(refreshed_batch) as refreshed_batch

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
        greatest(
            orders_aggregated.refreshed_batch, days_aggregated.refreshed_batch
        ) as refreshed_batch,

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
