{#- int_oem_churn_reconciliation is incremental: a period it compares has ended, so its
    rows change only when
      - the churn history rewrote a vehicle's months (a visit, the vehicle's or its owner's
        record changed), or every vehicle's from some month on (the months still open at
        its last build): the ledger etl.churn_history_changes says which, from the rows
        recorded after this model's last build;
      - the OEM's list for a dealer and period changed: arrived, corrected, or visible only
        now (found by comparing each list in staging with the rows compared last time,
        a count and a sum of row hashes per list, so a list loaded while the warehouse
        builds is found the next day);
      - a period ended since the last build, or left the `kpi_months` window.
    A daily build recomputes those vehicles, those lists and those periods; the rest of
    24 months × every vehicle stays. It rebuilds in full on its first build, a backfill, a
    superseded OEM file, a churn-rules change, and when the churn history was rebuilt in
    full since (or this model was last built longer ago than the ledger keeps).
    The model's body and its pre-hook each call this and must reach the same decision:
    it reads only what the build itself does not change before the post-hooks. -#}
{% macro reconciliation_increment() -%}
    {%- set increment = staging_increment(source('raw', 'oem_lost_customers')) -%}
    {%- if increment.mode == 'incremental' -%}
        {%- set history = churn_history_changed_after(
            "(select builds.built_at from etl.staging_builds as builds where builds.model = '"
            ~ this.identifier ~ "')") -%}
        {%- if history.all or not built_with_the_same_rules(churn_rules_fingerprint()) -%}
            {{ return({'mode': 'full'}) }}
        {%- endif -%}
        {#- the first period whose rows are all recomputed: the first still open at the last
            build, or earlier if the churn history rewrote an earlier month for everyone -#}
        {%- do increment.update({
            'changed_vins': history.vins,
            'recompute_from': 'least(cast(date_trunc(\'month\', ' ~ increment.last_date ~ ' - 1) as date), '
                              ~ history.from_month ~ ')'}) -%}
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
    with staged as (
        select
            lists.dealer_code,
            lists.period,
            count(*) as items,
            sum({{ oem_list_row_hash('lists') }}) as fingerprint
        from {{ ref('stg_oem__lost_customers') }} as lists
        where
            to_date(lists.period || '-01', 'YYYY-MM-DD') >= {{ kpi_first_month() }}
            and to_date(lists.period || '-01', 'YYYY-MM-DD') < date_trunc('month', {{ business_date() }})
        group by lists.dealer_code, lists.period
    ),

    compared as (
        select
            held.dealer_code,
            held.period,
            count(*) as items,
            sum({{ oem_list_row_hash('held') }}) as fingerprint
        from {{ this }} as held
        where held.is_oem_listed
        group by held.dealer_code, held.period
    )

    select coalesce(staged.dealer_code, compared.dealer_code) as dealer_code,
        coalesce(staged.period, compared.period) as period
    from staged
    full join compared on staged.dealer_code = compared.dealer_code and staged.period = compared.period
    where staged.items is distinct from compared.items or staged.fingerprint is distinct from compared.fingerprint;

    -- (the planner's estimates for the model's lookups by these two sets)
    analyze int_oem_churn_reconciliation__vins;
    analyze int_oem_churn_reconciliation__lists;

    delete from {{ this }}
    where
        vin in (select changed.vin from int_oem_churn_reconciliation__vins as changed)
        or (dealer_code, period) in (select lists.dealer_code, lists.period from int_oem_churn_reconciliation__lists as lists)
        or period_end_date >= {{ increment.recompute_from }}
        or period_end_date < {{ kpi_first_month() }}
    {%- endif -%}
{%- endmacro %}


{#- A list row's hash (a bigint) from what the model takes of it: equal lists, equal sums. -#}
{% macro oem_list_row_hash(alias) -%}
    hashtextextended(
        ({{ alias }}.vin, {{ alias }}.oem_status, {{ alias }}.reason_hint, {{ alias }}.last_service_dealer_code,
         {{ alias }}.last_service_date)::text,
        0
    )
{%- endmacro %}


{#- Whether the model computes a row of `dealer_code`, `period` (text), its first day
    `month_start` and `vin`: always on a full build; on a daily build, if the vehicle's
    history or the dealer's list for the period changed, or the period is recomputed whole
    (`increment`: reconciliation_increment(), computed once). -#}
{% macro reconciliation_recomputes(dealer_code, period, month_start, vin, increment) -%}
    {%- if increment.mode == 'incremental' -%}
    ({{ vin }} in (select changed.vin from int_oem_churn_reconciliation__vins as changed)
        or ({{ dealer_code }}, {{ period }}) in (
            select lists.dealer_code, lists.period from int_oem_churn_reconciliation__lists as lists
        )
        or {{ month_start }} >= {{ increment.recompute_from }})
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}


{#- The vehicle-months the model compares (a query): every one of `statuses` on a full
    build; on a daily build those of the vehicles whose history changed (in the months of
    `covered_periods`), of the dealers' lists that changed, and of the periods recomputed
    whole. Each set is read by the (month, vin) index: an `or` of the three would
    read every vehicle-month. -#}
{% macro reconciliation_statuses_to_compare(statuses, covered_periods, increment) -%}
    {%- if increment.mode == 'incremental' -%}
    select changed_statuses.*
    from int_oem_churn_reconciliation__vins as changed
    cross join (select distinct periods.month_start from {{ covered_periods }} as periods) as covered_months
    cross join lateral (
        select * from {{ statuses }} as status
        where status.month = covered_months.month_start and status.vin = changed.vin
        order by status.month  -- (one row: the key is (month, vin))
        limit 1  -- (else flattened into a hash join reading every vehicle-month)
    ) as changed_statuses
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
        ended_statuses.month >= {{ increment.recompute_from }}
        and ended_statuses.month < date_trunc('month', {{ business_date() }})
    {%- else -%}
    select * from {{ statuses }}
    {%- endif -%}
{%- endmacro %}
