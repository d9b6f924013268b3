{#-
    The champion of every ML task as the previous build left it (the rows of
    ml_<task>_model_versions with is_champion), read without ref(): the versions
    models depend on the retrain decision, which depends on this. No row for a
    task that has no champion yet (first build). A champion trained before
    trained_cutoff was recorded counts as trained at the end of its validation
    window plus the label window. last_retrain_cutoff is the latest cutoff any
    version of the task was trained at: the champion was either trained then
    or defended its place against that version on the newest validation rows.
-#}
{%- set selects = [] -%}
{%- for task in ml_tasks() -%}
    {%- set relation = previous_build_relation(
        'ml_' ~ task.name ~ '_model_versions'
    ) -%}
    {%- if relation is not none -%}
        {%- set columns = adapter.get_columns_in_relation(relation)
            | map(attribute='name') | list -%}
        {%- set trained_cutoff = 'cast(trained_cutoff as date)'
            if 'trained_cutoff' in columns
            else 'cast(null as date)' -%}
        {%- do selects.append(
            "select task, version, algorithm, primary_metric, primary_metric_value, "
            ~ "feature_importances_json, mlflow_run_id, training_window_start, "
            ~ "training_window_end, validation_window_end, "
            ~ trained_cutoff ~ " as trained_cutoff, max(" ~ trained_cutoff
            ~ ") over () as last_retrain_cutoff, is_champion from " ~ relation
            ~ " where task = '" ~ task.name ~ "'"
        ) -%}
    {%- endif -%}
{%- endfor -%}
with

versions as (

    {% if selects -%}
        {{ selects | join('\n    union all\n    ') }}
    {%- else -%}
        select
            cast(null as varchar) as task,
            cast(null as integer) as version,
            cast(null as varchar) as algorithm,
            cast(null as varchar) as primary_metric,
            cast(null as double) as primary_metric_value,
            cast(null as varchar) as feature_importances_json,
            cast(null as varchar) as mlflow_run_id,
            cast(null as date) as training_window_start,
            cast(null as date) as training_window_end,
            cast(null as date) as validation_window_end,
            cast(null as date) as trained_cutoff,
            cast(null as date) as last_retrain_cutoff,
            cast(null as boolean) as is_champion
        where false
    {%- endif %}

),

final as (

    select
        ---------- ids
        task,
        mlflow_run_id,

        ---------- strings
        algorithm,
        primary_metric,
        feature_importances_json,

        ---------- numerics
        cast(version as integer) as version,
        cast(primary_metric_value as double) as primary_metric_value,

        ---------- dates
        cast(training_window_start as date) as training_window_start,
        cast(training_window_end as date) as training_window_end,
        coalesce(
            trained_cutoff,
            cast(validation_window_end as date) + {{ ml_label_window_days() }}
        ) as trained_cutoff,
        coalesce(
            last_retrain_cutoff,
            trained_cutoff,
            cast(validation_window_end as date) + {{ ml_label_window_days() }}
        ) as last_retrain_cutoff

    from versions
    where is_champion
    qualify row_number() over (partition by task order by version desc) = 1

)

select * from final
