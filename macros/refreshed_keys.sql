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
