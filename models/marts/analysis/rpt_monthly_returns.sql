with

lines as (

    select * from {{ ref('int_lines_cleaned') }}

),

by_month as (

    select
        cast({{ dbt.date_trunc('month', 'invoiced_at') }} as date) as month_start,
        sum(case when line_type = 'sale' then line_amount else 0 end)
            as gross_amount,
        -sum(case when line_type = 'return' then line_amount else 0 end)
            as returned_amount,
        count(case when line_type = 'return' then 1 end) as return_line_count,
        count(distinct case when line_type = 'return' then invoice_id end)
            as return_invoice_count

    from lines
    group by 1

),

final as (

    select
        ---------- numerics
        cast(return_line_count as bigint) as return_line_count,
        cast(return_invoice_count as bigint) as return_invoice_count,
        cast(gross_amount as decimal(18, 2)) as gross_amount,
        cast(returned_amount as decimal(18, 2)) as returned_amount,
        cast(returned_amount / nullif(gross_amount, 0) as double) as return_rate,

        ---------- dates
        month_start

    from by_month

)

select * from final
