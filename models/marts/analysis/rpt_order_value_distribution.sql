with

orders as (

    select * from {{ ref('int_orders_aggregated') }}

),

bucketed as (

    select
        case
            when gross_amount < 10 then '01: under 10'
            when gross_amount < 20 then '02: 10-20'
            when gross_amount < 50 then '03: 20-50'
            when gross_amount < 100 then '04: 50-100'
            when gross_amount < 200 then '05: 100-200'
            when gross_amount < 500 then '06: 200-500'
            when gross_amount < 1000 then '07: 500-1000'
            else '08: 1000 and over'
        end as order_value_bucket,
        gross_amount

    from orders

),

final as (

    select
        ---------- strings
        order_value_bucket,

        ---------- numerics
        cast(count(*) as bigint) as order_count,
        cast(count(*) / sum(count(*)) over () as double) as order_share,
        cast(sum(gross_amount) as decimal(18, 2)) as gross_amount,
        cast(sum(gross_amount) / sum(sum(gross_amount)) over () as double)
            as revenue_share

    from bucketed
    group by 1

)

select * from final
