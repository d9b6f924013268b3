{#-
    One row: the population-wide references of ml_customer_features, which is
    built one bucket of customers at a time and so cannot compute them itself:
    - home_country: the country with the most orders (is_home_country);
    - low_medium_threshold, medium_high_threshold: the terciles of positive
      future spend over all matured (cutoff, customer) rows, which split the
      value_tier label into low / medium / high.
    Spend is DECIMAL, so the sums here equal the per-bucket sums exactly.
-#}
with

activity as (

    select * from {{ ref('int_customer_days_aggregated') }}

),

orders as (

    select * from {{ ref('int_orders_aggregated') }}

),

cutoffs as (

    select * from {{ ref('ml_cutoffs') }}

),

home_country as (

    select
        country,
        count(*) as order_count

    from orders
    where country is not null
    group by 1
    order by 2 desc, 1
    limit 1

),

future as (

    select
        cutoffs.cutoff_id,
        activity.customer_id,
        {{ future_spend() }} as future_spend

    from {{ label_window_activity() }}
    group by 1, 2

),

tier_thresholds as (

    select {{ value_tier_thresholds('future_spend') }}
    from future
    where future_spend > 0

)

select
    home_country.country as home_country,
    tier_thresholds.low_medium_threshold,
    tier_thresholds.medium_high_threshold

from tier_thresholds
left join home_country
    on true
