{#-
    A table built in config('buckets') separate statements, one per bucket of
    rows, so that each statement's joins, sorts and aggregates hold 1/N of the
    data. One statement with N `union all` branches does not do this: DuckDB
    runs the branches side by side and their hash tables share the memory
    limit (measured: the same spill and out-of-memory error with 1 or 8
    branches).

    The model puts {{ bucket_filter('some_key') }} in a where clause, on a key
    that keeps together every row one output row depends on (for example the
    customer). The first bucket creates the table, the others insert into it,
    and the table replaces the old one at the end, as dbt's table does.

    With config unique_key, and when the table exists and this is no full
    refresh, bucketed_incremental() is true in the model, which then selects
    only the keys to replace; their old rows are deleted and the new ones
    inserted (dbt's delete+insert). A table without an input_fingerprint
    column (built by an older version of the project) is rebuilt whole.
-#}
{% macro bucket_filter(column) -%}
    hash({{ column }}) % __clv_bucket_count__ = __clv_bucket__
{%- endmacro %}


{% materialization bucketed_table, adapter="duckdb" %}

    {%- set buckets = config.get('buckets', 1) | int -%}
    {%- if buckets < 1 -%}
        {{ exceptions.raise_compiler_error(
            model.name ~ ": buckets must be a whole number of at least 1, got "
            ~ config.get('buckets')) }}
    {%- endif -%}
    {%- if '__clv_bucket__' not in compiled_code -%}
        {{ exceptions.raise_compiler_error(
            model.name ~ " is materialized as bucketed_table but has no "
            ~ "{{ bucket_filter(...) }} in its SQL: every bucket would repeat "
            ~ "every row") }}
    {%- endif -%}

    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set intermediate_relation = make_intermediate_relation(target_relation) -%}
    {%- set backup_relation = make_backup_relation(
        target_relation, 'table' if existing_relation is none else existing_relation.type) -%}
    {{ drop_relation_if_exists(load_cached_relation(intermediate_relation)) }}
    {{ drop_relation_if_exists(load_cached_relation(backup_relation)) }}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- for bucket in range(buckets) -%}
        {%- set bucket_sql = compiled_code
            | replace('__clv_bucket_count__', buckets | string)
            | replace('__clv_bucket__', bucket | string) -%}
        {%- call statement('main' if loop.last else 'bucket_' ~ bucket) -%}
            {%- if loop.first -%}
                {{ create_table_as(False, intermediate_relation, bucket_sql) }}
            {%- else -%}
                insert into {{ intermediate_relation }} {{ bucket_sql }}
            {%- endif -%}
        {%- endcall -%}
    {%- endfor -%}

    {%- set unique_key = config.get('unique_key') -%}
    {%- if bucketed_incremental() -%}
        {%- call statement('replace_keys') -%}
            delete from {{ target_relation }}
            where {{ unique_key }} in (
                select {{ unique_key }} from {{ intermediate_relation }}
            );
            insert into {{ target_relation }} by name
            select * from {{ intermediate_relation }};
            drop table {{ intermediate_relation }}
        {%- endcall -%}
    {%- else -%}
        {%- if existing_relation is not none -%}
            {{ adapter.rename_relation(existing_relation, backup_relation) }}
        {%- endif -%}
        {{ adapter.rename_relation(intermediate_relation, target_relation) }}
    {%- endif -%}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% do persist_docs(target_relation, model) %}
    {{ adapter.commit() }}
    {{ drop_relation_if_exists(backup_relation) }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}

{% endmaterialization %}


{% macro bucketed_incremental() -%}
    {#- is_incremental() for a bucketed_table with a unique_key: the table
        exists and this is no full refresh, so the model may compute only the
        keys it must replace (dbt's is_incremental() is true for the
        incremental materialization alone). -#}
    {%- if not execute or config.get('unique_key') is none -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set existing = adapter.get_relation(this.database, this.schema, this.identifier) -%}
    {%- if existing is none or existing.type != 'table' or should_full_refresh() -%}
        {{ return(false) }}
    {%- endif -%}
    {#- a table from a version of the project without the bookkeeping column
        the incremental rows are matched by is rebuilt whole -#}
    {{ return(has_fingerprint_column(existing)) }}
{%- endmacro %}
