{% test not_negative(model, column_name) %}
{#- Fails with every row whose value is negative. -#}
select {{ column_name }}
from {{ model }}
where {{ column_name }} < 0
{% endtest %}
