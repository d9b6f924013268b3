{#-
    One row per (ML cutoff, customer with a purchase before it): features from
    history strictly before the cutoff, and labels from the window after it
    (null until the window has matured). value_tier: none (no spend in
    var('value_horizon_days')), else low / medium / high by the terciles of
    positive future spend over all matured rows. Features are integers or values
    rounded to 2 decimals, so in-SQL scoring matches Python exactly.

    Built one bucket of customers at a time (var('feature_customer_buckets')
    statements, macros/bucketed_table.sql): every row depends on one
    customer's history only, and the population-wide references (home country,
    tier thresholds) come from ml_feature_references. At 100M lines the
    single statement ran out of memory under an 8 GB limit.
-#}
{{
  config(
    materialized='bucketed_table',
    buckets=var('feature_customer_buckets'),
  )
}}

with

activity as (

    select * from {{ ref('int_customer_days_aggregated') }}
    where {{ bucket_filter('customer_id') }}

),

orders as (

    select * from {{ ref('int_orders_aggregated') }}
    where {{ bucket_filter('customer_id') }}

),

feature_references as (

    select * from {{ ref('ml_feature_references') }}

),

cutoffs as (

    select * from {{ ref('ml_cutoffs') }}

),

{# BG/NBD fitted at each cutoff on the history before it; a cutoff it could
   not be fitted at gives null probabilistic features #}
bgnbd_parameters as (

    select * from {{ ref('ml_bgnbd_at_cutoffs') }}
    where r is not null and not isnan(r)

),

purchase_gaps as (

    select
        customer_id,
        activity_date,
        activity_date - lag(activity_date) over (
            partition by customer_id order by activity_date
        ) as gap_days

    from activity
    where has_purchase

),

customer_countries as (

    select
        customer_id,
        max(country) as country

    from orders
    group by 1

),

history as (

    select
        cutoffs.cutoff_id,
        activity.customer_id,
        count(case when activity.has_purchase then 1 end) as purchase_day_count,
        min(case when activity.has_purchase then activity.activity_date end)
            as first_purchase_date,
        max(case when activity.has_purchase then activity.activity_date end)
            as last_purchase_date,
        sum(activity.gross_amount) as gross_amount,
        sum(activity.returned_amount) as returned_amount,
        sum(activity.net_amount) as net_amount,
        sum(activity.order_count) as order_count,
        count(
            case
                when
                    activity.has_purchase
                    and activity.activity_date >= cutoffs.cutoff_date - 30
                    then 1
            end
        ) as purchase_days_last_30,
        count(
            case
                when
                    activity.has_purchase
                    and activity.activity_date >= cutoffs.cutoff_date - 90
                    then 1
            end
        ) as purchase_days_last_90,
        count(
            case
                when
                    activity.has_purchase
                    and activity.activity_date >= cutoffs.cutoff_date - 180
                    then 1
            end
        ) as purchase_days_last_180,
        sum(
            case
                when activity.activity_date >= cutoffs.cutoff_date - 90
                    then activity.gross_amount
                else 0
            end
        ) as spend_last_90,
        sum(
            case
                when
                    activity.activity_date >= cutoffs.cutoff_date - 180
                    and activity.activity_date < cutoffs.cutoff_date - 90
                    then activity.gross_amount
                else 0
            end
        ) as spend_previous_90,
        count(
            case
                when
                    activity.has_purchase
                    and month(activity.activity_date) in (10, 11, 12)
                    then 1
            end
        ) as q4_purchase_days

    from cutoffs
    inner join activity
        on cutoffs.cutoff_date > activity.activity_date
    group by 1, 2
    having count(case when activity.has_purchase then 1 end) > 0

),

gaps as (

    select
        cutoffs.cutoff_id,
        purchase_gaps.customer_id,
        avg(purchase_gaps.gap_days) as mean_gap_days,
        stddev_pop(purchase_gaps.gap_days) as std_gap_days

    from cutoffs
    inner join purchase_gaps
        on cutoffs.cutoff_date > purchase_gaps.activity_date
    where purchase_gaps.gap_days is not null
    group by 1, 2

),

baskets as (

    select
        cutoffs.cutoff_id,
        orders.customer_id,
        avg(orders.line_count) as average_lines_per_order,
        avg(orders.product_count) as average_products_per_order

    from cutoffs
    inner join orders
        on cutoffs.cutoff_date > orders.invoice_date
    group by 1, 2

),

future as (

    select
        cutoffs.cutoff_id,
        activity.customer_id,
        count(
            case
                when
                    activity.has_purchase
                    and activity.activity_date
                    < cutoffs.cutoff_date + {{ var('churn_window_days') }}
                    then 1
            end
        ) as future_purchase_days,
        {{ future_spend() }} as future_spend

    from {{ label_window_activity() }}
    group by 1, 2

),

{# The four per-(cutoff, customer) parts meet in one group-by instead of
   three hash joins: at 100M lines (14M history rows) the joins ran out of
   memory under an 8 GB limit, while a group-by spills to disk. Each column
   comes from one part, so max() picks its value; history decides who is in. #}
combined as (

    select
        cutoff_id,
        customer_id,
        max(purchase_day_count) as purchase_day_count,
        max(first_purchase_date) as first_purchase_date,
        max(last_purchase_date) as last_purchase_date,
        max(gross_amount) as gross_amount,
        max(returned_amount) as returned_amount,
        max(net_amount) as net_amount,
        max(order_count) as order_count,
        max(purchase_days_last_30) as purchase_days_last_30,
        max(purchase_days_last_90) as purchase_days_last_90,
        max(purchase_days_last_180) as purchase_days_last_180,
        max(spend_last_90) as spend_last_90,
        max(spend_previous_90) as spend_previous_90,
        max(q4_purchase_days) as q4_purchase_days,
        max(mean_gap_days) as mean_gap_days,
        max(std_gap_days) as std_gap_days,
        max(average_lines_per_order) as average_lines_per_order,
        max(average_products_per_order) as average_products_per_order,
        max(future_purchase_days) as future_purchase_days,
        max(future_spend) as future_spend

    from (
        select
            *,
            true as is_history
        from history
        union all by name
        select * from gaps
        union all by name
        select * from baskets
        union all by name
        select * from future
    ) as parts
    group by 1, 2
    having bool_or(is_history)

),

features as (

    select
        ---------- ids
        combined.cutoff_id,
        combined.customer_id,

        ---------- numerics: features
        cast(cutoffs.cutoff_date - 1 - combined.last_purchase_date as integer)
            as recency_days,
        cast(cutoffs.cutoff_date - 1 - combined.first_purchase_date as integer)
            as tenure_days,
        cast(combined.purchase_day_count as integer) as frequency,
        cast(combined.order_count as integer) as order_count,
        round(combined.net_amount, 2) as monetary_total,
        round(combined.gross_amount / combined.purchase_day_count, 2)
            as average_purchase_value,
        round(
            coalesce(combined.returned_amount / nullif(combined.gross_amount, 0), 0),
            2
        ) as return_rate,
        cast(combined.purchase_days_last_30 as integer) as purchase_days_last_30,
        cast(combined.purchase_days_last_90 as integer) as purchase_days_last_90,
        cast(combined.purchase_days_last_180 as integer) as purchase_days_last_180,
        round(combined.spend_last_90, 2) as spend_last_90,
        round(combined.spend_last_90 - combined.spend_previous_90, 2) as spend_trend_90,
        round(coalesce(combined.mean_gap_days, 0), 2) as mean_gap_days,
        round(coalesce(combined.std_gap_days, 0), 2) as std_gap_days,
        round(
            coalesce(
                (cutoffs.cutoff_date - 1 - combined.last_purchase_date)
                / nullif(combined.mean_gap_days, 0),
                0
            ),
            2
        ) as recency_to_gap_ratio,
        round(coalesce(combined.average_lines_per_order, 0), 2)
            as average_lines_per_order,
        round(coalesce(combined.average_products_per_order, 0), 2)
            as average_products_per_order,
        round(combined.q4_purchase_days / combined.purchase_day_count, 2)
            as q4_purchase_share,
        cast(month(cutoffs.cutoff_date) as integer) as cutoff_month,
        cast(
            coalesce(customer_countries.country = feature_references.home_country, true)
            as integer
        ) as is_home_country,
        {%- set x = 'combined.purchase_day_count - 1' %}
        {%- set t_x = '(combined.last_purchase_date'
            ~ ' - combined.first_purchase_date) / 7.0' %}
        {%- set t_obs = '(cutoffs.cutoff_date - 1'
            ~ ' - combined.first_purchase_date) / 7.0' %}
        round({{ bgnbd_prob_alive(x, t_x, t_obs, 'bgnbd_parameters') }}, 4)
            as bgnbd_prob_alive,
        round(
            {{ bgnbd_prob_no_purchase(
                x, t_x, t_obs, var('churn_window_days') ~ ' / 7.0', 'bgnbd_parameters'
            ) }},
            4
        ) as bgnbd_prob_no_purchase,

        ---------- numerics: label window
        cutoffs.label_window_days,

        ---------- numerics: labels (null until matured)
        case
            when cutoffs.is_label_matured
                then cast(coalesce(combined.future_purchase_days, 0) as integer)
        end as future_purchase_days,
        case
            when cutoffs.is_label_matured
                then round(coalesce(combined.future_spend, 0), 2)
        end as future_spend,

        ---------- strings: label
        case
            when cutoffs.is_label_matured
                then {{ value_tier('combined.future_spend', 'feature_references') }}
        end as value_tier,

        ---------- booleans
        case
            when cutoffs.is_label_matured
                then coalesce(combined.future_purchase_days, 0) = 0
        end as is_churn,
        cutoffs.is_scoring,
        cutoffs.is_label_matured,

        ---------- dates
        cutoffs.cutoff_date

    from combined
    inner join cutoffs
        on combined.cutoff_id = cutoffs.cutoff_id
    left join customer_countries
        on combined.customer_id = customer_countries.customer_id
    left join feature_references
        on true
    left join bgnbd_parameters
        on combined.cutoff_id = bgnbd_parameters.cutoff_id

)

select * from features
