{#-
    One row per (cutoff, customer with a purchase before the cutoff): the RFM
    inputs and the buy-till-you-die summary (lifetimes conventions: frequency =
    repeat purchase days, recency = first to last purchase, T = first purchase
    to the calibration end, monetary_value = mean spend of the repeat purchase
    days), plus what the customer actually did in the holdout when there is one.
-#}
with

activity as (

    select * from {{ ref('int_customer_days_aggregated') }}

),

cutoffs as (

    select * from {{ ref('int_cutoffs') }}

),

first_days as (

    select
        activity.customer_id,
        cutoffs.cutoff_id,
        min(activity.activity_date) as first_purchase_date

    from activity
    inner join cutoffs
        on activity.activity_date < cutoffs.cutoff_date
    where activity.has_purchase
    group by 1, 2

),

calibration as (

    select
        first_days.customer_id,
        first_days.cutoff_id,
        first_days.first_purchase_date,
        count(*) filter (where activity.has_purchase) as purchase_day_count,
        max(activity.activity_date) filter (
            where activity.has_purchase
        ) as last_purchase_date,
        sum(activity.gross_amount) as gross_amount,
        sum(activity.returned_amount) as returned_amount,
        sum(activity.net_amount) as net_amount,
        sum(activity.order_count) as order_count,
        sum(
            case
                when
                    activity.has_purchase
                    and activity.activity_date > first_days.first_purchase_date
                    then activity.gross_amount
            end
        ) as repeat_gross_amount

    from first_days
    inner join cutoffs
        on first_days.cutoff_id = cutoffs.cutoff_id
    inner join activity
        on
            first_days.customer_id = activity.customer_id
            and cutoffs.cutoff_date > activity.activity_date
    group by 1, 2, 3

),

holdout as (

    select
        activity.customer_id,
        cutoffs.cutoff_id,
        count(*) filter (where activity.has_purchase) as holdout_purchase_day_count,
        sum(activity.gross_amount) as holdout_gross_amount,
        sum(activity.net_amount) as holdout_net_amount

    from activity
    inner join cutoffs
        on
            activity.activity_date >= cutoffs.cutoff_date
            and activity.activity_date <= cutoffs.holdout_end_date
    group by 1, 2

),

summarized as (

    select
        ---------- ids
        calibration.cutoff_id,
        calibration.customer_id,

        ---------- numerics
        cast(calibration.purchase_day_count - 1 as integer) as frequency,
        cast(
            calibration.last_purchase_date - calibration.first_purchase_date
            as integer
        ) as recency_span_days,
        cast(
            cutoffs.calibration_end_date - calibration.first_purchase_date
            as integer
        ) as tenure_days,
        cast(
            cutoffs.calibration_end_date - calibration.last_purchase_date
            as integer
        ) as recency_days,
        cast(calibration.purchase_day_count as integer) as purchase_day_count,
        cast(calibration.order_count as integer) as order_count,
        cast(calibration.gross_amount as double) as gross_amount,
        cast(calibration.returned_amount as double) as returned_amount,
        cast(calibration.net_amount as double) as net_amount,
        cast(
            coalesce(
                calibration.repeat_gross_amount
                / nullif(calibration.purchase_day_count - 1, 0),
                0
            ) as double
        ) as repeat_monetary_value,
        cast(
            calibration.gross_amount / calibration.purchase_day_count as double
        ) as average_purchase_value,
        cast(coalesce(holdout.holdout_purchase_day_count, 0) as integer)
            as holdout_purchase_day_count,
        cast(coalesce(holdout.holdout_gross_amount, 0) as double)
            as holdout_gross_amount,
        cast(coalesce(holdout.holdout_net_amount, 0) as double)
            as holdout_net_amount,
        cutoffs.holdout_days,

        ---------- booleans
        cutoffs.holdout_end_date is not null as has_holdout,

        ---------- dates
        cutoffs.cutoff_date,
        cutoffs.calibration_end_date,
        calibration.first_purchase_date,
        calibration.last_purchase_date

    from calibration
    inner join cutoffs
        on calibration.cutoff_id = cutoffs.cutoff_id
    left join holdout
        on
            calibration.customer_id = holdout.customer_id
            and calibration.cutoff_id = holdout.cutoff_id

)

select * from summarized
