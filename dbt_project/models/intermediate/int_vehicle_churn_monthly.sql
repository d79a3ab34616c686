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
)

select
    measured.month,
    measured.as_of_date,
    measured.vin,
    measured.customer_id,
    measured.dealer_code,
    measured.delivery_date,
    measured.last_visit_date,
    measured.as_of_date - coalesce(measured.last_visit_date, measured.delivery_date) as days_since_last_visit,
    (
        select thresholds.churn_status from thresholds
        where
            measured.as_of_date - coalesce(measured.last_visit_date, measured.delivery_date) >= thresholds.min_days
            and (
                thresholds.max_days is null
                or measured.as_of_date - coalesce(measured.last_visit_date, measured.delivery_date)
                <= thresholds.max_days
            )
            and (thresholds.churn_status <> 'new' or measured.last_visit_date is null)
        order by thresholds.status_rank
        limit 1
    ) as churn_status
from measured
