{#- The data tests of a history model check the rows this build wrote: D's.

    A history model (`vehicle_churn_status`, `int_outreach_decisions`, ...) keeps one set
    of rows per business date and each build replaces only D's, so the other dates were
    tested by the builds that wrote them. Testing all of history every day would re-read
    a table that grows by a million rows a day on the `large` world.

    A model opts in with `meta: {history_date: <its date column>}` in its config; its
    generic tests then read `(select * from model where <column> = D [and <the test's own
    where>])`. This overrides dbt's `get_where_subquery`, which every generic test calls
    on the model it tests; other models and singular tests are unchanged.

    Self-contained on purpose: dbt renders this in a test's own macro namespace, where
    the project's other macros (`business_date()`) are not defined. -#}
{% macro default__get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set tested = graph.nodes.get(model.get('attached_node')) if execute else none -%}
    {%- set date_column = tested.config.meta.get('history_date') if tested else none -%}
    {%- if date_column -%}
        {%- do conditions.append(date_column ~ " = cast('" ~ var('business_date') ~ "' as date)") -%}
    {%- endif -%}
    {%- if config.get('where') -%}
        {%- do conditions.append('(' ~ config.get('where') ~ ')') -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}
