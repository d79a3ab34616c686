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
    backfill, a superseded DMS file), when the rules it applies changed since
    (`churn_status_thresholds`, `kpi_months`: `built_with_the_same_rules`), and when the
    vehicles' or customers' staging was rebuilt since (a record a corrected file dropped
    leaves no stamp to find it by).
    A repair order whose VIN the DMS corrects keeps the visit in the old VIN's months
    already ended until a `--full-refresh` (the feeds do not correct VINs). -#}
{% macro churn_monthly_increment() -%}
    {%- set increment = visit_summary_increment() -%}
    {%- if increment.mode == 'incremental' -%}
        {%- if not built_with_the_same_rules(churn_rules_fingerprint())
              or staging_rebuilt_since(['stg_dms__vehicles', 'stg_dms__customers'], increment.merged_since) -%}
            {{ return({'mode': 'full'}) }}
        {%- endif -%}
        {%- do increment.update({
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
        -- changed since, or merged into another record (a merge of its survivor, since,
        -- moves its vehicles again: C into S before, S into T now)
        select customers.customer_id from {{ ref('stg_dms__customers') }} as customers
        where customers.merged_for_date >= {{ increment.merged_since }}
        union
        select resolved.customer_id from {{ ref('int_customers_resolved') }} as resolved
        where resolved.is_merged
    ),

    vins as (
        select visits.vin from {{ ref('int_visits') }} as visits
        where visits.ro_number in ({{ orders_changed_since(increment.merged_since) }})
        union
        select orders.vin from {{ ref('stg_dms__repair_orders') }} as orders
        where orders.merged_for_date >= {{ increment.merged_since }}
        union
        select vehicles.vin from {{ ref('stg_dms__vehicles') }} as vehicles
        where vehicles.merged_for_date >= {{ increment.merged_since }}
            or vehicles.customer_id in (select changed_customers.customer_id from changed_customers)
        union
        select resolved.vin from {{ ref('int_vehicles_resolved') }} as resolved
        where resolved.customer_id in (select changed_customers.customer_id from changed_customers)
    )

    -- (no null: the model reads the set with `not in`)
    select vins.vin from vins where vins.vin is not null;

    analyze int_vehicle_churn_monthly__touched;

    -- by the (month, vin) index, a vehicle's rows being one per month: no vin index, which
    -- cost every daily insert of a million rows a random write. (On `large` the first is
    -- still planned as one pass over every row: PostgreSQL underestimates how many
    -- distinct vehicles there are, so it expects more rows per vehicle.)
    delete from {{ this }} as held
    using
        int_vehicle_churn_monthly__touched as touched,
        generate_series(
            (select min(kept.month) from {{ this }} as kept)::timestamp,
            {{ increment.first_open_month }}::timestamp,
            interval '1 month'
        ) as kept_month (month_start)
    where held.month = kept_month.month_start::date and held.vin = touched.vin;

    delete from {{ this }} where month >= {{ increment.first_open_month }};

    delete from {{ this }} where month < {{ kpi_first_month() }}
    {%- endif -%}
{%- endmacro %}


{#- The first month of a vehicle's run of months to compute: the run's first, or on a daily
    build (`increment`: the model's `churn_monthly_increment()`, computed once), for a
    vehicle whose history did not change, the first month still open. -#}
{% macro churn_monthly_first_month_to_compute(vin, from_month, increment) -%}
    {%- if increment.mode == 'incremental' -%}
    (case
        when {{ churn_monthly_history_changed(vin, increment) }} then {{ from_month }}
        else greatest({{ from_month }}, {{ increment.first_open_month }})
    end)
    {%- else -%}
    {{ from_month }}
    {%- endif -%}
{%- endmacro %}


{#- Whether a vehicle's history is recomputed in full: always on a full build; on a daily
    build, if it changed since the last one (else only its open months are, from its
    latest visit). -#}
{% macro churn_monthly_history_changed(vin, increment) -%}
    {%- if increment.mode == 'incremental' -%}
    ({{ vin }} in (select touched.vin from int_vehicle_churn_monthly__touched as touched))
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}


{#- The churn rules a build applies, as a query of one text: the thresholds seed's rows and
    `kpi_months`. -#}
{% macro churn_rules_fingerprint() -%}
    select 'churn rules ' || md5(coalesce(string_agg(thresholds::text, '|' order by thresholds::text), ''))
        || ', kpi_months {{ var("kpi_months") }}'
    from {{ ref('churn_status_thresholds') }} as thresholds
{%- endmacro %}
