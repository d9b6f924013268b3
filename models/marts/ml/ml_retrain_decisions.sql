{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns'
    )
}}
{#-
    The retrain log: one row per (build, task), appended by every build. What
    each trigger measured against its threshold, the decision (retrain / keep)
    and its reasons (ml.ml_retrain_triggers), and what the registry did: the
    version trained in this build, if any, and the champion before and after.
-#}
with

triggers as (

    select * from {{ ref('ml_retrain_triggers') }}

),

versions as (

    select * from {{ ref('ml_churn_model_versions') }}
    union all by name
    select * from {{ ref('ml_value_tier_model_versions') }}

),

trained as (

    select * from versions
    where build_id = '{{ invocation_id }}'

),

champions_after as (

    select * from versions
    where is_champion

),

final as (

    select
        ---------- ids
        triggers.build_id,
        triggers.task,

        ---------- strings
        case when trained.version is not null then 'retrain' else 'keep' end
            as decision,
        case
            when trained.version is not null
                then coalesce(trained.retrain_reasons, triggers.reasons)
            else triggers.reasons
        end as reasons,
        triggers.triggers,
        trained.decision as registry_decision,
        triggers.primary_metric,
        triggers.max_psi_feature,

        ---------- numerics
        triggers.champion_version_before,
        cast(trained.version as integer) as trained_version,
        cast(champions_after.version as integer) as champion_version_after,
        cast(trained.primary_metric_value as double) as trained_validation_metric,
        triggers.champion_age_days,
        triggers.retrain_every_days,
        triggers.champion_validation_metric,
        triggers.realized_metric_value,
        triggers.realized_customer_count,
        triggers.min_realized_metric,
        triggers.metric_tolerance,
        triggers.max_psi,
        triggers.drift_psi_threshold,

        ---------- booleans
        triggers.is_no_champion,
        triggers.is_features_changed,
        triggers.is_calendar_due,
        triggers.is_accuracy_drop,
        triggers.is_drift,
        triggers.is_forced,

        ---------- dates
        triggers.scoring_cutoff_date,
        triggers.champion_trained_cutoff,
        triggers.realized_cutoff_date

    from triggers
    left join trained
        on triggers.task = trained.task
    left join champions_after
        on triggers.task = champions_after.task

)

select * from final
