{#- Post-hook of every model: give PostgreSQL's planner the statistics of a table the build
    has just written. dbt creates a table model as a new table, and a new table has none
    until autovacuum gets to it, seconds to minutes later; a model reading it before then
    is planned for a one-row guess, and can take minutes instead of a second
    (BENCHMARKS.md).
    ANALYZE reads a sample (30,000 rows), so its cost does not grow with the table.
    An incremental model keeps its statistics from build to build, and adds a day's
    change to them: it is analysed when it has none yet (its first build). -#}
{% macro analyze_for_the_planner() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set materialized = config.get('materialized') -%}
    {%- if materialized == 'table' -%}
        analyze {{ this }}
    {%- elif materialized == 'incremental' -%}
        {%- set never_analysed = run_query(
            "select coalesce((select reltuples < 0 from pg_class"
            ~ " where oid = to_regclass('" ~ this.schema ~ "." ~ this.identifier ~ "')), false)") -%}
        {%- if never_analysed.columns[0].values()[0] -%}
        analyze {{ this }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
