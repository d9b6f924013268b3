{% macro sql_string(value) -%}
    {#- Render a Jinja value as a safely quoted SQL string literal. -#}
    '{{ (value | string) | replace("'", "''") }}'
{%- endmacro %}
