{#- The ledger of what each build of int_vehicle_churn_monthly recomputed
    (etl.churn_history_changes, migrations/019): the vehicles whose ended months it
    rewrote, or, for a full build, one row without a VIN. The first post-hook of the model
    (inside its transaction, before its build is recorded, so that the increment it
    renders is the one the build applied). A model following the ended months reads it
    (`churn_history_changed_since`) instead of comparing every vehicle-month again.
    Entries older than 92 days are removed. -#}
{% macro record_churn_history_changes() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set increment = churn_monthly_increment() if is_incremental() else {'mode': 'full'} -%}
    delete from etl.churn_history_changes where business_date < {{ business_date() }} - 92;
    insert into etl.churn_history_changes (business_date, vin)
    {%- if increment.mode == 'full' %}
    values ({{ business_date() }}, null)
    {%- else %}
    select {{ business_date() }}, touched.vin from int_vehicle_churn_monthly__touched as touched
    {%- endif %}
{%- endmacro %}


{#- What changed in the churn history since `since` (a date expression) by the ledger:
    `all` when a build recomputed every vehicle, or the history is older than the ledger
    keeps; else the query of the vehicles whose ended months were rewritten. -#}
{% macro churn_history_changed_since(since) -%}
    {%- set all_changed = run_query(
        "select " ~ since ~ " <= " ~ business_date() ~ " - 92"
        ~ " or exists (select 1 from etl.churn_history_changes"
        ~ " where vin is null and business_date >= " ~ since ~ ")").columns[0].values()[0] -%}
    {{ return({'all': all_changed,
               'vins': 'select distinct changes.vin from etl.churn_history_changes as changes'
                       ~ ' where changes.business_date >= ' ~ since ~ ' and changes.vin is not null'}) }}
{%- endmacro %}
