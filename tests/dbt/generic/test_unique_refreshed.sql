{% test unique_refreshed(model, column_name, batch_column='refreshed_batch') %}
{#-
    unique, for an incremental table whose rows carry the batch that last
    wrote them: fails with every key that occurs more than once among the keys
    the latest build wrote (checked against the whole table). A build cannot
    make older keys repeat without writing one of the copies, so this finds
    every duplicate a build makes, and reads one column of the table instead
    of grouping all of it. var('data_test_scope') = 'all' checks every key,
    and so does a table whose rows are all of one batch (a first or full
    build), where the plain group-by is the cheaper check.
-#}
select {{ column_name }} as unique_field, count(*) as n_records
from {{ model }}
{% if checks_latest_batch_only([(model, batch_column)]) %}
    where {{ column_name }} in (
        select {{ column_name }} from {{ model }}
        where {{ latest_batch_rows(model, batch_column) }}
    )
{% endif %}
group by {{ column_name }}
having count(*) > 1
{% endtest %}
