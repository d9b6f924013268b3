{#-
    Predicted future value tier (spend in the next var('value_horizon_days')
    days: none / low / medium / high) and class probabilities for every
    customer, scored in SQL by the champion's macro predict_value_tier_table.
-#}
with

champion as (

    select * from {{ ref('ml_value_tier_model_versions') }}
    where is_champion

),

features as (

    select * from {{ ref('ml_scoring_features') }}

),

scores as (

    select * from predict_value_tier_table({{ ref('ml_scoring_features') }})

),

final as (

    select
        ---------- ids
        scores.customer_id,

        ---------- strings
        cast(scores.predicted_class as varchar) as predicted_value_tier,
        champion.algorithm as model_algorithm,

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
    cross join champion

)

select * from final
