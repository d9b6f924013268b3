{#-
    Predicted future value tier (spend in the next var('value_horizon_days')
    days: none / low / medium / high) and class probabilities for every
    customer, scored in SQL by the champion's macro predict_value_tier_table.
    Incremental like customer_churn_predictions: a customer is re-scored only
    when the fingerprint of its scoring feature row and the champion changed.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='customer_id',
        on_schema_change='fail',
        post_hook="
            delete from {{ this }}
            where customer_id not in (
                select customer_id from {{ ref('ml_scoring_features') }}
            )
        ",
    )
}}
with

champion as (

    select * from {{ ref('ml_value_tier_model_versions') }}
    where is_champion

),

features as (

    select * from {{ ref('ml_scoring_features') }}

),

feature_texts as (

    select
        customer_id,
        cast(features as varchar) as feature_text

    from features

),

fingerprinted as (

    select
        feature_texts.customer_id,
        md5(
            feature_texts.feature_text
            || '|' || champion.version || '|' || champion.algorithm
        ) as scoring_fingerprint

    from feature_texts
    cross join champion

),

changed as (

    {{ changed_fingerprints('fingerprinted') }}

),

-- read by the scoring macro below, through its table argument
features_to_score as (  -- noqa: ST03

    select * from features
    where customer_id in (select changed.customer_id from changed)

),

scores as (

    select * from predict_value_tier_table(features_to_score)

),

final as (

    select
        ---------- ids
        scores.customer_id,

        ---------- strings
        cast(scores.predicted_class as varchar) as predicted_value_tier,
        champion.algorithm as model_algorithm,
        changed.scoring_fingerprint,

        ---------- numerics
        cast(scores.probability_none as double) as probability_none,
        cast(scores.probability_low as double) as probability_low,
        cast(scores.probability_medium as double) as probability_medium,
        cast(scores.probability_high as double) as probability_high,
        cast(champion.version as integer) as model_version,

        ---------- dates
        features.cutoff_date as as_of_date

    from scores
    inner join features
        on scores.customer_id = features.customer_id
    inner join changed
        on scores.customer_id = changed.customer_id
    cross join champion

)

select * from final
