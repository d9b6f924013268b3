{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['task', 'cutoff_date'],
        on_schema_change='append_new_columns'
    )
}}
{#-
    Every build's served predictions, kept across builds: the champions' scores
    of every customer at the scoring cutoff, one row per (task, cutoff,
    customer, class). A rebuild at the same cutoff replaces that cutoff's rows.
    Once the label window after a cutoff has passed, ml_prediction_outcomes and
    ml_realized_performance measure how these predictions did.
-#}
with

churn as (

    select * from {{ ref('customer_churn_predictions') }}

),

value_tier as (

    select * from {{ ref('customer_value_tier_predictions') }}

),

value_tier_long as (

    {% for tier in ['none', 'low', 'medium', 'high'] -%}
        select
            'value_tier' as task,
            as_of_date as cutoff_date,
            customer_id,
            '{{ tier }}' as class_label,
            model_version,
            probability_{{ tier }} as probability

        from value_tier
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

unioned as (

    select
        'churn' as task,
        as_of_date as cutoff_date,
        customer_id,
        'churn' as class_label,
        model_version,
        churn_probability as probability

    from churn
    union all
    select * from value_tier_long

),

final as (

    select
        ---------- ids
        cast(task as varchar) as task,
        cast(customer_id as varchar) as customer_id,

        ---------- strings
        cast(class_label as varchar) as class_label,

        ---------- numerics
        cast(model_version as integer) as model_version,
        cast(probability as double) as probability,

        ---------- dates
        cast(cutoff_date as date) as cutoff_date

    from unioned

)

select * from final
