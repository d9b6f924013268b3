{#-
    The keys (customer_id or invoice_id) of an upstream incremental model's rows
    recomputed since this model's last build: rows whose refreshed_batch is above
    the latest batch this model has seen. Used in `where key in (...)` filters of
    is_incremental() blocks.
-#}
{% macro refreshed_keys(upstream, key) -%}
    select refreshed.{{ key }}
    from {{ upstream }} as refreshed
    where refreshed.refreshed_batch > {{ last_refreshed_batch() }}
{%- endmacro %}


{% macro last_refreshed_batch() -%}
    {#- The latest refreshed_batch this incremental model holds (0 when empty):
        its rows above it upstream are the ones to recompute. -#}
    (select coalesce(max(refreshed_batch), 0) from {{ this }})
{%- endmacro %}


{% macro latest_batch_rows(relation, batch_column='refreshed_batch') -%}
    {#- A filter for the rows the latest build wrote: the rows of the highest
        batch in ``relation`` (every row on a first or full build). Data tests
        check only these when var('data_test_scope') is 'refreshed'. -#}
    {%- if var('data_test_scope') not in ('refreshed', 'all') -%}
        {{ exceptions.raise_compiler_error(
            "data_test_scope must be 'refreshed' or 'all', got '"
            ~ var('data_test_scope') ~ "'") }}
    {%- endif -%}
    {{ batch_column }} = (select max({{ batch_column }}) from {{ relation }})
{%- endmacro %}
