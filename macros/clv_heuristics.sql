{% macro clv_simple(monetary_value, frequency, recency_days, discount_rate) -%}
    {#- AWS reference: (monetary / frequency) * (1 - (recency + 1) / 365) / (1 + d).
        Known flaw: negative once recency_days >= 365. -#}
    (
        ({{ monetary_value }}) / nullif({{ frequency }}, 0)
        * (1 - ((({{ recency_days }}) + 1) / 365.0))
        / (1 + ({{ discount_rate }}))
    )
{%- endmacro %}

{% macro clv_advanced(
    average_revenue, customer_lifetime, acquisition_cost, discount_rate, retention_rate
) -%}
    {#- AWS reference: [(average revenue * lifetime) - CAC] / (1 + d - retention).
        Known flaw: explodes as retention approaches 1 + d. -#}
    (
        (({{ average_revenue }}) * ({{ customer_lifetime }}) - ({{ acquisition_cost }}))
        / nullif(1 + ({{ discount_rate }}) - ({{ retention_rate }}), 0)
    )
{%- endmacro %}
