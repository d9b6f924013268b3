{#-
    The future value tier, one definition for the training labels
    (ml_customer_features) and the realized outcomes of logged predictions
    (ml_prediction_outcomes): none when nothing was spent, else low / medium /
    high by the terciles of positive future spend (value_tier_thresholds).
-#}
{% macro value_tier_thresholds(spend) -%}
    percentile_cont(1.0 / 3) within group (order by {{ spend }})
        as low_medium_threshold,
    percentile_cont(2.0 / 3) within group (order by {{ spend }})
        as medium_high_threshold
{%- endmacro %}

{% macro value_tier(spend, thresholds='tier_thresholds') -%}
    case
        when coalesce({{ spend }}, 0) <= 0 then 'none'
        when {{ spend }} < {{ thresholds }}.low_medium_threshold then 'low'
        when {{ spend }} < {{ thresholds }}.medium_high_threshold then 'medium'
        else 'high'
    end
{%- endmacro %}
