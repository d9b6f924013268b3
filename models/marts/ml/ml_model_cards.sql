{#-
    One card per champion: how it scores against its best simple baseline on
    the validation cutoffs, an A/B/C grade in the spirit of Customer Insights
    (A: primary metric at least 5% better than the baseline, B: 0-5% better,
    C: not better), feature importances, training window and data fingerprint.
-#}
with

registry as (

    select * from {{ ref('ml_model_registry') }}

),

champions as (

    select
        *,
        primary_metric_value / nullif(baseline_primary_metric_value, 0) - 1
            as relative_improvement

    from registry
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
        version,
        primary_metric_value,
        baseline_primary_metric_value,
        cast(relative_improvement as double) as relative_improvement,
        training_rows,
        validation_rows,

        ---------- dates
        training_window_start,
        training_window_end,
        validation_window_start,
        validation_window_end

    from champions

)

select * from final
