{% macro ml_tasks() -%}
    {#-
        The ML task declarations (name, primary_metric, features, ...), read from
        the config of every ml_<task>_model_versions Python model, so SQL models
        see the same tasks as the registry. Empty while dbt parses.
    -#}
    {%- set tasks = [] -%}
    {%- if execute -%}
        {%- for node in graph.get('nodes', {}).values() | sort(attribute='name') -%}
            {%- if node.resource_type == 'model'
                and node.name.startswith('ml_')
                and node.name.endswith('_model_versions')
                and node.config.get('task') -%}
                {%- do tasks.append(node.config.get('task')) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(tasks) }}
{%- endmacro %}


{% macro previous_build_relation(schema, identifier) -%}
    {#-
        A table as the previous build left it, read without ref() so that a model
        can look at state a later model of the same build rewrites (the current
        champion, the prediction log) without a dependency cycle. None on the
        first build.
    -#}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {{ return(adapter.get_relation(
        database=target.database, schema=schema, identifier=identifier
    )) }}
{%- endmacro %}


{% macro ml_label_window_days() -%}
    {{ return([var('churn_window_days') | int, var('value_horizon_days') | int] | max) }}
{%- endmacro %}
