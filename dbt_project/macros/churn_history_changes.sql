{#- The ledger of what each build of int_vehicle_churn_monthly recomputed
    (etl.churn_history_changes, migrations/019): the vehicles whose every month it
    rewrote, and the first month it rewrote for every vehicle (none: a full build). The
    first post-hook of the model, inside its transaction and before its build is recorded,
    so that the increment it renders is the one the build applied. A model following the
    ended months reads it (`churn_history_changed_after`) instead of comparing every
    vehicle-month again. Entries recorded more than 92 days ago are removed. -#}
{% macro record_churn_history_changes() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set increment = churn_monthly_increment() if is_incremental() else {'mode': 'full'} -%}
    delete from etl.churn_history_changes where recorded_at < now() - interval '92 days';
    insert into etl.churn_history_changes (business_date, vin, from_month)
    {%- if increment.mode == 'full' %}
    values ({{ business_date() }}, null, null)
    {%- else %}
    values ({{ business_date() }}, null, {{ increment.first_open_month }});
    insert into etl.churn_history_changes (business_date, vin)
    select {{ business_date() }}, touched.vin from int_vehicle_churn_monthly__touched as touched
    {%- endif %}
{%- endmacro %}


{#- What the churn history's builds rewrote after `built_at` (a SQL timestamp: the
    follower's last build), by the ledger: `all` when one was a full build, or `built_at`
    is older than the ledger keeps (or null); else `from_month`, the first month any of
    them rewrote for every vehicle (a SQL date, null if none ran), and `vins`, the query of
    the vehicles whose every month was rewritten. -#}
{% macro churn_history_changed_after(built_at) -%}
    {%- set changes = run_query(
        "select coalesce(" ~ built_at ~ " < now() - interval '92 days', true)"
        ~ " or exists (select 1 from etl.churn_history_changes as changes"
        ~ "   where changes.vin is null and changes.from_month is null and changes.recorded_at > " ~ built_at ~ "),"
        ~ " (select min(changes.from_month)::text from etl.churn_history_changes as changes"
        ~ "   where changes.vin is null and changes.recorded_at > " ~ built_at ~ ")") -%}
    {%- set from_month = changes.columns[1].values()[0] -%}
    {{ return({'all': changes.columns[0].values()[0],
               'from_month': "cast('" ~ from_month ~ "' as date)" if from_month else 'null',
               'vins': 'select distinct changes.vin from etl.churn_history_changes as changes'
                       ~ ' where changes.vin is not null and changes.recorded_at > ' ~ built_at}) }}
{%- endmacro %}
