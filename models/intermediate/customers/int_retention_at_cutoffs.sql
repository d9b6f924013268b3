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
        least(
            365,
            cast((cutoffs.cutoff_date - min(activity.activity_date)) / 2 as integer)
        ) as period_days

    from cutoffs
    inner join activity
        on cutoffs.cutoff_date > activity.activity_date
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
            and periods.cutoff_date > activity.activity_date
    group by 1, 2

),

counted as (

    select
        periods.cutoff_id,
        periods.period_days,
        count(
            case when customer_periods.was_active_before then 1 end
        ) as previous_customer_count,
        count(
            case
                when
                    customer_periods.was_active_before
                    and customer_periods.is_active_last
                    then 1
            end
        ) as retained_customer_count

    from periods
    left join customer_periods
        on periods.cutoff_id = customer_periods.cutoff_id
    group by 1, 2

),

final as (

    select
        ---------- ids
        cutoff_id,

        ---------- numerics
        period_days,
        cast(previous_customer_count as integer) as previous_customer_count,
        cast(retained_customer_count as integer) as retained_customer_count,
        cast(
            retained_customer_count / nullif(previous_customer_count, 0) as double
        ) as retention_rate

    from counted

)

select * from final
