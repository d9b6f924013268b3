with

orders as (

    select * from {{ ref('int_orders_aggregated') }}

),

bucketed as (

    select
        case
            when line_count = 1 then '01: 1 line'
            when line_count <= 5 then '02: 2-5 lines'
            when line_count <= 10 then '03: 6-10 lines'
            when line_count <= 20 then '04: 11-20 lines'
            when line_count <= 50 then '05: 21-50 lines'
            else '06: 51+ lines'
        end as basket_size_bucket,
        line_count,
        unit_count,
        gross_amount

    from orders

),

final as (

    select
        ---------- strings
        basket_size_bucket,

        ---------- numerics
        cast(count(*) as bigint) as order_count,
        cast(count(*) / sum(count(*)) over () as double) as order_share,
        cast(avg(line_count) as double) as average_line_count,
        cast(avg(unit_count) as double) as average_unit_count,
        cast(avg(gross_amount) as decimal(18, 2)) as average_order_value

    from bucketed
    group by 1

)

select * from final
