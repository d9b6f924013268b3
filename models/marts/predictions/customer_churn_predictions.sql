{#-
    Churn scores for every customer at the scoring cutoff, computed in SQL by
    the champion's macro predict_churn_table (installed by
    ml_churn_model_versions): the same numbers an analyst gets from
    `select predict_churn(...)`.
-#}
with

champion as (

    select * from {{ ref('ml_churn_model_versions') }}
    where is_champion

),

features as (

    select * from {{ ref('ml_scoring_features') }}

),

factors as (

    select * from {{ ref('ml_churn_scoring_factors') }}

),

scores as (

    select * from predict_churn_table({{ ref('ml_scoring_features') }})

),

final as (

    select
        ---------- ids
        scores.customer_id,

        ---------- strings
        case
            when scores.probability >= {{ var('churn_risk_high') }} then 'high'
            when scores.probability >= {{ var('churn_risk_medium') }} then 'medium'
            else 'low'
        end as risk_band,
        factors.factor_1,
        factors.factor_2,
        factors.factor_3,
        champion.algorithm as model_algorithm,

        ---------- numerics
        cast(scores.probability as double) as churn_probability,
        cast(champion.version as integer) as model_version,

        ---------- booleans
        scores.probability >= 0.5 as is_churn,

        ---------- dates
        features.cutoff_date as as_of_date

    from scores
    inner join features
        on scores.customer_id = features.customer_id
    left join factors
        on scores.customer_id = factors.customer_id
    cross join champion

)

select * from final
