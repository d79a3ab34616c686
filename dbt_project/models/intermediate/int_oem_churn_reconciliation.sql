{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{{ prepare_reconciliation_increment() }}",
    post_hook=["{{ record_staging_build(source('raw', 'oem_lost_customers')) }}",
               "{{ record_rules(churn_rules_fingerprint()) }}",
               "{{ index_if_missing(['merged_for_date']) }}"],
    indexes=[{'columns': ['dealer_code', 'period', 'vin'], 'unique': true}, {'columns': ['merged_for_date']}],
    meta={'build_date_column': 'merged_for_date'}
) }}
-- depends_on: {{ source('raw', 'oem_lost_customers') }}

-- Rules §9: the manufacturer's lost list against the dealer's own churn status, per dealer,
-- OEM period and vehicle. Every VIN the OEM listed for the dealer in the period, with the
-- group's status of the vehicle at the period's end (rules §2 on the day after the
-- period's last day, from the visit history: int_vehicle_churn_monthly); and every vehicle
-- of the dealer that is at_risk or churned then and not on that list. Each is classed
-- (first match): dealer_only_lost (not listed), not_in_dealer_base (listed, but not a
-- vehicle of the group's active base then: unknown, sold, scrapped), oem_late_seen_recently
-- (the group saw it in the last 90 days: new or active), lost_to_other_dealer (the OEM saw
-- it at another dealer of the brand), agree_lost (the dealer calls it at_risk or churned
-- too), oem_ahead_lapsing (the dealer calls it lapsing: not lost yet). Periods in the
-- `kpi_months` months the history covers.
-- Incremental: a daily build recomputes the vehicles whose months the churn history
-- rewrote, the lists that changed and the periods just ended
-- (macros/reconciliation_increment.sql).
{%- set increment = reconciliation_increment() %}
-- (not materialized: each use reads the lists by its own plan, a daily build's few rows
-- by the (dealer_code, period, vin) index)
with lists as not materialized (
    select * from {{ ref('stg_oem__lost_customers') }}
),

-- (not materialized: 24 months × every vehicle; each use reads the table by its own
-- plan, the listed vehicles by the (month, vin) index)
statuses as not materialized (
    select * from {{ ref('int_vehicle_churn_monthly') }}
),

periods as (
    select
        dealer_code,
        period,
        to_date(period || '-01', 'YYYY-MM-DD') as month_start
    from lists
    group by dealer_code, period
),

covered_periods as (
    select * from periods
    where
        month_start >= {{ kpi_first_month() }}
        and month_start < date_trunc('month', {{ business_date() }})
),

-- the listed vehicles to compare: all, or on a daily build those recomputed
lists_to_compare as (
    select * from lists
    where
        {{ reconciliation_recomputes(
            'lists.dealer_code', 'lists.period', "to_date(lists.period || '-01', 'YYYY-MM-DD')", 'lists.vin', increment
        ) }}
),

-- the vehicle-months to compare: all, or on a daily build those of the vehicles whose
-- history changed, of the dealers' lists that changed and of the periods just ended
statuses_to_compare as (
    {{ reconciliation_statuses_to_compare('statuses', 'covered_periods', increment) }}
),

oem_listed as (
    select
        lists.dealer_code,
        lists.period,
        covered_periods.month_start,
        lists.vin,
        true as is_oem_listed,
        lists.oem_status,
        lists.reason_hint,
        lists.last_service_dealer_code,
        lists.last_service_date,
        statuses.churn_status as dealer_status,
        statuses.last_visit_date as dealer_last_visit_date
    from lists_to_compare as lists
    inner join covered_periods
        on lists.dealer_code = covered_periods.dealer_code and lists.period = covered_periods.period
    -- looked up by the (month, vin) index for each listed vehicle (`limit 1`: a plain join
    -- is planned as a hash of every vehicle-month, even for the few rows of a daily build)
    left join lateral (
        select
            status.churn_status,
            status.last_visit_date
        from statuses as status
        where status.month = covered_periods.month_start and status.vin = lists.vin
        order by status.month  -- (one row: the key is (month, vin))
        limit 1
    ) as statuses on true
),

dealer_only as (
    select
        covered_periods.dealer_code,
        covered_periods.period,
        covered_periods.month_start,
        statuses.vin,
        false as is_oem_listed,
        null::text as oem_status,
        null::text as reason_hint,
        null::text as last_service_dealer_code,
        null::date as last_service_date,
        statuses.churn_status as dealer_status,
        statuses.last_visit_date as dealer_last_visit_date
    from covered_periods
    inner join statuses_to_compare as statuses
        on covered_periods.dealer_code = statuses.dealer_code and covered_periods.month_start = statuses.month
    left join lists
        on
            covered_periods.dealer_code = lists.dealer_code and covered_periods.period = lists.period
            and statuses.vin = lists.vin
    where statuses.churn_status in ('at_risk', 'churned') and lists.vin is null
),

compared as (
    select * from oem_listed
    union all
    select * from dealer_only
)

select
    dealer_code,
    period,
    (month_start + interval '1 month - 1 day')::date as period_end_date,
    vin,
    is_oem_listed,
    oem_status,
    reason_hint,
    last_service_dealer_code,
    last_service_date,
    dealer_status,
    dealer_last_visit_date,
    case
        when not is_oem_listed then 'dealer_only_lost'
        when dealer_status is null then 'not_in_dealer_base'
        when dealer_status in ('new', 'active') then 'oem_late_seen_recently'
        when reason_hint = 'SERVICED_AT_OTHER_DEALER' then 'lost_to_other_dealer'
        when dealer_status in ('at_risk', 'churned') then 'agree_lost'
        else 'oem_ahead_lapsing'
    end as reconciliation_class,
    is_oem_listed and coalesce(dealer_status in ('at_risk', 'churned'), false) as both_agree,
    {{ business_date() }} as merged_for_date
from compared
