{#-
    Every version of every ML task, one row each: the warehouse side of the
    MLflow model registry.
-#}
with

versions as (

    select * from {{ ref('ml_churn_model_versions') }}
    union all by name
    select * from {{ ref('ml_value_tier_model_versions') }}

),

final as (

    select
        ---------- ids
        task || '/v' || cast(version as varchar) as model_version_id,
        task,
        mlflow_run_id,

        ---------- strings
        algorithm,
        primary_metric,
        sql_function,
        data_fingerprint,
        recipe_fingerprint,
        decision,
        retrain_reasons,
        metrics_json,
        baseline_metrics_json,
        feature_importances_json,

        ---------- numerics
        cast(version as integer) as version,
        cast(primary_metric_value as double) as primary_metric_value,
        cast(baseline_primary_metric_value as double)
            as baseline_primary_metric_value,
        cast(training_rows as integer) as training_rows,
        cast(validation_rows as integer) as validation_rows,

        ---------- booleans
        is_champion,

        ---------- dates
        cast(training_window_start as date) as training_window_start,
        cast(training_window_end as date) as training_window_end,
        cast(validation_window_start as date) as validation_window_start,
        cast(validation_window_end as date) as validation_window_end,
        cast(trained_cutoff as date) as trained_cutoff,

        ---------- timestamps
        cast(trained_at as timestamp) as trained_at

    from versions

)

select * from final
