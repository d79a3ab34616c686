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


{#- The rules an incremental model was built with, kept as the table's comment: a daily
    build that would apply other rules (a changed seed, a var given for the run) rebuilds
    the model in full instead of mixing rows of both. `fingerprint` is a query of one text
    naming the rules. -#}
{% macro record_rules(fingerprint) -%}
    {%- if execute -%}
    {%- set text = run_query(fingerprint).columns[0].values()[0] -%}
    comment on table {{ this }} is '{{ text }}'
    {%- endif -%}
{%- endmacro %}

{% macro built_with_the_same_rules(fingerprint) -%}
    {%- set same = run_query(
        "select coalesce(obj_description(to_regclass('" ~ this.schema ~ "." ~ this.identifier ~ "'), 'pg_class'), '')"
        ~ " = (" ~ fingerprint ~ ")") -%}
    {{ return(same.columns[0].values()[0]) }}
{%- endmacro %}


{#- Whether any of the staging `models` was rebuilt from all of raw by a build for
    `merged_since` or later (etl.staging_builds): a record a corrected file dropped is
    then gone without a stamp, and a model following them must rebuild too. -#}
{% macro staging_rebuilt_since(models, merged_since) -%}
    {%- set rebuilt = run_query(
        "select exists (select 1 from etl.staging_builds where full_rebuild and business_date >= " ~ merged_since
        ~ " and model in ('" ~ models | join("', '") ~ "'))") -%}
    {{ return(rebuilt.columns[0].values()[0]) }}
{%- endmacro %}


{#- Post-hook of an incremental model: create an index on `columns` unless the table has one
    on exactly those columns. dbt creates a model's `indexes` only with its table, so a
    table made by an earlier version (a model that was a table then) would lack the
    indexes its daily increment now reads by. -#}
{% macro index_if_missing(columns) -%}
    {%- if execute -%}
    do $$
    begin
        if not exists ({{ indexes_on(columns) }}) then
            create index on {{ this }} ({{ columns | join(', ') }});
        end if;
    end
    $$
    {%- endif -%}
{%- endmacro %}


{#- Post-hook of an incremental model: drop the indexes on exactly `columns` that an earlier
    version created and the model no longer reads by (each costs every daily insert). -#}
{% macro drop_index_if_present(columns) -%}
    {%- if execute -%}
    do $$
    declare
        unused regclass;
    begin
        for unused in select i.indexrelid::regclass from ({{ indexes_on(columns) }}) as i loop
            execute 'drop index ' || unused;
        end loop;
    end
    $$
    {%- endif -%}
{%- endmacro %}


{#- The model's indexes on exactly `columns`, in that order (pg_index rows). -#}
{% macro indexes_on(columns) -%}
    select i.indexrelid from pg_index as i
    where i.indrelid = '{{ this }}'::regclass
      and array(
          select a.attname::text from unnest(i.indkey) with ordinality as k (attnum, n)
          join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = k.attnum
          order by k.n
      ) = array['{{ columns | join("', '") }}']
{%- endmacro %}
