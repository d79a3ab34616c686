{#- A row's combination of `columns` appears once (as dbt_utils' test of that name, which cannot be
    downloaded here). -#}
{% test unique_combination_of_columns(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
