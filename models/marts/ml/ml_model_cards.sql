{#-
    One card per champion: how it scores against its best simple baseline on
    the validation cutoffs, an A/B/C grade in the spirit of Customer Insights
    (A: primary metric at least 5% better than the baseline, B: 0-5% better,
    C: not better), feature importances, training window and data fingerprint.
-#}
with

versions as (

    select * from {{ ref('ml_churn_model_versions') }}
    union all by name
    select * from {{ ref('ml_value_tier_model_versions') }}

),

champions as (

    select
        *,
        primary_metric_value / nullif(baseline_primary_metric_value, 0) - 1
            as relative_improvement

    from versions
    where is_champion

),

final as (

    select
        ---------- ids
        task,
        mlflow_run_id,

        ---------- strings
        algorithm,
        sql_function,
        primary_metric,
        case
            when relative_improvement is null then null
            when relative_improvement >= 0.05 then 'A'
            when relative_improvement > 0 then 'B'
            else 'C'
        end as grade,
        metrics_json,
        baseline_metrics_json,
        feature_importances_json,
        data_fingerprint,

        ---------- numerics
        cast(version as integer) as version,
        cast(primary_metric_value as double) as primary_metric_value,
        cast(baseline_primary_metric_value as double)
            as baseline_primary_metric_value,
        cast(relative_improvement as double) as relative_improvement,
        cast(training_rows as integer) as training_rows,
        cast(validation_rows as integer) as validation_rows,

        ---------- dates
        cast(training_window_start as date) as training_window_start,
        cast(training_window_end as date) as training_window_end,
        cast(validation_window_start as date) as validation_window_start,
        cast(validation_window_end as date) as validation_window_end

    from champions

)

select * from final
