{#- The feature rows of the scoring cutoff: what the prediction macros score. -#}
select * from {{ ref('ml_customer_features') }}
where is_scoring
