{{ config(indexes=[{'columns': ['month', 'vin'], 'unique': true}]) }}

-- Churn status (rules §2) of every vehicle at the end of each KPI month (rules §4), from
-- the visit history alone: the status a run on the day after the month end would have
-- given (the current month: as of D). So a new installation has the churn rates of the
-- last `kpi_months` months at once, not only of the months it has run for.
-- Set-based: the latest visit of each vehicle and month, carried forward month by month.
-- The base is today's owned vehicles (the DMS keeps no date of a sale or scrapping).
with months as (
    select
        month_start::date as month,
        least((month_start + interval '1 month')::date, {{ business_date() }}) as as_of_date
    from generate_series(
        {{ kpi_first_month() }}::timestamp,
        date_trunc('month', {{ business_date() }} - 1),
        interval '1 month'
    ) as month_start
),

vehicles as (
    select * from {{ ref('int_vehicles_resolved') }}
    where is_owned
),

customers as (
    select * from {{ ref('stg_dms__customers') }}
),

visits as (
    select * from {{ ref('int_visits') }}
),

thresholds as (
    select * from {{ ref('churn_status_thresholds') }}
),

last_threshold as (
    select greatest(max(min_days), max(max_days) + 1) as days
    from thresholds
),

-- the status for each count of days (and never visited or not), up to the last
-- threshold: a hash join for the 24 × vehicles rows instead of a lookup per row
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
-- as 'YYYY-MM-DD|ro_number|dealer' so that a running max keeps the latest with its dealer
monthly_latest as (
    select
        visits.vin,
        greatest(date_trunc('month', visits.visit_date)::date, {{ kpi_first_month() }}) as month,
        max(to_char(visits.visit_date, 'YYYY-MM-DD') || '|' || visits.ro_number || '|' || visits.dealer_code)
            as latest_visit
    from visits
    where visits.visit_date < {{ business_date() }}
    group by visits.vin, greatest(date_trunc('month', visits.visit_date)::date, {{ kpi_first_month() }})
),

spine as (
    select
        vehicles.vin,
        vehicles.customer_id,
        vehicles.selling_dealer_code,
        vehicles.delivery_date,
        months.month,
        months.as_of_date,
        max(monthly_latest.latest_visit) over (
            partition by vehicles.vin order by months.month rows between unbounded preceding and current row
        ) as latest_visit
    from vehicles
    cross join months
    left join monthly_latest on vehicles.vin = monthly_latest.vin and months.month = monthly_latest.month
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
    status_by_days.churn_status
from days_counted
left join status_by_days
    on
        least(days_counted.days_since_last_visit, (select last_threshold.days from last_threshold))
        = status_by_days.days
        and (days_counted.last_visit_date is null) = status_by_days.never_visited
