{#- One scan of the landed input computes every statistic; then one row per column. -#}
{%- set raw_columns = [
    'invoice_id', 'product_id', 'description', 'quantity', 'unit_price',
    'line_amount', 'invoiced_at', 'customer_id', 'country', 'load_error'
] -%}
with

landed as (

    select * from {{ ref('stg_input__landed_lines') }}

),

aggregated as (

    select
        count(*) as row_count,
        {% for column in raw_columns %}
            count({{ column }}) as {{ column }}__filled,
            approx_count_distinct({{ column }}) as {{ column }}__distinct,
            min({{ column }}) as {{ column }}__min,
            max({{ column }}) as {{ column }}__max,
            min(length({{ column }})) as {{ column }}__min_length,
            max(length({{ column }})) as {{ column }}__max_length
            {%- if not loop.last %},{% endif %}
        {% endfor %}

    from landed

),

profiled as (

    {% for column in raw_columns %}
        select
            '{{ column }}' as column_name,
            {{ loop.index }} as column_position,
            row_count,
            row_count - {{ column }}__filled as null_count,
            {{ column }}__distinct as approx_distinct_count,
            {{ column }}__min as min_value,
            {{ column }}__max as max_value,
            {{ column }}__min_length as min_length,
            {{ column }}__max_length as max_length

        from aggregated
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        ---------- ids
        column_name,

        ---------- strings
        min_value,
        max_value,

        ---------- numerics
        cast(column_position as integer) as column_position,
        cast(row_count as bigint) as row_count,
        cast(null_count as bigint) as null_count,
        cast(null_count / nullif(row_count, 0) as double) as null_rate,
        cast(approx_distinct_count as bigint) as approx_distinct_count,
        cast(min_length as bigint) as min_length,
        cast(max_length as bigint) as max_length

    from profiled

)

select * from final
