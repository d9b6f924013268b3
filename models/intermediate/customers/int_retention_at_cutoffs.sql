{#-
    Retention rate per cutoff for the advanced CLV heuristic: of the customers
    who bought in the period before last, the share who bought again in the
    last period. Period = a year, or half the history when it is shorter.
-#}
with

activity as (

    select * from {{ ref('int_customer_days_aggregated') }}
    where has_purchase

),

cutoffs as (

    select * from {{ ref('int_cutoffs') }}

),

periods as (

    select
        cutoffs.cutoff_id,
        cutoffs.cutoff_date,
        least(365, cast((cutoffs.cutoff_date - min(activity.activity_date)) / 2 as integer))
            as period_days

    from cutoffs
    inner join activity
        on activity.activity_date < cutoffs.cutoff_date
    group by 1, 2

),

customer_periods as (

    select
        periods.cutoff_id,
        activity.customer_id,
        max(
            activity.activity_date < periods.cutoff_date - periods.period_days
        ) as was_active_before,
        max(
            activity.activity_date >= periods.cutoff_date - periods.period_days
        ) as is_active_last

    from periods
    inner join activity
        on
            activity.activity_date >= periods.cutoff_date - 2 * periods.period_days
            and activity.activity_date < periods.cutoff_date
    group by 1, 2

),

final as (

    select
        ---------- ids
        periods.cutoff_id,

        ---------- numerics
        periods.period_days,
        cast(count(*) filter (where customer_periods.was_active_before) as integer)
            as previous_customer_count,
        cast(
            count(*) filter (
                where customer_periods.was_active_before and customer_periods.is_active_last
            ) as integer
        ) as retained_customer_count,
        cast(
            count(*) filter (
                where customer_periods.was_active_before and customer_periods.is_active_last
            )
            / nullif(count(*) filter (where customer_periods.was_active_before), 0)
            as double
        ) as retention_rate

    from periods
    left join customer_periods
        on periods.cutoff_id = customer_periods.cutoff_id
    group by 1, 2

)

select * from final
