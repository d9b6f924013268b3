{#-
    Checks that the data can train the ML tasks before any Python runs: at
    least 3 matured cutoffs (2 validate, 1+ train) and both churn classes and
    every value tier among the training rows. Otherwise the build stops here
    with one line saying what is missing and what to do.
-#}
with

features as (

    select * from {{ ref('ml_customer_features') }}
    where is_label_matured

),

counted as (

    select
        count(distinct cutoff_date) as matured_cutoff_count,
        count(distinct is_churn) as churn_class_count,
        count(distinct value_tier) as value_tier_count,
        count(*) as training_row_count

    from features

),

checked as (

    select
        *,
        case
            when matured_cutoff_count < 3
                then
                    'ML needs at least 3 matured monthly cutoffs, the data has '
                    || matured_cutoff_count
                    || ': give it more history, lower vars churn_window_days / '
                    || 'value_horizon_days / ml_min_history_days, or run '
                    || 'dbt build --exclude tag:ml+'
            when churn_class_count < 2
                then 'ML: the churn label has one class only in the training rows'
            when value_tier_count < 4
                then
                    'ML: only ' || value_tier_count
                    || ' of the 4 value tiers occur in the training rows'
        end as problem

    from counted

),

final as (

    select
        ---------- numerics
        cast(matured_cutoff_count as integer) as matured_cutoff_count,
        cast(churn_class_count as integer) as churn_class_count,
        cast(value_tier_count as integer) as value_tier_count,
        cast(training_row_count as integer) as training_row_count,

        ---------- booleans
        case when problem is null then true else error(problem) end as is_ready

    from checked

)

select * from final
