{% macro generate_schema_name(custom_schema_name, node) -%}
    {#- Layers land in plain schemas (staging, silver, gold, ml), not main_gold. -#}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
