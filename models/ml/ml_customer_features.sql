{#-
    One row per (ML cutoff, customer with a purchase before it): features from
    history strictly before the cutoff, and labels from the window after it
    (null until the window has matured). value_tier: none (no spend in
    var('value_horizon_days')), else low / medium / high by the terciles of
    positive future spend over all matured rows. Features are integers or values
    rounded to 2 decimals, so in-SQL scoring matches Python exactly.
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
        sum(
            case
                when
                    activity.activity_date
                    < cutoffs.cutoff_date + {{ var('value_horizon_days') }}
                    then activity.gross_amount
                else 0
            end
        ) as future_spend

    from cutoffs
    inner join activity
        on
            cutoffs.cutoff_date <= activity.activity_date
            and cutoffs.cutoff_date + cutoffs.label_window_days
            > activity.activity_date
    where cutoffs.is_label_matured
    group by 1, 2

),

tier_thresholds as (

    select {{ value_tier_thresholds('future_spend') }}
    from future
    where future_spend > 0

),

features as (

    select
        ---------- ids
        history.cutoff_id,
        history.customer_id,

        ---------- numerics: features
        cast(cutoffs.cutoff_date - 1 - history.last_purchase_date as integer)
            as recency_days,
        cast(cutoffs.cutoff_date - 1 - history.first_purchase_date as integer)
            as tenure_days,
        cast(history.purchase_day_count as integer) as frequency,
        cast(history.order_count as integer) as order_count,
        round(history.net_amount, 2) as monetary_total,
        round(history.gross_amount / history.purchase_day_count, 2)
            as average_purchase_value,
        round(coalesce(history.returned_amount / nullif(history.gross_amount, 0), 0), 2)
            as return_rate,
        cast(history.purchase_days_last_30 as integer) as purchase_days_last_30,
        cast(history.purchase_days_last_90 as integer) as purchase_days_last_90,
        cast(history.purchase_days_last_180 as integer) as purchase_days_last_180,
        round(history.spend_last_90, 2) as spend_last_90,
        round(history.spend_last_90 - history.spend_previous_90, 2) as spend_trend_90,
        round(coalesce(gaps.mean_gap_days, 0), 2) as mean_gap_days,
        round(coalesce(gaps.std_gap_days, 0), 2) as std_gap_days,
        round(
            coalesce(
                (cutoffs.cutoff_date - 1 - history.last_purchase_date)
                / nullif(gaps.mean_gap_days, 0),
                0
            ),
            2
        ) as recency_to_gap_ratio,
        round(coalesce(baskets.average_lines_per_order, 0), 2)
            as average_lines_per_order,
        round(coalesce(baskets.average_products_per_order, 0), 2)
            as average_products_per_order,
        round(history.q4_purchase_days / history.purchase_day_count, 2)
            as q4_purchase_share,
        cast(month(cutoffs.cutoff_date) as integer) as cutoff_month,
        cast(
            coalesce(customer_countries.country = home_country.country, true)
            as integer
        ) as is_home_country,

        ---------- numerics: label window
        cutoffs.label_window_days,

        ---------- numerics: labels (null until matured)
        case
            when cutoffs.is_label_matured
                then cast(coalesce(future.future_purchase_days, 0) as integer)
        end as future_purchase_days,
        case
            when cutoffs.is_label_matured
                then round(coalesce(future.future_spend, 0), 2)
        end as future_spend,

        ---------- strings: label
        case
            when cutoffs.is_label_matured
                then {{ value_tier('future.future_spend') }}
        end as value_tier,

        ---------- booleans
        case
            when cutoffs.is_label_matured
                then coalesce(future.future_purchase_days, 0) = 0
        end as is_churn,
        cutoffs.is_scoring,
        cutoffs.is_label_matured,

        ---------- dates
        cutoffs.cutoff_date

    from history
    inner join cutoffs
        on history.cutoff_id = cutoffs.cutoff_id
    left join gaps
        on
            history.cutoff_id = gaps.cutoff_id
            and history.customer_id = gaps.customer_id
    left join baskets
        on
            history.cutoff_id = baskets.cutoff_id
            and history.customer_id = baskets.customer_id
    left join future
        on
            history.cutoff_id = future.cutoff_id
            and history.customer_id = future.customer_id
    left join customer_countries
        on history.customer_id = customer_countries.customer_id
    left join home_country
        on true
    left join tier_thresholds
        on true

)

select * from features
