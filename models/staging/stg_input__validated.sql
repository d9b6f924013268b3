{#-
    Checks the input vars and the file header before anything is landed. A bad
    input stops the build here with one line naming the file and the problem
    (clv_check_input lives in clv_warehouse.landing, via the dbt-duckdb plugin).
-#}
with

checked as (

    select
        clv_check_input(
            {{ sql_string(var('input_format')) }},
            {{ sql_string(var('input_path')) }},
            {{ sql_string(var('input_delimiter')) }},
            {{ sql_string(var('input_sheet')) }},
            {{ sql_string(tojson(var('input_columns'))) }}
        ) as problem

),

validated as (

    select
        {{ sql_string(var('input_format')) }} as input_format,
        {{ sql_string(var('input_path')) }} as input_path,
        coalesce(
            nullif(problem, ''), 'ok'
        ) as check_result

    from checked

),

stopped_if_invalid as (

    select
        input_format,
        input_path,
        case
            when check_result = 'ok' then check_result
            else error(check_result)
        end as check_result

    from validated

)

select * from stopped_if_invalid
