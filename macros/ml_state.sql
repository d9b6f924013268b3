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


{% macro previous_build_relation(model_name) -%}
    {#-
        A model's table as the previous build left it, read without ref() so
        that a model can look at state a later model of the same build rewrites
        (the current champion, the prediction log) without a dependency cycle.
        The schema and name come from the model's node, so a custom schema or
        alias moves with it. None on the first build.
    -#}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set nodes = graph.nodes.values()
        | selectattr('resource_type', 'equalto', 'model')
        | selectattr('package_name', 'equalto', project_name)
        | selectattr('name', 'equalto', model_name) | list -%}
    {%- if nodes | length != 1 -%}
        {{ exceptions.raise_compiler_error(
            "previous_build_relation: no model named '" ~ model_name ~ "'"
        ) }}
    {%- endif -%}
    {%- set node = nodes[0] -%}
    {{ return(adapter.get_relation(
        database=node.database, schema=node.schema, identifier=node.alias
    )) }}
{%- endmacro %}


{% macro ml_label_window_days() -%}
    {{ return([var('churn_window_days') | int, var('value_horizon_days') | int] | max) }}
{%- endmacro %}
