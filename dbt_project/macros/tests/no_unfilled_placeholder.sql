{#- No `{...}` is left in the column: every placeholder of a template was filled in
    (macros/templates.sql). A row that fails names the text, so the template to fix is
    plain to see. -#}
{% test no_unfilled_placeholder(model, column_name) %}
select {{ column_name }} as text_with_a_placeholder_left
from {{ model }}
where {{ column_name }} ~ '[{}]'
{% endtest %}
