{#-
    Cutoffs the ML feature table is built at: every month start from
    var('ml_min_history_days') after the first activity up to the scoring cutoff,
    plus the backtest cutoff (so the backtest can score ML features there) and
    the scoring cutoff itself. A cutoff's labels are matured when its label
    window (the longer of churn_window_days and value_horizon_days) ends before
    the scoring cutoff; only matured cutoffs are used to train.
-#}
{%- set label_days = [
    var('churn_window_days') | int, var('value_horizon_days') | int
] | max -%}
with

scoring as (

    select * from {{ ref('int_cutoffs') }}
    where cutoff_id = 'scoring'

),

history as (

    select min(activity_date) as first_activity_date
    from {{ ref('int_customer_days_aggregated') }}

),

month_series as (

    select
        unnest(
            generate_series(
                cast(
                    date_trunc(
                        'month',
                        history.first_activity_date
                        + interval '{{ var("ml_min_history_days") }}' day
                    ) + interval 1 month as date
                ),
                scoring.cutoff_date - 1,
                interval '{{ var("ml_cutoff_every_months") }}' month
            )
        ) as month_start

    from history
    cross join scoring

),

month_starts as (

    select cast(month_start as date) as cutoff_date
    from month_series

),

backtest as (

    select * from {{ ref('int_cutoffs') }}
    where cutoff_id = 'backtest'

),

cutoffs as (

    select
        cutoff_date,
        false as is_scoring

    from month_starts
    union
    select
        cutoff_date,
        false as is_scoring

    from backtest
    union all
    select
        cutoff_date,
        true as is_scoring

    from scoring

),

final as (

    select
        ---------- ids
        strftime(cutoffs.cutoff_date, '%Y-%m-%d') as cutoff_id,

        ---------- numerics
        {{ label_days }} as label_window_days,

        ---------- booleans
        cutoffs.is_scoring,
        cutoffs.cutoff_date + {{ label_days }} <= scoring.cutoff_date
            as is_label_matured,

        ---------- dates
        cutoffs.cutoff_date

    from cutoffs
    cross join scoring

)

select * from final
