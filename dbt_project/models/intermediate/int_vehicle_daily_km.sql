-- How far each vehicle drives a day (rules §3), from its own odometer readings over the
-- last `daily_km_lookback_years` years: at least two readings `daily_km_min_gap_days`
-- apart, else the default `default_daily_km`. Readings are every repair order's mileage
-- (PDI and open orders included: the odometer is read whenever the car comes in).
with readings as (
    select
        vin,
        open_date as reading_date,
        mileage_km
    from {{ ref('stg_dms__repair_orders') }}
    where
        mileage_km is not null
        and ro_status <> 'void'
        and open_date < {{ business_date() }}
        and open_date >= {{ business_date() }} - make_interval(years => {{ var('daily_km_lookback_years') }})
),

span as (
    select
        vin,
        min(reading_date) as first_date,
        max(reading_date) as last_date,
        (array_agg(mileage_km order by reading_date, mileage_km))[1] as first_km,
        (array_agg(mileage_km order by reading_date desc, mileage_km desc))[1] as last_km
    from readings
    group by vin
),

vehicles as (
    select vin from {{ ref('stg_dms__vehicles') }}
)

select
    vehicles.vin,
    case
        when span.last_date - span.first_date >= {{ var('daily_km_min_gap_days') }} and span.last_km > span.first_km
            then round((span.last_km - span.first_km)::numeric / (span.last_date - span.first_date), 1)
        else {{ var('default_daily_km') }}
    end as daily_km,
    coalesce(
        span.last_date - span.first_date >= {{ var('daily_km_min_gap_days') }} and span.last_km > span.first_km,
        false
    ) as is_estimated_from_readings
from vehicles
left join span on vehicles.vin = span.vin
