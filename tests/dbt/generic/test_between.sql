{% test between(model, column_name, min_value, max_value) %}
{#- Fails with every row whose value is outside [min_value, max_value] or null. -#}
select {{ column_name }}
from {{ model }}
where {{ column_name }} is null
    or {{ column_name }} < {{ min_value }}
    or {{ column_name }} > {{ max_value }}
{% endtest %}
