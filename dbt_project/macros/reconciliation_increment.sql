{#- int_oem_churn_reconciliation is incremental: a period it compares has ended, so its
    rows change only when
      - the churn history rewrote a vehicle's ended months (a visit, the vehicle's or its
        owner's record changed: the ledger etl.churn_history_changes says which);
      - the OEM's list for a dealer and period arrived or changed (raw rows in a batch not
        merged yet, or made since the last build's D and so visible only now);
      - a period was still open at the last build (it is compared from the month after its
        end) or left the `kpi_months` window.
    A daily build recomputes those vehicles, those lists and those periods; the rest of
    24 months × every vehicle stays. It rebuilds in full on its first build, a backfill, a
    superseded OEM file, a churn-rules change, and when the churn history was rebuilt in
    full since (or longer ago than its ledger keeps). -#}
{% macro reconciliation_increment() -%}
    {%- set increment = staging_increment(source('raw', 'oem_lost_customers')) -%}
    {%- if increment.mode == 'incremental' -%}
        {%- set history = churn_history_changed_since(increment.merged_since) -%}
        {%- if history.all or not built_with_the_same_rules(churn_rules_fingerprint()) -%}
            {{ return({'mode': 'full'}) }}
        {%- endif -%}
        {%- do increment.update({
            'changed_vins': history.vins,
            'first_open_month': 'cast(date_trunc(\'month\', ' ~ increment.last_date ~ ' - 1) as date)'}) -%}
    {%- endif -%}
    {{ return(increment) }}
{%- endmacro %}


{#- Pre-hook of int_oem_churn_reconciliation (inside its transaction): empty it for a full
    build, or collect the changed vehicles and lists and delete the rows recomputed. -#}
{% macro prepare_reconciliation_increment() -%}
    {%- if not execute or not is_incremental() -%}{{ return('') }}{%- endif -%}
    {%- set increment = reconciliation_increment() -%}
    {%- if increment.mode == 'full' -%}
    truncate {{ this }}
    {%- else -%}
    create temporary table int_oem_churn_reconciliation__vins on commit drop as
    {{ increment.changed_vins }};

    create temporary table int_oem_churn_reconciliation__lists on commit drop as
    select distinct
        split_part(lists.record_version, ' ', 1) as dealer_code,
        split_part(lists.record_version, ' ', 2) as period
    from {{ source('raw', 'oem_lost_customers') }} as lists
    where
        lists.version_at >= {{ increment.since }}
        {%- if increment.batches %}
        or lists.batch_id in ({{ increment.batches | join(', ') }})
        {%- endif %};

    -- (the planner's estimates for the model's lookups by these two sets)
    analyze int_oem_churn_reconciliation__vins;
    analyze int_oem_churn_reconciliation__lists;

    delete from {{ this }}
    where
        vin in (select changed.vin from int_oem_churn_reconciliation__vins as changed)
        or (dealer_code, period) in (select lists.dealer_code, lists.period from int_oem_churn_reconciliation__lists as lists)
        or period_end_date >= {{ increment.first_open_month }}
        or period_end_date < {{ kpi_first_month() }}
    {%- endif -%}
{%- endmacro %}


{#- Whether the model computes a row of `dealer_code`, `period` (text), its first day
    `month_start` and `vin`: always on a full build; on a daily build, if the vehicle's
    history or the dealer's list for the period changed, or the period was still open at
    the last build (`increment`: reconciliation_increment(), computed once). -#}
{% macro reconciliation_recomputes(dealer_code, period, month_start, vin, increment) -%}
    {%- if increment.mode == 'incremental' -%}
    ({{ vin }} in (select changed.vin from int_oem_churn_reconciliation__vins as changed)
        or ({{ dealer_code }}, {{ period }}) in (
            select lists.dealer_code, lists.period from int_oem_churn_reconciliation__lists as lists
        )
        or {{ month_start }} >= {{ increment.first_open_month }})
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}


{#- The vehicle-months the model compares (a query): every one of `statuses` on a full
    build; on a daily build those of the vehicles whose history changed (in the months of
    `covered_periods`), of the dealers' lists that changed, and of the periods ended since
    the last build. Each set is read by the (month, vin) index: an `or` of the three would
    read every vehicle-month. -#}
{% macro reconciliation_statuses_to_compare(statuses, covered_periods, increment) -%}
    {%- if increment.mode == 'incremental' -%}
    select changed_statuses.*
    from int_oem_churn_reconciliation__vins as changed
    cross join (select distinct periods.month_start from {{ covered_periods }} as periods) as covered_months
    inner join {{ statuses }} as changed_statuses
        on covered_months.month_start = changed_statuses.month and changed.vin = changed_statuses.vin
    union
    select listed_statuses.*
    from int_oem_churn_reconciliation__lists as changed_lists
    inner join {{ statuses }} as listed_statuses
        on
            changed_lists.dealer_code = listed_statuses.dealer_code
            and to_date(changed_lists.period || '-01', 'YYYY-MM-DD') = listed_statuses.month
    union
    select ended_statuses.* from {{ statuses }} as ended_statuses
    where
        ended_statuses.month >= {{ increment.first_open_month }}
        and ended_statuses.month < date_trunc('month', {{ business_date() }})
    {%- else -%}
    select * from {{ statuses }}
    {%- endif -%}
{%- endmacro %}
