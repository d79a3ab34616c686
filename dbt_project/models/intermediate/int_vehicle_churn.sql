{{ config(indexes=[{'columns': ['vin'], 'unique': true}]) }}

-- Churn status of every vehicle in the active base as of D (rules §2): days since its
-- latest visit (or delivery, if never visited), the status and band from the rules
-- seeds, locality, warranty, the OEM's latest flag and the documents' six-way
-- follow-up class. Vehicles sold or scrapped, or with neither date, are left out.
with vehicles as (
    select * from {{ ref('int_vehicles_resolved') }}
    where is_owned
),

last_visits as (
    select * from {{ ref('int_vehicle_latest_visits') }}
),

customers as (
    select * from {{ ref('stg_dms__customers') }}
),

dealers as (
    select * from {{ ref('stg_dms__dealers') }}
),

oem_latest as (
    select * from {{ ref('int_oem_latest_flags') }}
),

thresholds as (
    select * from {{ ref('churn_status_thresholds') }}
),

bands as (
    select * from {{ ref('churn_bands') }}
),

measured as (
    select
        vehicles.vin,
        vehicles.customer_id,
        coalesce(last_visits.last_visit_dealer_code, vehicles.selling_dealer_code, customers.home_dealer_code)
            as dealer_code,
        vehicles.delivery_date,
        last_visits.last_visit_date,
        last_visits.last_visit_date is null as never_visited,
        {{ days_before_d('coalesce(last_visits.last_visit_date, vehicles.delivery_date)') }} as days_since_last_visit,
        vehicles.warranty_end_date,
        {{ business_date() }} <= vehicles.warranty_end_date as in_warranty,
        customers.city as customer_city
    from vehicles
    left join last_visits on vehicles.vin = last_visits.vin
    left join customers on vehicles.customer_id = customers.customer_id
    where coalesce(last_visits.last_visit_date, vehicles.delivery_date) is not null
),

classified as (
    select
        measured.*,
        coalesce(measured.customer_city = dealers.city, false) as is_local,
        (
            select thresholds.churn_status from thresholds
            where
                measured.days_since_last_visit >= thresholds.min_days
                and (thresholds.max_days is null or measured.days_since_last_visit <= thresholds.max_days)
                and (thresholds.churn_status <> 'new' or measured.never_visited)
            order by thresholds.status_rank
            limit 1
        ) as churn_status,
        (
            select bands.churn_band from bands
            where
                measured.days_since_last_visit >= bands.min_days
                and (bands.max_days is null or measured.days_since_last_visit <= bands.max_days)
            order by bands.band_order
            limit 1
        ) as churn_band
    from measured
    left join dealers on measured.dealer_code = dealers.dealer_code
)

select
    {{ business_date() }} as business_date,
    classified.vin,
    classified.customer_id,
    classified.dealer_code,
    classified.churn_status,
    thresholds.status_rank,
    classified.churn_band,
    classified.days_since_last_visit,
    classified.last_visit_date,
    classified.delivery_date,
    classified.never_visited,
    classified.is_local,
    classified.in_warranty,
    case
        when classified.days_since_last_visit between {{ var('followup_min_days') }} and {{ var('followup_max_days') }}
            then
                (case when classified.is_local then 'local' else 'non_local' end)
                || '_' || (case when classified.in_warranty then 'in_warranty' else 'out_of_warranty' end)
    end as followup_class,
    oem_latest.oem_status,
    oem_latest.period as oem_period
from classified
left join thresholds on classified.churn_status = thresholds.churn_status
left join oem_latest on classified.vin = oem_latest.vin
