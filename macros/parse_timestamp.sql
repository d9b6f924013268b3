{% macro parse_timestamp(text_expression) -%}
    {{ return(adapter.dispatch('parse_timestamp', 'clv_warehouse')(text_expression)) }}
{%- endmacro %}

{% macro default__parse_timestamp(text_expression) -%}
    {#- Accepted layouts, tried in order; US month/day before day/month (UCI exports). -#}
    try_strptime(
        {{ text_expression }},
        [
            '%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M', '%Y-%m-%dT%H:%M:%S',
            '%Y-%m-%d', '%Y%m%d', '%m/%d/%Y %H:%M', '%m/%d/%Y %H:%M:%S',
            '%m/%d/%Y', '%d.%m.%Y %H:%M', '%d.%m.%Y'
        ]
    )
{%- endmacro %}

{% macro spark__parse_timestamp(text_expression) -%}
    coalesce(
        try_to_timestamp({{ text_expression }}, 'yyyy-MM-dd HH:mm:ss'),
        try_to_timestamp({{ text_expression }}, 'yyyy-MM-dd HH:mm'),
        try_to_timestamp({{ text_expression }}, 'yyyy-MM-dd'),
        try_to_timestamp({{ text_expression }}, 'yyyyMMdd'),
        try_to_timestamp({{ text_expression }}, 'M/d/yyyy H:mm'),
        try_to_timestamp({{ text_expression }}, 'M/d/yyyy')
    )
{%- endmacro %}
