{#-
    BG/NBD closed forms in SQL, the twins of clv_warehouse.probabilistic's
    _prob_alive and _prob_no_purchase (same log-space arithmetic). x: repeat
    purchase days; t_x, t_obs, t: weeks (last purchase and calibration end since
    the first purchase, window length); p: a relation alias with r, alpha, a, b.
    Null parameters give null.
-#}
{% macro bgnbd_prob_alive(x, t_x, t_obs, p) -%}
    case
        when {{ p }}.r is null then null
        when {{ x }} > 0
            then 1.0 / (1.0 + exp(
                ln({{ p }}.a) - ln({{ p }}.b + {{ x }} - 1)
                + ({{ p }}.r + {{ x }})
                * (ln({{ p }}.alpha + {{ t_obs }}) - ln({{ p }}.alpha + {{ t_x }}))
            ))
        else 1.0
    end
{%- endmacro %}

{% macro bgnbd_prob_no_purchase(x, t_x, t_obs, t, p) -%}
    least(greatest(
        1.0 - {{ bgnbd_prob_alive(x, t_x, t_obs, p) }}
        + {{ bgnbd_prob_alive(x, t_x, t_obs, p) }}
        * exp(-({{ p }}.r + {{ x }}) * ln(1.0 + {{ t }} / ({{ p }}.alpha + {{ t_obs }}))),
        0.0
    ), 1.0)
{%- endmacro %}
