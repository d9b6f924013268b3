{#-
    Every CLV method's prediction for each customer of the backtest cutoff,
    beside what the customer actually did in the holdout. Methods:
    bgnbd_gg (probabilistic), naive_rate (the baseline: the calibration repeat
    purchase rate x holdout length), heuristic_simple and heuristic_advanced
    (the AWS formulas: ranking only, they predict no counts), ml_classifiers
    (the churn and value-tier models retrained on labels known by the cutoff;
    ranking only), ml_regression (horizon-matched gradient boosting of purchase
    and spend rates, the ML future-spend prediction) and ensemble (its blend
    with bgnbd_gg, weights chosen on an inner split before the cutoff) and
    bgnbd_cov (BG/NBD with customer covariates + Gamma-Gamma, ranking churn
    by expected purchases).
-#}
with

summaries as (

    select * from {{ ref('int_customers_summarized_at_cutoffs') }}
    where cutoff_id = 'backtest'

),

scored as (

    select * from {{ ref('int_customer_clv_scored') }}
    where cutoff_id = 'backtest'

),

ml_scores as (

    select * from {{ ref('ml_backtest_scored') }}

),

regression_scores as (

    select * from {{ ref('ml_backtest_regression_scored') }}

),

covariate_scores as (

    select * from {{ ref('int_clv_backtest_covariate_scored') }}

),

heuristic_values as (

    select * from {{ ref('int_clv_heuristics_at_cutoffs') }}
    where cutoff_id = 'backtest'

),

naive as (

    select
        customer_id,
        holdout_purchase_day_count,
        holdout_gross_amount,
        coalesce(frequency / nullif(tenure_days, 0), 0) * holdout_days
            as predicted_purchases,
        average_purchase_value

    from summaries

),

probabilistic as (

    select
        'bgnbd_gg' as method,
        summaries.customer_id,
        scored.expected_purchases as predicted_purchases,
        scored.expected_spend as predicted_spend,
        scored.expected_spend as value_score,
        scored.prob_no_purchase as churn_score,
        summaries.holdout_purchase_day_count as actual_purchases,
        summaries.holdout_gross_amount as actual_spend

    from summaries
    inner join scored
        on summaries.customer_id = scored.customer_id

),

covariate as (

    select
        'bgnbd_cov' as method,
        summaries.customer_id,
        covariate_scores.expected_purchases as predicted_purchases,
        covariate_scores.expected_spend as predicted_spend,
        covariate_scores.expected_spend as value_score,
        covariate_scores.churn_score,
        summaries.holdout_purchase_day_count as actual_purchases,
        summaries.holdout_gross_amount as actual_spend

    from summaries
    inner join covariate_scores
        on summaries.customer_id = covariate_scores.customer_id

),

baseline as (

    select
        'naive_rate' as method,
        customer_id,
        predicted_purchases,
        predicted_purchases * average_purchase_value as predicted_spend,
        predicted_purchases * average_purchase_value as value_score,
        exp(-predicted_purchases) as churn_score,
        holdout_purchase_day_count as actual_purchases,
        holdout_gross_amount as actual_spend

    from naive

),

heuristics as (

    select
        summaries.customer_id,
        summaries.holdout_purchase_day_count,
        summaries.holdout_gross_amount,
        heuristic_values.clv_simple_heuristic as simple_value,
        heuristic_values.clv_advanced_heuristic as advanced_value

    from summaries
    inner join heuristic_values
        on summaries.customer_id = heuristic_values.customer_id

),

heuristic_rankings as (

    select
        'heuristic_simple' as method,
        customer_id,
        cast(null as double) as predicted_purchases,
        cast(null as double) as predicted_spend,
        simple_value as value_score,
        -simple_value as churn_score,
        holdout_purchase_day_count as actual_purchases,
        holdout_gross_amount as actual_spend

    from heuristics

    union all

    select
        'heuristic_advanced' as method,
        customer_id,
        cast(null as double) as predicted_purchases,
        cast(null as double) as predicted_spend,
        advanced_value as value_score,
        -advanced_value as churn_score,
        holdout_purchase_day_count as actual_purchases,
        holdout_gross_amount as actual_spend

    from heuristics

),

ml_rankings as (

    select
        'ml_classifiers' as method,
        summaries.customer_id,
        cast(null as double) as predicted_purchases,
        cast(null as double) as predicted_spend,
        ml_scores.expected_value as value_score,
        ml_scores.churn_probability as churn_score,
        summaries.holdout_purchase_day_count as actual_purchases,
        summaries.holdout_gross_amount as actual_spend

    from summaries
    inner join ml_scores
        on summaries.customer_id = ml_scores.customer_id

),

regression as (

    select
        'ml_regression' as method,
        summaries.customer_id,
        regression_scores.ml_purchases as predicted_purchases,
        regression_scores.ml_spend as predicted_spend,
        regression_scores.ml_spend as value_score,
        regression_scores.ml_churn_probability as churn_score,
        summaries.holdout_purchase_day_count as actual_purchases,
        summaries.holdout_gross_amount as actual_spend

    from summaries
    inner join regression_scores
        on summaries.customer_id = regression_scores.customer_id

    union all

    select
        'ensemble' as method,
        summaries.customer_id,
        regression_scores.ensemble_purchases as predicted_purchases,
        regression_scores.ensemble_spend as predicted_spend,
        regression_scores.ensemble_spend as value_score,
        regression_scores.ensemble_churn_score as churn_score,
        summaries.holdout_purchase_day_count as actual_purchases,
        summaries.holdout_gross_amount as actual_spend

    from summaries
    inner join regression_scores
        on summaries.customer_id = regression_scores.customer_id

),

unioned as (

    select * from probabilistic
    union all
    select * from covariate
    union all
    select * from baseline
    union all
    select * from heuristic_rankings
    union all
    select * from ml_rankings
    union all
    select * from regression

)

select * from unioned
