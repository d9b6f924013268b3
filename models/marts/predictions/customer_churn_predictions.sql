{#-
    Churn scores for every customer at the scoring cutoff, computed in SQL by
    the champion's macro predict_churn_table (installed by
    ml_churn_model_versions): the same numbers an analyst gets from
    `select predict_churn(...)`.

    Incremental: a customer is re-scored only when the fingerprint of what
    the score depends on changed (the scoring feature row, the factor row, the
    champion's version): new activity changes the row, a moved scoring cutoff
    changes every row (recency grows), a new champion changes them all.
    Customers who left the scoring population are removed by the post-hook.
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

    select * from {{ ref('ml_churn_model_versions') }}
    where is_champion

),

features as (

    select * from {{ ref('ml_scoring_features') }}

),

factors as (

    select * from {{ ref('ml_churn_scoring_factors') }}

),

feature_texts as (

    select
        customer_id,
        cast(features as varchar) as feature_text

    from features

),

factor_texts as (

    select
        customer_id,
        cast(factors as varchar) as factor_text

    from factors

),

fingerprinted as (

    select
        feature_texts.customer_id,
        md5(
            feature_texts.feature_text
            || '|' || coalesce(factor_texts.factor_text, '')
            || '|' || champion.version || '|' || champion.algorithm
        ) as scoring_fingerprint

    from feature_texts
    left join factor_texts
        on feature_texts.customer_id = factor_texts.customer_id
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

    select * from predict_churn_table(features_to_score)

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
        changed.scoring_fingerprint,

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
    inner join changed
        on scores.customer_id = changed.customer_id
    left join factors
        on scores.customer_id = factors.customer_id
    cross join champion

)

select * from final
