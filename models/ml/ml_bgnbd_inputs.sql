{#-
    The BG/NBD fit input of every ML cutoff, grouped: one row per (cutoff,
    repeat purchase days x, days from first to last purchase, days from first
    purchase to the calibration end), with the number of customers sharing it.
    The same history as ml_customer_features (purchase days before the
    cutoff; tenure up to the day before it), in the lifetimes conventions of
    int_customers_summarized_at_cutoffs. Grouped, the rows are few (identical
    whole-day triples are common), so ml_bgnbd_at_cutoffs fits each cutoff in
    well under a second.
-#}
with

activity as (

    select * from {{ ref('int_customer_days_aggregated') }}
    where has_purchase

),

cutoffs as (

    select * from {{ ref('ml_cutoffs') }}

),

customers as (

    select
        cutoffs.cutoff_id,
        cutoffs.cutoff_date,
        activity.customer_id,
        count(*) - 1 as frequency,
        max(activity.activity_date) - min(activity.activity_date)
            as recency_span_days,
        (cutoffs.cutoff_date - 1) - min(activity.activity_date) as tenure_days

    from cutoffs
    inner join activity
        on cutoffs.cutoff_date > activity.activity_date
    group by 1, 2, 3

),

grouped as (

    select
        ---------- ids
        cutoff_id,

        ---------- numerics
        cast(frequency as integer) as frequency,
        cast(recency_span_days as integer) as recency_span_days,
        cast(tenure_days as integer) as tenure_days,
        cast(count(*) as integer) as customer_count

    from customers
    group by 1, 2, 3, 4

)

select * from grouped
