{% macro canonical_customer_id(text_expression) -%}
    {#- '12346.0' (an id read as a float) -> '12346'; blanks and NaN -> null. -#}
    case
        when trim({{ text_expression }}) in ('', 'nan', 'NaN', 'None', 'NULL', 'null')
            then null
        when regexp_matches(trim({{ text_expression }}), '^[0-9]+\.0+$')
            then split_part(trim({{ text_expression }}), '.', 1)
        else trim({{ text_expression }})
    end
{%- endmacro %}
