{#-
    The cutoffs every customer summary is computed at. scoring: var('as_of_date')
    (default: the day after the last activity). backtest: data before
    var('backtest_cutoff') predicts the holdout [backtest_cutoff,
    backtest_holdout_end]; by default the holdout is the var('backtest_holdout_days')
    days up to the end of the last whole month before the scoring cutoff. A
    cutoff date is exclusive: "as of the start of that day".
-#}
with

activity as (

    select * from {{ ref('int_customer_days_aggregated') }}

),

bounds as (

    select
        {% if var('as_of_date') %}
            cast('{{ var("as_of_date") }}' as date)
        {% else %}
            cast(max(activity_date) + 1 as date)
        {% endif %} as as_of_date,
        min(activity_date) as first_activity_date

    from activity

),

backtest_bounds as (

    select
        as_of_date,
        first_activity_date,
        {% if var('backtest_holdout_end') %}
            cast('{{ var("backtest_holdout_end") }}' as date)
        {% else %}
            {# the last whole month before as_of_date: the default backtest
               moves once a month, not with every day of new data, so daily
               builds reuse its fits #}
            cast(cast({{ dbt.date_trunc('month', 'as_of_date') }} as date) - 1 as date)
        {% endif %} as holdout_end_date

    from bounds

),

cutoffs as (

    select
        'scoring' as cutoff_id,
        as_of_date as cutoff_date,
        cast(null as date) as holdout_end_date

    from backtest_bounds

    union all

    select
        'backtest' as cutoff_id,
        {% if var('backtest_cutoff') %}
            cast('{{ var("backtest_cutoff") }}' as date)
        {% else %}
            cast(
                holdout_end_date - {{ var('backtest_holdout_days') }} + 1 as date
            )
        {% endif %} as cutoff_date,
        holdout_end_date

    from backtest_bounds

),

final as (

    select
        ---------- ids
        cutoff_id,

        ---------- numerics
        cast(holdout_end_date - cutoff_date + 1 as integer) as holdout_days,

        ---------- dates
        cutoff_date,
        cast(cutoff_date - 1 as date) as calibration_end_date,
        holdout_end_date

    from cutoffs

)

select * from final
