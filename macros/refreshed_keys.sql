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
        its rows above it upstream are the ones to recompute. Read when the
        node runs and written into the SQL as a number: DuckDB pushes a
        constant filter into the scan (zone maps skip the old batches' row
        groups), where a scalar subquery became a nested-loop join on top of
        the whole join (2.8 s at 10M lines for a build with nothing new). -#}
    {{- highest_batch(this, 'refreshed_batch') -}}
{%- endmacro %}


{% macro highest_batch(relation, batch_column) -%}
    {#- The highest ``batch_column`` in ``relation`` (0 when empty), read when
        the node runs and written in as a number; a subquery while parsing. -#}
    {%- if execute -%}
        {%- set found = run_query(
            "select coalesce(max(" ~ batch_column ~ "), 0) from " ~ relation) -%}
        {{- found.columns[0].values()[0] | int -}}
    {%- else -%}
        (select coalesce(max({{ batch_column }}), 0) from {{ relation }})
    {%- endif -%}
{%- endmacro %}


{% macro latest_batch_rows(relation, batch_column='refreshed_batch') -%}
    {#- A filter for the rows the latest build wrote: the rows of the highest
        batch in ``relation`` (every row on a first or full build). Data tests
        check only these when var('data_test_scope') is 'refreshed'. The batch
        is read when the test runs and written in as a number, so that DuckDB
        filters the scan (see last_refreshed_batch). -#}
    {{ batch_column }} = {{ highest_batch(relation, batch_column) }}
{%- endmacro %}


{% macro checks_latest_batch_only(relations_and_columns) -%}
    {#- True when data tests should check the latest batch's rows alone:
        var('data_test_scope') is 'refreshed' and some relation of the
        (relation, batch column) pairs holds rows of an older batch. On a
        first or full build every row is in the latest batch, and the plain
        check of every row is the cheaper one. -#}
    {%- if var('data_test_scope') not in ('refreshed', 'all') -%}
        {{ exceptions.raise_compiler_error(
            "data_test_scope must be 'refreshed' or 'all', got '"
            ~ var('data_test_scope') ~ "'") }}
    {%- endif -%}
    {%- if var('data_test_scope') == 'all' or not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- for relation, column in relations_and_columns -%}
        {%- if load_relation(relation) is none -%}
            {{ return(false) }}  {#- not built yet (a lint on an empty warehouse) -#}
        {%- endif -%}
        {%- set spread = run_query(
            "select coalesce(min(" ~ column ~ ") < max(" ~ column ~ "), false) from "
            ~ relation) -%}
        {%- if spread.columns[0].values()[0] -%}
            {{ return(true) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}
