{#-
    The label window of ml_customer_features, shared with ml_feature_references
    (which computes the value-tier terciles over all customers while the
    features are built one bucket of customers at a time): the activity rows
    inside each matured cutoff's label window, and the future spend over
    var('value_horizon_days').
-#}
{% macro label_window_activity(cutoffs='cutoffs', activity='activity') -%}
    {{ cutoffs }}
    inner join {{ activity }}
        on
            {{ cutoffs }}.cutoff_date <= {{ activity }}.activity_date
            and {{ cutoffs }}.cutoff_date + {{ cutoffs }}.label_window_days
            > {{ activity }}.activity_date
    where {{ cutoffs }}.is_label_matured
{%- endmacro %}


{% macro future_spend(cutoffs='cutoffs', activity='activity') -%}
    sum(
        case
            when
                {{ activity }}.activity_date
                < {{ cutoffs }}.cutoff_date + {{ var('value_horizon_days') }}
                then {{ activity }}.gross_amount
            else 0
        end
    )
{%- endmacro %}
