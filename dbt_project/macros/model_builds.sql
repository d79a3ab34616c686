{#- The business date each mart was last built for, in etl.model_builds
    (migrations/017_model_builds.sql): the monthly report waits until every mart it
    reads was built for D. A post-hook of the marts folder (dbt_project.yml). -#}
{% macro record_model_build() -%}
    {%- if execute -%}
    insert into etl.model_builds (model, business_date)
    values ('{{ this.identifier }}', {{ business_date() }})
    on conflict (model) do update
        set business_date = excluded.business_date, built_at = clock_timestamp()
    {%- endif -%}
{%- endmacro %}
