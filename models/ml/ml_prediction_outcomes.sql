{#-
    What became of earlier predictions: the champions' logged scores
    (ml_prediction_log as the previous build left it, read without ref()
    because the log is appended later in this build) at every logged cutoff
    whose label window has ended by the current scoring cutoff, with the
    outcome from the activity after it: churn = no purchase within
    var churn_window_days; value tier = none / low / medium / high by the
    same terciles of positive future spend as ml_customer_features.
    One row per (task, cutoff, customer, class): is_actual says whether the
    customer turned out to be in that class.
-#}
{%- set log = previous_build_relation('ml_prediction_log') -%}
with

predictions as (

    {% if log is not none -%}
        select
            task,
            cutoff_date,
            customer_id,
            class_label,
            model_version,
            probability
        from {{ log }}
    {%- else -%}
        select
            cast(null as varchar) as task,
            cast(null as date) as cutoff_date,
            cast(null as varchar) as customer_id,
            cast(null as varchar) as class_label,
            cast(null as integer) as model_version,
            cast(null as double) as probability
        where false
    {%- endif %}

),

scoring as (

    select * from {{ ref('ml_cutoffs') }}
    where is_scoring

),

activity as (

    select * from {{ ref('int_customer_days_aggregated') }}

),

features as (

    select * from {{ ref('ml_customer_features') }}

),

matured_cutoffs as (

    select distinct predictions.cutoff_date

    from predictions
    cross join scoring
    where
        predictions.cutoff_date + {{ ml_label_window_days() }}
        <= scoring.cutoff_date

),

predicted_customers as (

    select distinct
        predictions.cutoff_date,
        predictions.customer_id

    from predictions
    inner join matured_cutoffs
        on predictions.cutoff_date = matured_cutoffs.cutoff_date

),

future as (

    select
        predicted_customers.cutoff_date,
        predicted_customers.customer_id,
        count(
            case
                when
                    activity.has_purchase
                    and activity.activity_date
                    < predicted_customers.cutoff_date
                    + {{ var('churn_window_days') }}
                    then 1
            end
        ) as future_purchase_days,
        coalesce(sum(
            case
                when
                    activity.activity_date
                    < predicted_customers.cutoff_date
                    + {{ var('value_horizon_days') }}
                    then activity.gross_amount
            end
        ), 0) as future_spend

    from predicted_customers
    left join activity
        on
            predicted_customers.customer_id = activity.customer_id
            and predicted_customers.cutoff_date <= activity.activity_date
            and predicted_customers.cutoff_date + {{ ml_label_window_days() }}
            > activity.activity_date
    group by 1, 2

),

tier_thresholds as (

    select {{ value_tier_thresholds('future_spend') }}
    from features
    where is_label_matured and future_spend > 0

),

outcomes as (

    select
        future.cutoff_date,
        future.customer_id,
        future.future_purchase_days = 0 as is_churn,
        {{ value_tier('future.future_spend') }} as value_tier

    from future
    left join tier_thresholds on true

),

final as (

    select
        ---------- ids
        predictions.task,
        predictions.customer_id,

        ---------- strings
        predictions.class_label,

        ---------- numerics
        cast(predictions.model_version as integer) as model_version,
        cast(predictions.probability as double) as probability,

        ---------- booleans
        case
            {%- for task in ml_tasks() %}
                {%- if task.problem_type == 'binary' %}
                    when predictions.task = '{{ task.name }}'
                        then outcomes.{{ task.target }}
                {%- else %}
                    when predictions.task = '{{ task.name }}'
                        then outcomes.{{ task.target }} = predictions.class_label
                {%- endif %}
            {%- endfor %}
            else null
        end as is_actual,

        ---------- dates
        predictions.cutoff_date

    from predictions
    inner join outcomes
        on
            predictions.cutoff_date = outcomes.cutoff_date
            and predictions.customer_id = outcomes.customer_id

)

select * from final
