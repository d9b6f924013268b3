{#-
    dbt-duckdb's delete+insert, with one change: a list unique_key deletes
    through `where exists (...)`, a semi-join, instead of `delete ... using`,
    which joins every new row to every old row with the same key (for
    ml_prediction_log, keyed on (task, cutoff_date), 430,000 x 430,000 rows at
    10M lines: a build at an unchanged cutoff ran for more than 10 minutes in
    that one model). A single-column key already uses `in (select ...)`.
    Found first through dispatch (dbt_project.yml: dispatch).
-#}
{% macro duckdb__get_delete_insert_merge_sql(
    target, source, unique_key, dest_columns, incremental_predicates
) -%}
    {%- set dest_cols_csv = get_quoted_csv(dest_columns | map(attribute="name")) -%}
    {%- if unique_key -%}
        {%- set keys = [unique_key] if unique_key is string else unique_key -%}
        delete from {{ target }} as dbt_incremental_target
        where exists (
            select 1 from {{ source }} as dbt_incremental_source
            where
                {% for key in keys -%}
                    dbt_incremental_source.{{ key }} = dbt_incremental_target.{{ key }}
                    {{ "and " if not loop.last }}
                {%- endfor %}
        )
        {%- for predicate in incremental_predicates or [] %}
            and {{ predicate }}
        {%- endfor %};
    {%- endif %}

    insert into {{ target }} ({{ dest_cols_csv }})
    (
        select {{ dest_cols_csv }}
        from {{ source }}
    )
{%- endmacro %}
