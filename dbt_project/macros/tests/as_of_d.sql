{#- The data tests of a model that keeps what earlier builds wrote check only the rows
    this build wrote.

    - A history model (`vehicle_churn_status`, `why_not_called`, ...) keeps one
      set of rows per business date and each build replaces only D's.
    - An incremental model (`stg_dms__repair_orders`, ..., `int_visits`) rewrites only
      the records that changed, and stamps them with D (`merged_for_date`); a full
      rebuild stamps every row. The fact views over them show the same stamp.
    The other rows were tested by the builds that wrote them. Testing them all every day
    would re-read tables of millions of rows (one grows by a million a day on `large`).

    A model opts in with `meta: {build_date_column: <the column holding the build's
    D>}` in its config; its generic tests then read `(select * from model where
    <column> = D [and <the test's own where>])`. `unique_index` looks at the catalog,
    not at rows, and is left whole. This overrides dbt's `get_where_subquery`, which
    every generic test calls on the model it tests; other models and singular tests are
    unchanged.

    Self-contained on purpose: dbt renders this in a test's own macro namespace, where
    the project's other macros (`business_date()`) are not defined. -#}
{% macro default__get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set tested = graph.nodes.get(model.get('attached_node')) if execute else none -%}
    {%- set date_column = tested.config.meta.get('build_date_column') if tested else none -%}
    {%- if model.get('test_metadata', {}).get('name') == 'unique_index' -%}
        {%- set date_column = none -%}
    {%- endif -%}
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
