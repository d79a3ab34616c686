-- When each maintenance visit makes the next one due (rules §3): the earlier of
-- (a) the visit date + interval_months and (b) the day the estimated odometer reaches
-- the visit's mileage + interval_km (visit date + ceil(interval_km / daily km)).
-- Intervals per brand/model from the service_intervals seed ('*' = default).
-- One row per FIRST_SERVICE / MAINTENANCE visit that makes a vehicle's current due date
-- (`is_latest`: the one outreach reminds of) or a due date in the months the KPIs report
-- (定保回厂率); older ones are read by nobody, and are 40% of the rows on `large`.
{{ config(indexes=[{'columns': ['ro_number'], 'unique': true}]) }}

with maintenance_visits as (
    select * from {{ ref('int_visits') }}
    where service_type in ('FIRST_SERVICE', 'MAINTENANCE')
),

vehicles as (
    select * from {{ ref('stg_dms__vehicles') }}
),

intervals as (
    select * from {{ ref('service_intervals') }}
),

daily_km as (
    select * from {{ ref('int_vehicle_daily_km') }}
),

latest_visits as (
    select * from {{ ref('int_vehicle_latest_visits') }}
),

-- each brand/model's interval: its own row, else the brand's, else the default ('*');
-- looked up once per model, not once per visit
models as (
    select
        coalesce(brand, '') as brand,
        coalesce(model, '') as model
    from vehicles
    union
    select
        '' as brand,
        '' as model  -- visits of a vehicle the DMS has not sent: the default interval
),

model_intervals as (
    select distinct on (models.brand, models.model)
        models.brand,
        models.model,
        intervals.interval_months,
        intervals.interval_km
    from models
    inner join intervals on intervals.brand in (models.brand, '*') and intervals.model in (models.model, '*')
    order by models.brand, models.model, (intervals.brand = '*'), (intervals.model = '*')
),

with_interval as (
    select
        maintenance_visits.ro_number,
        maintenance_visits.vin,
        maintenance_visits.dealer_code,
        maintenance_visits.customer_id,
        maintenance_visits.visit_date,
        maintenance_visits.mileage_km,
        model_intervals.interval_months,
        model_intervals.interval_km,
        coalesce(daily_km.daily_km, {{ var('default_daily_km') }}) as daily_km,
        maintenance_visits.ro_number = latest_visits.last_maintenance_ro_number as is_latest
    from maintenance_visits
    left join vehicles on maintenance_visits.vin = vehicles.vin
    left join daily_km on maintenance_visits.vin = daily_km.vin
    left join latest_visits on maintenance_visits.vin = latest_visits.vin
    left join model_intervals
        on model_intervals.brand = coalesce(vehicles.brand, '') and model_intervals.model = coalesce(vehicles.model, '')
),

with_due_dates as (
    select
        *,
        least(
            (visit_date + make_interval(months => interval_months))::date,
            visit_date + ceil(interval_km / nullif(daily_km, 0))::integer
        ) as due_date
    from with_interval
)

select
    ro_number,
    vin,
    dealer_code,
    customer_id,
    visit_date,
    mileage_km,
    interval_months,
    interval_km,
    daily_km,
    due_date,
    is_latest
from with_due_dates
where is_latest or due_date >= {{ kpi_first_month() }}
