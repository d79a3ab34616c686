{#- The business date D of the run (rules.md): every model is built "as of D".
    Set by Airflow from the data interval (`--vars '{"business_date": "YYYY-MM-DD"}'`). -#}
{% macro business_date() -%}
    {%- set value = var('business_date') -%}
    {%- if value is none and execute -%}
        {{ exceptions.raise_compiler_error(
            "the business_date var is required: dbt build --vars '{\"business_date\": \"YYYY-MM-DD\"}'"
        ) }}
    {%- endif -%}
    cast('{{ value or "2000-01-01" }}' as date)
{%- endmacro %}

{#- D 00:00 +08:00: the run for D sees every source change made before this instant. -#}
{% macro business_day_start() -%}
    (cast({{ business_date() }} as timestamp) at time zone 'Asia/Shanghai')
{%- endmacro %}

{#- Whole days from `date_expr` to D (rules.md: every "days since" is D - date). -#}
{% macro days_before_d(date_expr) -%}
    ({{ business_date() }} - ({{ date_expr }}))
{%- endmacro %}

{#- The first month the KPIs of a build for D report (rules §4: `kpi_months` months up to
    the month of D-1). -#}
{% macro kpi_first_month() -%}
    cast(date_trunc('month', {{ business_date() }} - 1 - make_interval(months => {{ var('kpi_months') }} - 1)) as date)
{%- endmacro %}


{#- The first day of each KPI month, the first one's to D-1's (a set-returning expression
    of timestamps: `from {{ kpi_month_series() }} as month_start`). -#}
{% macro kpi_month_series() -%}
    generate_series({{ kpi_first_month() }}::timestamp, date_trunc('month', {{ business_date() }} - 1), interval '1 month')
{%- endmacro %}
