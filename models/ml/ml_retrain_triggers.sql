{#-
    This build's retrain decision per ML task, from the champion the previous
    build left (ml_champions_before). Triggers:
    - no_champion: the task has none yet;
    - features_changed: the task's declared features differ from the champion's;
    - calendar: the champion is var retrain_every_days or more old in data time
      (scoring cutoff minus the scoring cutoff it was trained at, or at which
      it last defended its place against a retrained version);
    - accuracy_drop: at the latest logged cutoff whose labels matured, the
      champion's realized primary metric is below var retrain_min_realized_metric,
      or below its validation metric by more than var retrain_metric_tolerance;
    - drift: the PSI of a key feature (ml_feature_drift) exceeds var
      drift_psi_threshold;
    - forced: var force_retrain.
    Any trigger means retrain; otherwise the champion keeps serving. The
    ml_<task>_model_versions models act on it; gold.ml_retrain_decisions logs it.
-#}
{%- set tasks = ml_tasks() -%}
{%- set forced = (var('force_retrain') | string | lower) == 'true' -%}
{%- set default_metric = {'binary': 'roc_auc', 'multiclass': 'macro_roc_auc_ovr'} -%}
with

tasks as (

    {% for task in tasks -%}
        select
            '{{ task.name }}' as task,
            '{{ task.get("primary_metric") or default_metric[task.problem_type] }}'
                as primary_metric,
            [{% for feature in task.features | sort -%}
                '{{ feature }}'{% if not loop.last %}, {% endif %}
            {%- endfor %}] as feature_names
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

scoring as (

    select * from {{ ref('ml_cutoffs') }}
    where is_scoring

),

champions as (

    select * from {{ ref('ml_champions_before') }}

),

drift as (

    select * from {{ ref('ml_feature_drift') }}

),

realized as (

    select * from {{ ref('ml_realized_performance') }}

),

top_drift as (

    select
        task,
        feature_name as max_psi_feature,
        psi as max_psi

    from drift
    qualify
        row_number() over (
            partition by task order by psi desc, feature_name asc
        ) = 1

),

latest_realized as (

    select
        realized.task,
        realized.cutoff_date as realized_cutoff_date,
        realized.realized_metric_value,
        realized.customer_count as realized_customer_count

    from realized
    inner join champions
        on
            realized.task = champions.task
            and realized.model_version = champions.version
    where realized.realized_metric_value is not null
    qualify row_number() over (
        partition by realized.task order by realized.cutoff_date desc
    ) = 1

),

measured as (

    select
        tasks.task,
        tasks.primary_metric,
        champions.version as champion_version_before,
        champions.trained_cutoff as champion_trained_cutoff,
        champions.last_retrain_cutoff,
        champions.primary_metric_value as champion_validation_metric,
        scoring.cutoff_date as scoring_cutoff_date,
        scoring.cutoff_date - champions.last_retrain_cutoff as champion_age_days,
        latest_realized.realized_cutoff_date,
        latest_realized.realized_metric_value,
        latest_realized.realized_customer_count,
        top_drift.max_psi,
        top_drift.max_psi_feature,
        champions.task is null as is_no_champion,
        coalesce(
            list_sort(json_keys(champions.feature_importances_json))
            <> tasks.feature_names,
            false
        ) as is_features_changed,
        coalesce(
            scoring.cutoff_date - champions.last_retrain_cutoff
            >= {{ var('retrain_every_days') }},
            false
        ) as is_calendar_due,
        coalesce(
            latest_realized.realized_metric_value
            < {{ var('retrain_min_realized_metric') }}
            or latest_realized.realized_metric_value
            < champions.primary_metric_value - {{ var('retrain_metric_tolerance') }},
            false
        ) as is_accuracy_drop,
        coalesce(top_drift.max_psi > {{ var('drift_psi_threshold') }}, false)
            as is_drift,
        {{ 'true' if forced else 'false' }} as is_forced

    from tasks
    cross join scoring
    left join champions
        on tasks.task = champions.task
    left join top_drift
        on tasks.task = top_drift.task
    left join latest_realized
        on tasks.task = latest_realized.task

),

final as (

    select
        ---------- ids
        '{{ invocation_id }}' as build_id,
        task,

        ---------- strings
        case
            when
                is_no_champion or is_features_changed or is_calendar_due
                or is_accuracy_drop or is_drift or is_forced
                then 'retrain'
            else 'keep'
        end as decision,
        coalesce(nullif(concat_ws(
            ',',
            case when is_no_champion then 'no_champion' end,
            case when is_features_changed then 'features_changed' end,
            case when is_calendar_due then 'calendar' end,
            case when is_accuracy_drop then 'accuracy_drop' end,
            case when is_drift then 'drift' end,
            case when is_forced then 'forced' end
        ), ''), 'none') as triggers,
        coalesce(nullif(concat_ws(
            '; ',
            case when is_no_champion then 'no champion yet' end,
            case
                when is_features_changed
                    then 'the task''s features differ from the champion''s'
            end,
            case
                when is_calendar_due
                    then
                        'calendar: champion v' || champion_version_before
                        || ' last (re)trained at ' || last_retrain_cutoff
                        || ' is ' || champion_age_days || ' days old (>= '
                        || {{ var('retrain_every_days') }} || ')'
            end,
            case
                when is_accuracy_drop
                    then
                        'accuracy drop: realized ' || primary_metric || ' '
                        || round(realized_metric_value, 3) || ' at '
                        || realized_cutoff_date || ' (minimum '
                        || {{ var('retrain_min_realized_metric') }}
                        || ', validation ' || round(champion_validation_metric, 3)
                        || ' - tolerance '
                        || {{ var('retrain_metric_tolerance') }} || ')'
            end,
            case
                when is_drift
                    then
                        'drift: PSI of ' || max_psi_feature || ' '
                        || round(max_psi, 3) || ' > '
                        || {{ var('drift_psi_threshold') }}
            end,
            case when is_forced then 'forced by var force_retrain' end
        ), ''), 'no trigger: champion v' || champion_version_before || ' is '
        || champion_age_days || ' days old, max PSI '
        || coalesce(round(max_psi, 3) || ' (' || max_psi_feature || ')', 'n/a')
        || ', realized ' || primary_metric || ' '
        || coalesce(cast(round(realized_metric_value, 3) as varchar), 'not yet known'))
            as reasons,
        primary_metric,
        max_psi_feature,

        ---------- numerics
        cast(champion_version_before as integer) as champion_version_before,
        cast(champion_age_days as integer) as champion_age_days,
        cast({{ var('retrain_every_days') }} as integer) as retrain_every_days,
        cast(champion_validation_metric as double) as champion_validation_metric,
        cast(realized_metric_value as double) as realized_metric_value,
        cast(realized_customer_count as integer) as realized_customer_count,
        cast({{ var('retrain_min_realized_metric') }} as double)
            as min_realized_metric,
        cast({{ var('retrain_metric_tolerance') }} as double) as metric_tolerance,
        cast(max_psi as double) as max_psi,
        cast({{ var('drift_psi_threshold') }} as double) as drift_psi_threshold,

        ---------- booleans
        is_no_champion,
        is_features_changed,
        is_calendar_due,
        is_accuracy_drop,
        is_drift,
        is_forced,

        ---------- dates
        scoring_cutoff_date,
        champion_trained_cutoff,
        last_retrain_cutoff,
        realized_cutoff_date

    from measured

)

select * from final
