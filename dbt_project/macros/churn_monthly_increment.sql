{#- int_vehicle_churn_monthly is incremental: a vehicle's status at the end of a month that
    has ended changes only when its history does. A daily build recomputes
      - every vehicle in the months still open at the last build (as of that D; usually
        only the current month, whose status is as of D and changes every day), and in
        the months begun since;
      - every month of the vehicles whose history changed since the last build: a visit
        changed (`orders_changed_since`: a new, changed or voided order, a customer
        merge, a close date reached), its DMS record changed (owner, status, sale or
        scrapping, delivery date, selling dealer), or its owner's record did (a merge,
        the home dealer, which names the dealer of a vehicle never serviced or sold by
        the group);
    and drops the months that left the `kpi_months` window. Instead of 24 × a million
    rows, a day rewrites about one month's. A vehicle whose history did not change has
    every visit in or before the first open month, so its open months need only its
    latest visit (int_vehicle_latest_visits), not all its visits.
    It rebuilds from all visits when int_visits' increment would (the first build, a
    backfill, a superseded DMS file), and when the rules it applies changed since
    (`churn_status_thresholds`, `kpi_months`: their fingerprint is the table's comment).
    A repair order whose VIN the DMS corrects keeps the visit in the old VIN's months
    already ended until a `--full-refresh` (the feeds do not correct VINs). -#}
{% macro churn_monthly_increment() -%}
    {%- set increment = visit_summary_increment() -%}
    {%- if increment.mode == 'incremental' -%}
        {%- set same_rules = run_query(
            "select coalesce(obj_description(to_regclass('" ~ this.schema ~ "." ~ this.identifier ~ "'), 'pg_class'), '')"
            ~ " = (" ~ churn_rules_fingerprint() ~ ")") -%}
        {%- if not same_rules.columns[0].values()[0] -%}
            {{ return({'mode': 'full'}) }}
        {%- endif -%}
        {%- do increment.update({
            'since': 'least(' ~ increment.last_date ~ ' + 1, ' ~ business_date() ~ ')',
            'first_open_month': 'cast(date_trunc(\'month\', ' ~ increment.last_date ~ ' - 1) as date)'}) -%}
    {%- endif -%}
    {{ return(increment) }}
{%- endmacro %}


{#- Pre-hook of int_vehicle_churn_monthly (inside its transaction): empty it for a full
    build, or collect the vehicles whose history changed and delete what is recomputed. -#}
{% macro prepare_churn_monthly_increment() -%}
    {%- if not execute or not is_incremental() -%}{{ return('') }}{%- endif -%}
    {%- set increment = churn_monthly_increment() -%}
    {%- if increment.mode == 'full' -%}
    truncate {{ this }}
    {%- else -%}
    create temporary table int_vehicle_churn_monthly__touched on commit drop as
    with changed_customers as (
        select customers.customer_id from {{ ref('stg_dms__customers') }} as customers
        where customers.merged_for_date >= {{ increment.since }}
    )
    select visits.vin from {{ ref('int_visits') }} as visits
    where visits.ro_number in ({{ orders_changed_since(increment.since) }})
    union
    select orders.vin from {{ ref('stg_dms__repair_orders') }} as orders
    where orders.merged_for_date >= {{ increment.since }} and orders.vin is not null
    union
    select vehicles.vin from {{ ref('stg_dms__vehicles') }} as vehicles
    where vehicles.merged_for_date >= {{ increment.since }}
        or vehicles.customer_id in (select changed_customers.customer_id from changed_customers)
    union
    select resolved.vin from {{ ref('int_vehicles_resolved') }} as resolved
    where resolved.customer_id in (select changed_customers.customer_id from changed_customers);

    delete from {{ this }}
    where
        vin in (select touched.vin from int_vehicle_churn_monthly__touched as touched)
        or month >= {{ increment.first_open_month }}
        or month < {{ kpi_first_month() }}
    {%- endif -%}
{%- endmacro %}


{#- The first month of a vehicle's run of months to compute: the run's first, or on a daily
    build, for a vehicle whose history did not change, the first month still open. -#}
{% macro churn_monthly_first_month_to_compute(vin, from_month) -%}
    {%- set increment = churn_monthly_increment() -%}
    {%- if is_incremental() and increment.mode == 'incremental' -%}
    (case
        when {{ churn_monthly_history_changed(vin) }} then {{ from_month }}
        else greatest({{ from_month }}, {{ increment.first_open_month }})
    end)
    {%- else -%}
    {{ from_month }}
    {%- endif -%}
{%- endmacro %}


{#- Whether a vehicle's history is recomputed in full: always on a full build; on a daily
    build, if it changed since the last one (else only its open months are, from its
    latest visit). -#}
{% macro churn_monthly_history_changed(vin) -%}
    {%- if is_incremental() and churn_monthly_increment().mode == 'incremental' -%}
    ({{ vin }} in (select touched.vin from int_vehicle_churn_monthly__touched as touched))
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}


{#- The churn rules a build applied, as text: the thresholds seed's rows and `kpi_months`.
    A post-hook writes it as the table's comment; a daily build compares. -#}
{% macro churn_rules_fingerprint() -%}
    select 'churn rules ' || md5(coalesce(string_agg(thresholds::text, '|' order by thresholds::text), ''))
        || ', kpi_months {{ var("kpi_months") }}'
    from {{ ref('churn_status_thresholds') }} as thresholds
{%- endmacro %}


{#- Post-hook of int_vehicle_churn_monthly: record the rules it was built with. -#}
{% macro record_churn_rules() -%}
    {%- if execute -%}
    {%- set fingerprint = run_query(churn_rules_fingerprint()).columns[0].values()[0] -%}
    comment on table {{ this }} is '{{ fingerprint }}'
    {%- endif -%}
{%- endmacro %}
