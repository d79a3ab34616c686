{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{{ prepare_churn_monthly_increment() }}",
    post_hook=["{{ record_churn_history_changes() }}",
               "{{ record_staging_build(source('raw', 'dms_repair_orders'), merged_by='stg_dms__repair_orders') }}",
               "{{ record_rules(churn_rules_fingerprint()) }}",
               "{{ drop_index_if_present(['vin']) }}",
               "{{ index_if_missing(['merged_for_date']) }}"],
    indexes=[{'columns': ['month', 'vin'], 'unique': true}, {'columns': ['merged_for_date']}],
    meta={'build_date_column': 'merged_for_date'}
) }}
-- depends_on: {{ source('raw', 'dms_repair_orders') }}, {{ ref('stg_dms__repair_orders') }}
-- depends_on: {{ ref('stg_dms__vehicles') }}, {{ ref('int_customers_resolved') }}

-- Churn status (rules §2) of every vehicle at the end of each KPI month (rules §4), from
-- the visit history alone: the status a run on the day after the month end would have
-- given (the current month: as of D). So a new installation has the churn rates of the
-- last `kpi_months` months at once, not only of the months it has run for.
-- Set-based: the latest visit of each vehicle and month, carried forward month by month
-- (runs of months expanded, no sort of vehicles × months); the status by days from an array.
-- The base is the vehicles owned at the month's end: today's, and those sold or scrapped
-- since (int_vehicle_base_exits), so a past month's status is the one it had then.
-- Incremental: a daily build recomputes the months still open and the vehicles whose
-- history changed (macros/churn_monthly_increment.sql).
{%- set increment = churn_monthly_increment() %}
with months as (
    select
        month_start::date as month,
        least((month_start + interval '1 month')::date, {{ business_date() }}) as as_of_date
    from {{ kpi_month_series() }} as month_start
),

exits as (
    select * from {{ ref('int_vehicle_base_exits') }}
),

vehicles as (
    select
        resolved.*,
        exits.left_base_on
    from {{ ref('int_vehicles_resolved') }} as resolved
    left join exits on resolved.vin = exits.vin
    where resolved.is_owned or exits.left_base_on is not null
),

customers as (
    select * from {{ ref('stg_dms__customers') }}
),

visits as (
    select * from {{ ref('int_visits') }}
),

latest_visits as (
    select * from {{ ref('int_vehicle_latest_visits') }}
),

thresholds as (
    select * from {{ ref('churn_status_thresholds') }}
),

last_threshold as (
    select greatest(max(min_days), max(max_days) + 1) as days
    from thresholds
),

-- the status for each count of days (and never visited or not), up to the last
-- threshold, so that the 24 × vehicles rows read it instead of a lookup per row
status_by_days as (
    select
        days.days,
        visited.never_visited,
        (
            select thresholds.churn_status from thresholds
            where
                days.days >= thresholds.min_days
                and (thresholds.max_days is null or days.days <= thresholds.max_days)
                and (thresholds.churn_status <> 'new' or visited.never_visited)
            order by thresholds.status_rank
            limit 1
        ) as churn_status
    from generate_series(0, (select last_threshold.days from last_threshold)) as days (days)
    cross join (values (true), (false)) as visited (never_visited)
),

-- each vehicle's latest visit per month (visits before the first month in the first),
-- as 'YYYY-MM-DD|ro_number|dealer'. A later month's latest visit is later than an earlier
-- month's, so it is also the latest so far.
monthly_latest_of_changed as (
    select
        visits.vin,
        greatest(date_trunc('month', visits.visit_date)::date, {{ kpi_first_month() }}) as month,
        -- latest by visit date, then repair-order number (as int_vehicle_latest_visits)
        (array_agg(
            to_char(visits.visit_date, 'YYYY-MM-DD') || '|' || visits.ro_number || '|' || visits.dealer_code
            order by visits.visit_date desc, visits.ro_number desc
        ))[1] as latest_visit
    from visits
    where visits.visit_date < {{ business_date() }} and {{ churn_monthly_history_changed('visits.vin', increment) }}
    group by visits.vin, greatest(date_trunc('month', visits.visit_date)::date, {{ kpi_first_month() }})
),

-- on a daily build, a vehicle whose history did not change has every visit in or before
-- the first month still open: its latest visit is the latest in each open month too
latest_of_unchanged as (
    select
        latest.vin,
        greatest(date_trunc('month', latest.last_visit_date)::date, {{ kpi_first_month() }}) as month,
        to_char(latest.last_visit_date, 'YYYY-MM-DD') || '|' || latest.last_visit_ro_number
        || '|' || latest.last_visit_dealer_code as latest_visit
    from latest_visits as latest
    where not {{ churn_monthly_history_changed('latest.vin', increment) }}
),

monthly_latest as (
    select * from monthly_latest_of_changed
    union all
    select * from latest_of_unchanged
),

-- runs of months with the same latest visit: from a month with a visit to the month before
-- the vehicle's next one (or the last month); and, before its first visit in the months
-- (or all of them, never visited), a run without one. Expanded to one row per vehicle and
-- month below without sorting vehicles × months (a window over them sorted to disk).
visit_runs as (
    select
        vin,
        month as from_month,
        coalesce(
            (lead(month) over (partition by vin order by month) - interval '1 month')::date,
            (select max(months.month) from months)
        ) as to_month,
        latest_visit
    from monthly_latest
),

first_visit_months as (
    select
        vin,
        min(month) as first_month
    from monthly_latest
    group by vin
),

runs as (
    select
        vehicles.vin,
        vehicles.customer_id,
        vehicles.selling_dealer_code,
        vehicles.delivery_date,
        vehicles.left_base_on,
        visit_runs.from_month,
        visit_runs.to_month,
        visit_runs.latest_visit
    from vehicles
    inner join visit_runs on vehicles.vin = visit_runs.vin
    union all
    select
        vehicles.vin,
        vehicles.customer_id,
        vehicles.selling_dealer_code,
        vehicles.delivery_date,
        vehicles.left_base_on,
        {{ kpi_first_month() }} as from_month,
        coalesce(
            (first_visit_months.first_month - interval '1 month')::date,
            (select max(months.month) from months)
        ) as to_month,
        null::text as latest_visit
    from vehicles
    left join first_visit_months on vehicles.vin = first_visit_months.vin
    where first_visit_months.first_month is null or first_visit_months.first_month > {{ kpi_first_month() }}
),

-- the months of each run to compute: all of them, or on a daily build, for a vehicle whose
-- history did not change, the open months only
runs_to_expand as (
    select
        *,
        {{ churn_monthly_first_month_to_compute('vin', 'from_month', increment) }} as expand_from
    from runs
),

spine as (
    select
        runs.vin,
        runs.customer_id,
        runs.selling_dealer_code,
        runs.delivery_date,
        run_month.month_start::date as month,
        least((run_month.month_start + interval '1 month')::date, {{ business_date() }}) as as_of_date,
        runs.latest_visit
    from runs_to_expand as runs
    cross join lateral generate_series(runs.expand_from, runs.to_month, interval '1 month') as run_month (month_start)
    -- in the base at the month's end: not sold or scrapped before its as-of date
    where
        runs.left_base_on is null
        or least((run_month.month_start + interval '1 month')::date, {{ business_date() }}) <= runs.left_base_on
),

measured as (
    select
        spine.month,
        spine.as_of_date,
        spine.vin,
        spine.customer_id,
        spine.delivery_date,
        split_part(spine.latest_visit, '|', 1)::date as last_visit_date,
        coalesce(split_part(spine.latest_visit, '|', 3), spine.selling_dealer_code, customers.home_dealer_code)
            as dealer_code
    from spine
    left join customers on spine.customer_id = customers.customer_id
    where spine.latest_visit is not null or spine.delivery_date < spine.as_of_date
),

days_counted as (
    select
        measured.*,
        measured.as_of_date - coalesce(measured.last_visit_date, measured.delivery_date) as days_since_last_visit
    from measured
),

-- the statuses by days as two arrays (never visited, visited): a subscript per row, no
-- join (a merge join sorted the vehicles × months rows to disk)
status_arrays as (
    select
        array_agg(churn_status order by days) filter (where never_visited) as never_visited_statuses,
        array_agg(churn_status order by days) filter (where not never_visited) as visited_statuses
    from status_by_days
)

select
    days_counted.month,
    days_counted.as_of_date,
    days_counted.vin,
    days_counted.customer_id,
    days_counted.dealer_code,
    days_counted.delivery_date,
    days_counted.last_visit_date,
    days_counted.days_since_last_visit,
    (case
        when days_counted.last_visit_date is null
            then status_arrays.never_visited_statuses
        else status_arrays.visited_statuses
    end)[least(days_counted.days_since_last_visit, (select last_threshold.days from last_threshold)) + 1]
        as churn_status,
    {{ business_date() }} as merged_for_date
from days_counted
cross join status_arrays
