with

lines as not materialized (

    select * from {{ ref('int_lines_cleaned') }}
    where product_id is not null

),

descriptions_ranked as (

    select
        product_id,
        description,
        row_number() over (
            partition by product_id
            order by count(*) desc, description
        ) as description_rank

    from lines
    where description is not null
    group by 1, 2

),

{# The median comes from each product's price distribution, not from
   median(): a median keeps every value of its group in memory and cannot
   spill, while these group-bys and the window over (product, price) rows do.
   It is the same exact median: the mean of the values at sorted positions
   floor((n + 1) / 2) and floor(n / 2) + 1, as median() interpolates. #}
prices_counted as (

    select
        product_id,
        unit_price,
        count(*) as line_count

    from lines
    group by 1, 2

),

prices_ranked as (

    select
        product_id,
        unit_price,
        sum(line_count) over (
            partition by product_id
            order by unit_price
            rows between unbounded preceding and current row
        ) as running_count,
        sum(line_count) over (partition by product_id) as total_count

    from prices_counted

),

medians as (

    select
        product_id,
        (
            min(unit_price) filter (where running_count >= (total_count + 1) // 2)
            + min(unit_price) filter (where running_count >= total_count // 2 + 1)
        ) / 2 as median_unit_price

    from prices_ranked
    group by 1

),

products_aggregated as (

    select
        product_id,
        count(distinct case when line_type = 'sale' then invoice_id end)
            as order_count,
        count(distinct customer_id) as customer_count,
        sum(case when line_type = 'sale' then quantity else 0 end) as units_sold,
        -sum(case when line_type = 'return' then quantity else 0 end)
            as units_returned,
        sum(case when line_type = 'sale' then line_amount else 0 end)
            as gross_amount,
        min(invoiced_at) as first_sold_at,
        max(invoiced_at) as last_sold_at

    from lines
    group by 1

),

final as (

    select
        ---------- ids
        products_aggregated.product_id,

        ---------- strings
        descriptions_ranked.description,

        ---------- numerics
        cast(products_aggregated.order_count as bigint) as order_count,
        cast(products_aggregated.customer_count as bigint) as customer_count,
        cast(products_aggregated.units_sold as double) as units_sold,
        cast(products_aggregated.units_returned as double) as units_returned,
        cast(products_aggregated.gross_amount as decimal(18, 2)) as gross_amount,
        cast(medians.median_unit_price as decimal(18, 4)) as median_unit_price,

        ---------- timestamps
        cast(products_aggregated.first_sold_at as timestamp) as first_sold_at,
        cast(products_aggregated.last_sold_at as timestamp) as last_sold_at

    from products_aggregated
    inner join medians
        on products_aggregated.product_id = medians.product_id
    left join descriptions_ranked
        on
            products_aggregated.product_id = descriptions_ranked.product_id
            and descriptions_ranked.description_rank = 1

)

select * from final
